from django.urls import path

from . import views

app_name = "telemedicine"

urlpatterns = [
    path("device-check/", views.device_check, name="device-check"),
    path("waiting-panel/", views.waiting_panel, name="waiting-panel"),
    path("jitsi/<int:appointment_id>/", views.jitsi_room, name="jitsi-room"),
    path("jitsi/<int:appointment_id>/events/", views.call_event, name="call-event"),
    path(
        "appointment/<int:appointment_id>/toggle-telemedicine/",
        views.toggle_telemedicine,
        name="toggle-telemedicine",
    ),
    path(
        "appointment/<int:appointment_id>/check-status/",
        views.check_status,
        name="check-telemedicine-status",
    ),
    path(
        "appointment/<int:appointment_id>/detail/",
        views.appointment_detail,
        name="appointment-detail-telemedicine",
    ),
]
