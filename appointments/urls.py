from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.schedule, name="schedule"),
    path("<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("<int:appointment_id>/complete/", views.complete, name="complete"),
]
