from django.urls import path

from . import guest_views, views

app_name = "telemedicine"

urlpatterns = [
    # Guests: their own pages, all under /telemedicine/guest/<id>/ (the path of their link's cookie).
    path("guest/<int:guest_id>/open/", guest_views.guest_open, name="guest-open"),
    path("guest/<int:guest_id>/", guest_views.guest_room, name="guest-room"),
    path("guest/<int:guest_id>/status/", guest_views.guest_status, name="guest-status"),
    path("guest/<int:guest_id>/events/", guest_views.guest_call_event, name="guest-call-event"),
    # Inviting and withdrawing: the doctor, and the patient when allowed.
    path("appointment/<int:appointment_id>/guests/", guest_views.invite_guest, name="invite-guest"),
    path(
        "appointment/<int:appointment_id>/guests/patient-may-invite/",
        guest_views.patient_may_invite,
        name="guest-policy",
    ),
    path("guests/<int:guest_id>/withdraw/", guest_views.revoke_guest, name="revoke-guest"),
    path("sign-in/<uuid:link_id>/", views.sign_in, name="sign-in"),
    path("sign-in/new-link/", views.sign_in_request, name="sign-in-request"),
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
