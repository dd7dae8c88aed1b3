"""
The audit trail of video visits: who opened or was refused which room, who switched
a visit to video and back, who was really in the call. Append-only: a row is written
once and never changed; only `manage.py prune_access_events` removes rows, and only
those older than AUDIT_RETENTION_DAYS.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from appointments.roles import display_name
from appointments.signals import Change

from .access import Refusal

# Everything else about a refusal (e.g. the toggle of someone who is not the doctor).
NOT_ASSIGNED_DOCTOR = "not-assigned-doctor"

USER_AGENT_MAX_LENGTH = 255
DETAIL_MAX_LENGTH = 255


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit record through the app."""


class LinkRefusal(models.TextChoices):
    """Why a sign-in link opened nothing."""

    USED = "link-used"
    EXPIRED = "link-expired"
    INVALID = "link-invalid"  # garbled, forged, or the person's password changed since
    NOT_ALLOWED = "link-not-allowed"  # doctors and staff sign in with their password only


class AccessEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Access events are append-only: they cannot be updated.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Access events are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Access events are append-only: only `manage.py prune_access_events` removes old ones.")

    def prune(self, older_than: datetime) -> int:
        """
        Delete the events created before `older_than`: the retention rule's one way out.
        Returns the number of rows deleted.
        """
        deleted, _ = models.QuerySet.delete(self.filter(created_at__lt=older_than))
        return deleted

    def call_events(self):
        return self.filter(action__in=[AccessEvent.Action.CALL_JOINED, AccessEvent.Action.CALL_LEFT])


class AccessEvent(models.Model):
    class Action(models.TextChoices):
        ROOM_OPENED = "room-opened", "Room opened"
        ROOM_REFUSED = "room-refused", "Room refused"
        # Refused anywhere else: an appointment page, status card, toggle or call report.
        ACCESS_REFUSED = "access-refused", "Access refused"
        TELEMEDICINE_ON = "telemedicine-on", "Video visit switched on"
        TELEMEDICINE_OFF = "telemedicine-off", "Video visit switched off"
        CALL_JOINED = "call-joined", "Joined the call"
        CALL_LEFT = "call-left", "Left the call"
        # Scheduled, rescheduled, cancelled... anywhere, the admin included (appointments.signals).
        APPOINTMENT_CHANGED = "appointment-changed", "Appointment changed"
        # One-tap sign-in links from the clinic's emails (telemedicine/sign_in.py).
        LINK_SIGNED_IN = "link-signed-in", "Signed in with an email link"
        LINK_REFUSED = "link-refused", "Email link refused"
        # Guests (an interpreter, a relative) invited to one visit (telemedicine/guests.py).
        GUEST_INVITED = "guest-invited", "Guest invited"
        GUEST_LINK_OPENED = "guest-link-opened", "Guest opened their link"
        GUEST_REVOKED = "guest-revoked", "Guest invitation withdrawn"

    # Why, in words (the admin's list and filter, the staff view's history); the codes stay the stored values.
    REASON_CHOICES = list(
        {
            Refusal.NOT_PARTICIPANT: "not one of the visit's people",
            Refusal.DISABLED: "video visits switched off for the clinic",
            Refusal.CANCELLED: "cancelled",
            Refusal.COMPLETED: "completed",
            Refusal.IN_PERSON: "not a video visit",
            Refusal.TOO_EARLY: "too early: the call was not open yet",
            Refusal.TOO_LATE: "too late: the call had closed",
            Refusal.GUEST_REVOKED: "the guest's invitation was withdrawn",
            Refusal.GUEST_LINK_INVALID: "the guest's link did not work",
            Refusal.ROOM_NOT_OPEN: "the video room was not open on that screen",
            NOT_ASSIGNED_DOCTOR: "not the visit's doctor",
            Change.SCHEDULED: "scheduled",
            Change.RESCHEDULED: "moved to another date or time",
            Change.PEOPLE_CHANGED: "doctor or patient changed",
            Change.STATUS_CHANGED: "status changed",
            Change.VIDEO_ON: "video switched on",
            Change.VIDEO_OFF: "video switched off",
            LinkRefusal.USED: "the link had been used already",
            LinkRefusal.EXPIRED: "the link had expired",
            LinkRefusal.INVALID: "the link was not valid (garbled, or the password changed since)",
            LinkRefusal.NOT_ALLOWED: "doctors and staff sign in with their password",
        }.items()
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    # PROTECT: a person with an audit trail is deactivated, never deleted, so "who" stays known.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_events",
        editable=False,
    )
    # No database constraint and DO_NOTHING: the appointment's id stays in the record
    # even if the appointment is deleted later, and deleting it never touches this table.
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # accessevent_call_idx starts with the appointment
        related_name="access_events",
        editable=False,
    )
    action = models.CharField(max_length=20, choices=Action.choices, editable=False)
    reason = models.CharField(max_length=32, choices=REASON_CHOICES, blank=True, editable=False)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True, editable=False)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True, editable=False)
    # A guest of the visit, when the guest (not a user) acted or was acted upon. Like the
    # appointment, kept as an id without a database constraint: the record outlives them.
    guest = models.ForeignKey(
        "Guest",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="access_events",
        editable=False,
    )
    # What changed, as ids, dates, times and codes ("time: 10:00 -> 11:30"): never a name or a reason.
    detail = models.CharField(max_length=DETAIL_MAX_LENGTH, blank=True, editable=False)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Django's internal lookups (deletion collector, related managers) use the
        # append-only queryset too.
        base_manager_name = "objects"
        indexes = [
            # "Is the patient in the room?": the latest call event of one person for one appointment.
            models.Index(fields=["appointment", "user", "action", "created_at"], name="accessevent_call_idx"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} · appointment #{self.appointment_id} · user #{self.user_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Access events are append-only: an existing record cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Access events are append-only: only `manage.py prune_access_events` removes old ones.")

    @property
    def summary(self) -> str:
        """What happened, in words: "Room refused: too early: the call was not open yet"."""
        what = self.get_action_display()
        return f"{what}: {self.get_reason_display()}" if self.reason else what

    @property
    def person(self) -> str:
        """Who, by name: the user, a guest ("Ivy Interpreter, guest"), or the clinic's own system."""
        if self.user_id and self.user:
            return display_name(self.user)
        if self.guest_id:
            try:
                return f"{self.guest.name}, guest" if self.guest else "a guest"
            except Guest.DoesNotExist:  # kept as an id without a constraint: the guest may be gone
                return "a guest"
        return "the clinic's system"


class SignInLink(models.Model):
    """
    One emailed link that signs a patient in, once, on one appointment's page. The token in
    the link is django-sesame's (signed, scoped to this row, invalid after a password
    change); this row makes it single-use and ends it when the visit's call window closes.
    The link itself is never stored: it is made when the email is sent.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_links")
    appointment = models.ForeignKey("appointments.Appointment", on_delete=models.CASCADE, related_name="sign_in_links")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Sign-in link · appointment #{self.appointment_id} · user #{self.user_id}"


class Guest(models.Model):
    """
    A third person in one video visit (an interpreter, a parent, a carer), invited by
    name and email. They join from a personal link (telemedicine/guests.py), with no
    account, only inside the visit's call window, never as a moderator, until the
    invitation is withdrawn or the visit is cancelled or completed.
    """

    appointment = models.ForeignKey("appointments.Appointment", on_delete=models.CASCADE, related_name="guests")
    name = models.CharField(max_length=100)
    email = models.EmailField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guests_invited")
    invited_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["invited_at", "id"]

    def __str__(self):
        return f"Guest #{self.pk} of appointment #{self.appointment_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class VideoVisitOptions(models.Model):
    """Per-visit choices the doctor makes about the call, beyond video on or off."""

    appointment = models.OneToOneField(
        "appointments.Appointment", on_delete=models.CASCADE, primary_key=True, related_name="video_options"
    )
    # Off by default: the doctor decides whether the patient may bring someone in.
    patient_may_invite_guests = models.BooleanField(default=False)

    def __str__(self):
        return f"Video visit options of appointment #{self.pk}"
