from django.apps import AppConfig


class TelemedicineConfig(AppConfig):
    name = "telemedicine"
    verbose_name = "Telemedicine"

    def ready(self):
        from appointments.listing import add_column, set_upcoming_from
        from appointments.models import Notification
        from appointments.notifications import add_composer, add_email_context, add_reminder
        from appointments.panels import add_appointment_panel, add_panel
        from appointments.rules import add_consequence
        from appointments.signals import appointment_changed

        from . import checks  # noqa: F401  (registers the system checks)
        from .access import phase_changes, upcoming_from
        from .audit import record_appointment_change
        from .confirmations import call_consequences
        from .guests import revoke_every_guest
        from .notifications import CALL_OPEN_REMINDER, compose_guest_invitation, email_context
        from .status import video_column
        from .views import history_panel, next_visit_panel, waiting_now_panel

        # The dashboard asks for its video column and its panels by name; this app fills them.
        add_column("video", video_column, phase_changes)
        add_panel("waiting-now", waiting_now_panel)
        add_panel("next-visit", next_visit_panel)
        # The staff view of an appointment shows its history from the audit trail.
        add_appointment_panel("history", history_panel)
        # Cancelling or completing a visit whose call is open says so in its confirmation.
        add_consequence(call_consequences)
        # A visit is upcoming until its call window closes, then past.
        set_upcoming_from(upcoming_from)
        # Every change of an appointment, wherever it is made, goes into the audit trail.
        appointment_changed.connect(record_appointment_change, dispatch_uid="audit-appointment-changes")
        # The clinic's emails carry the one-tap sign-in link; video visits get a "join now" reminder.
        add_email_context(email_context)
        add_reminder(CALL_OPEN_REMINDER)
        # Guests: their invitation email, and a visit cancelled, completed or given to other people
        # withdraws every guest (inside the change's transaction, like the audit record).
        add_composer(Notification.Kind.GUEST_INVITATION, compose_guest_invitation)
        appointment_changed.connect(revoke_every_guest, dispatch_uid="revoke-guests-of-closed-visits")
