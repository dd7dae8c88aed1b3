import datetime as dt
import functools
import logging
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .clinic_time import NonexistentLocalTime, clinic_datetime, clinic_slot, format_slot

logger = logging.getLogger("telemedicine")


# What a list shows of a person (roles.display_name).
NAME_FIELDS = ("username", "first_name", "last_name")


class AppointmentQuerySet(models.QuerySet):
    def for_user(self, user):
        """Appointments in which `user` takes part, as doctor or as patient."""
        return self.filter(models.Q(doctor=user) | models.Q(patient=user))

    def active(self):
        return self.exclude(status__in=Appointment.CLOSED_STATUSES)

    def starting_from(self, moment: dt.datetime):
        """Appointments whose start on the clinic's clock is at or after `moment`."""
        return self.starting_from_slot(*clinic_slot(moment))

    def starting_from_slot(self, day: dt.date, at: dt.time):
        """starting_from() with the moment on the clinic's clock: at or after `at` on `day`."""
        # The date's bound is implied; said outright, it lets the database read its (person, date,
        # time) index as a range instead of every visit of the person (SQLite did; docs/performance.md).
        return self.filter(models.Q(date__gt=day) | models.Q(date=day, time__gte=at), date__gte=day)

    def starting_before(self, moment: dt.datetime):
        """Appointments whose start on the clinic's clock is before `moment`: the rest of starting_from()."""
        return self.starting_before_slot(*clinic_slot(moment))

    def starting_before_slot(self, day: dt.date, at: dt.time):
        """starting_before() with the moment on the clinic's clock: before `at` on `day`."""
        return self.filter(models.Q(date__lt=day) | models.Q(date=day, time__lt=at), date__lte=day)

    def starting_between(self, earliest: dt.datetime, latest: dt.datetime):
        """Appointments starting from `earliest` up to `latest`, both included, on the clinic's clock."""
        return self.starting_between_slots(*clinic_slot(earliest), *clinic_slot(latest))

    def starting_between_slots(self, first_day: dt.date, first_at: dt.time, last_day: dt.date, last_at: dt.time):
        """starting_between() with both moments on the clinic's clock."""
        until = models.Q(date__lt=last_day) | models.Q(date=last_day, time__lte=last_at)
        return self.starting_from_slot(first_day, first_at).filter(until, date__lte=last_day)

    def with_people(self):
        return self.select_related("doctor", "patient")

    def for_listing(self, *people):
        """
        Only the columns a list of appointments shows (listing.py), with the names of
        `people` ("doctor", "patient") joined in: a busy day's 200 rows then skip
        parsing a thousand timestamps and building hundreds of unused User instances.
        """
        return self.select_related(*people).only(
            *Appointment.STATE_FIELDS, *(f"{person}__{field}" for person in people for field in NAME_FIELDS)
        )


class Appointment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    CLOSED_STATUSES = (Status.COMPLETED, Status.CANCELLED)
    DETAIL_URL_NAME = "telemedicine:appointment-detail-telemedicine"
    # What the call rules read (telemedicine/access.py): who takes part, when, and whether the
    # visit is on; and what the patient was told of a cancellation, which their card shows.
    # Enough for a status card and for a row of a list (listing.py).
    STATE_FIELDS = ("doctor", "patient", "date", "time", "status", "is_telemedicine", "cancellation_note")
    CANCELLATION_NOTE_MAX_LENGTH = 500

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments_as_patient"
    )
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments_as_doctor"
    )
    date = models.DateField()
    time = models.TimeField()
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    is_telemedicine = models.BooleanField("video visit", default=False)
    # Optional, written by whoever cancels: the patient reads it on their appointment page and in
    # the cancellation email (unlike `description`, the reason for the visit, which no email carries).
    cancellation_note = models.CharField(
        "note to the patient",
        max_length=CANCELLATION_NOTE_MAX_LENGTH,
        blank=True,
        help_text="Why the visit is cancelled, in words for the patient: shown on their appointment page "
        "and in the cancellation email.",
    )
    # NULL (not "") until first needed, so the unique constraint allows any number of
    # appointments without a room yet. Only get_jitsi_room_name() ever writes it.
    jitsi_room_name = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # The calendar file's SEQUENCE (RFC 5545): raised with every change the patient is told about.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["date", "time"]
        permissions = [
            # The reason for a visit is medical: its doctor and patient read it, clinic staff only with this.
            ("view_reason", "Can see the reason for a visit"),
        ]
        indexes = [
            # Dashboards: "my appointments from today on", in order, for either role.
            models.Index(fields=["doctor", "date", "time"], name="appt_doctor_day_idx"),
            models.Index(fields=["patient", "date", "time"], name="appt_patient_day_idx"),
            models.Index(fields=["status"], name="appt_status_idx"),
            # The doctor's dashboard counts its pages ("active after today", "in the last 30 days or
            # cancelled ahead") from this index alone, without reading each later visit's row.
            models.Index(fields=["doctor", "date", "status"], name="appt_doctor_day_status_idx"),
        ]

    def __str__(self):
        # Ids and times only (it may reach a log line); the date and time as the clinic writes them.
        return f"Appointment #{self.pk}, {format_slot(self.date, self.time, zone=False)}"

    def save(self, *args, **kwargs):
        # A full save of an instance loaded before the room was created must not write
        # the room name back to NULL: leave that column to get_jitsi_room_name().
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "jitsi_room_name"
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse(self.DETAIL_URL_NAME, args=[self.pk])

    def clean(self):
        super().clean()
        if self.date and self.time:
            try:
                clinic_datetime(self.date, self.time)
            except NonexistentLocalTime as error:
                raise ValidationError({"time": str(error)}) from None
        if self.patient_id and self.patient_id == self.doctor_id:
            raise ValidationError("The doctor and the patient must be different people.")

    @property
    def starts_at(self) -> dt.datetime:
        """The scheduled start as an aware datetime (see clinic_time.clinic_datetime)."""
        return clinic_datetime(self.date, self.time)

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    def set_telemedicine(self, enabled: bool) -> bool:
        """
        Switch the video visit on or off: one UPDATE, so concurrent tabs cannot interleave.
        Returns True when that changed anything (the calendar's SEQUENCE rises then).
        Called inside the caller's transaction, which writes the switch's audit record too.
        """
        # The row is locked first (PostgreSQL; SQLite serializes writes already): a second tab's
        # switch, even one that changes nothing, waits for the first to commit, so the audit
        # records follow the order in which the switches took effect.
        list(type(self)._base_manager.select_for_update().filter(pk=self.pk).values_list("pk"))
        now = timezone.now()
        changed = (
            type(self)
            ._base_manager.filter(pk=self.pk)
            .exclude(is_telemedicine=enabled)
            .update(is_telemedicine=enabled, updated_at=now, sequence=models.F("sequence") + 1)
        )
        self.is_telemedicine, self.updated_at = enabled, now
        if changed:
            self.refresh_from_db(fields=["sequence"])
        return bool(changed)

    def bump_sequence(self) -> None:
        """Raise the calendar file's SEQUENCE: a change the patient is told about (one UPDATE)."""
        type(self)._base_manager.filter(pk=self.pk).update(sequence=models.F("sequence") + 1)
        self.refresh_from_db(fields=["sequence"])

    def reschedule(self, day: dt.date, at: dt.time) -> bool:
        """
        Move the appointment to `day` `at` (validated by the caller, as the scheduling form
        does). Returns False, writing nothing, when it was closed meanwhile or nothing moved.
        """
        now = timezone.now()
        changed = (
            type(self)
            ._base_manager.filter(pk=self.pk)
            .exclude(status__in=self.CLOSED_STATUSES)
            .exclude(date=day, time=at)
            .update(date=day, time=at, updated_at=now, sequence=models.F("sequence") + 1)
        )
        if changed:
            self.refresh_from_db(fields=["date", "time", "sequence", "updated_at"])
        return bool(changed)

    def close(self, status: str, *, note: str = "") -> bool:
        """
        Cancel or complete the appointment; a cancellation may carry a `note` for the patient.
        Returns False (and writes nothing) when it was already closed, e.g. by another tab a
        moment earlier.
        """
        if status not in self.CLOSED_STATUSES:
            raise ValueError(f"{status!r} does not close an appointment")
        note = note if status == self.Status.CANCELLED else ""
        now = timezone.now()
        changed = (
            type(self)
            ._base_manager.filter(pk=self.pk)
            .exclude(status__in=self.CLOSED_STATUSES)
            .update(status=status, cancellation_note=note, updated_at=now, sequence=models.F("sequence") + 1)
        )
        if changed:
            self.status, self.cancellation_note, self.updated_at = status, note, now
            self.refresh_from_db(fields=["sequence"])
        return bool(changed)

    def new_room(self) -> None:
        """
        Forget the room name, so the next get_jitsi_room_name() makes a new one. Called when
        the doctor or the patient changes: whoever knew the old room (the previous doctor or
        patient, or a token made for them) can never use it to meet the new people.
        """
        type(self)._base_manager.filter(pk=self.pk).update(jitsi_room_name=None)
        self.jitsi_room_name = None

    def get_jitsi_room_name(self) -> str:
        """
        The appointment's Jitsi room, created on first use: 122 random bits (UUID4).

        Race-free: the name is written with a conditional UPDATE that only succeeds
        while the column is still NULL, then read back, so two concurrent first calls
        both end up with the one name that won.
        """
        if self.jitsi_room_name:
            return self.jitsi_room_name
        candidate = f"clinic-{uuid.uuid4().hex}"
        manager = type(self)._base_manager
        created = manager.filter(pk=self.pk, jitsi_room_name__isnull=True).update(jitsi_room_name=candidate)
        if created:
            logger.info("room created appointment=%s", self.pk)
        room = candidate if created else manager.values_list("jitsi_room_name", flat=True).get(pk=self.pk)
        assert room, "once the conditional UPDATE has run, the column holds a name"
        self.jitsi_room_name = room
        return room

    def is_available_for_call(self, now: dt.datetime | None = None) -> bool:
        """True while the video visit can be joined; the rule itself lives in telemedicine.access."""
        # The contract puts this method on the model; the window rule has one home.
        from telemedicine.access import is_call_available

        return is_call_available(self, now or timezone.now())


@functools.cache
def listed_fields() -> tuple[list[models.Field], list[models.Field]]:
    """
    What for_listing() loads of an appointment and of each person joined in, in each model's own
    field order (as Model.from_db wants).
    """
    appointment_fields = [
        field
        for field in Appointment._meta.concrete_fields
        if field.primary_key or field.name in Appointment.STATE_FIELDS
    ]
    doctor_fields = [
        field for field in get_user_model()._meta.concrete_fields if field.primary_key or field.name in NAME_FIELDS
    ]
    return appointment_fields, doctor_fields


class PatientProfile(models.Model):
    """What the clinic knows of a patient beyond Django's user: a phone number, optional."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="patient_profile"
    )
    phone = models.CharField(max_length=32, blank=True)

    def __str__(self):
        return f"Patient profile #{self.pk}"


class NotificationQuerySet(models.QuerySet):
    def claim(self, pk: int, now: dt.datetime) -> bool:
        """
        Take notification `pk` for sending: one conditional UPDATE, so of several workers
        exactly one wins, and a notification already sent (or given up) is never taken.
        """
        return bool(
            self.filter(pk=pk, status=Notification.Status.PENDING).update(
                status=Notification.Status.SENDING, claimed_at=now, attempts=models.F("attempts") + 1
            )
        )


class Notification(models.Model):
    """
    One email the clinic owes someone, written in the same transaction as the change it
    announces (an outbox): a worker sends it after the commit, retries it while the mail
    server is down, and records how it went. The body is made when it is sent, from the
    appointment as it is then; secrets (sign-in links) are never stored here.
    """

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        RESCHEDULED = "rescheduled", "Rescheduled"
        VIDEO_ON = "video-on", "Now a video visit"
        VIDEO_OFF = "video-off", "Now a visit at the clinic"
        CANCELLED = "cancelled", "Cancelled"
        REMINDER = "reminder", "Reminder"
        CALL_OPEN = "call-open", "Video visit open"
        SIGN_IN_LINK = "sign-in-link", "New sign-in link"
        GUEST_INVITATION = "guest-invitation", "Guest invitation"
        PASSWORD_RESET = "password-reset", "Password reset"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        DROPPED = "dropped", "Not sent"  # no longer of use: the visit changed, or its moment passed

    # Reminders carry the start they remind of: one per kind, appointment and start, ever.
    REMINDER_KINDS = (Kind.REMINDER, Kind.CALL_OPEN)

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Whom it is for: a user, or (guests) the id of whatever the kind's sender knows them by.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    recipient_ref = models.PositiveBigIntegerField(null=True, blank=True)
    email = models.EmailField("to")
    # Reminders: the start of the visit they are about (a rescheduled visit gets new ones).
    reminder_for = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why it failed or was not sent, in words: an exception's class and the server's reply, never a secret.
    outcome = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "reminder_for"],
                condition=models.Q(reminder_for__isnull=False),
                name="one_reminder_per_kind_and_start",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · appointment #{self.appointment_id} · {self.get_status_display()}"
