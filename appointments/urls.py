from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.schedule, name="schedule"),
    # Clinic staff's page of one appointment (its doctor and patient have theirs in telemedicine).
    path("<int:appointment_id>/", views.staff_view, name="staff-view"),
    path("<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    # GET asks for confirmation (a page, or an htmx partial); POST does it.
    path("<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("<int:appointment_id>/complete/", views.complete, name="complete"),
]
