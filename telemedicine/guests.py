"""
Guests in a video visit: an interpreter, a parent, a carer, invited for one visit only.

The rules, in one place:
- Who invites: the appointment's doctor; its patient too when the doctor allows it
  (VideoVisitOptions.patient_may_invite_guests, off by default). At most
  GUESTS_PER_VISIT guests not withdrawn per visit.
- The link: `/telemedicine/guest/<id>/open/?k=<token>`, the token signed by Django
  (django.core.signing, salted, timestamped, HMAC-SHA256 with SECRET_KEY) and valid for
  SIGN_IN_LINK_MAX_DAYS. Opening it puts the token in a cookie whose path is that
  guest's own pages (/telemedicine/guest/<id>/), then leaves the token out of the address
  bar: no session, and to every other URL the guest is an anonymous visitor.
- What it opens: that visit's room, only inside its call window (guest_access in
  access.py), as "<name> (guest)", never a moderator; in token modes a token signed for
  that room and window, which waits in the lobby until the doctor admits them.
- Withdrawing: the doctor (any guest) or the inviting patient (their own) at any time;
  cancelling, completing or changing the people of the visit withdraws every guest. From
  the next request on, the link opens nothing and no token is signed for them.
- Audit: invited, link opened, room opened or refused, joined, left, withdrawn, each an
  AccessEvent naming the guest.
- Abuse: LIMITS in project/rate_limits.py, and GUEST_LINK_FAILURES wrong links from one
  address close every guest URL to it for the hour (guest_views.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Notification
from appointments.notifications import notify_about

from . import audit
from .models import Guest, VideoVisitOptions
from .tokens import Participant

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest


GUESTS_PER_VISIT_DEFAULT = 2
SALT = "telemedicine.guest-link"
COOKIE_NAME = "clinic_guest"


def guests_per_visit() -> int:
    return int(getattr(settings, "GUESTS_PER_VISIT", GUESTS_PER_VISIT_DEFAULT))


def link_max_age() -> int:
    return settings.SIGN_IN_LINK_MAX_DAYS * 24 * 3600


def patient_may_invite(appointment: Appointment) -> bool:
    options = VideoVisitOptions.objects.filter(appointment=appointment).first()
    return bool(options and options.patient_may_invite_guests)


def may_invite(user: User | AnonymousUser, appointment: Appointment) -> bool:
    """Guests join a video call: only to an open video visit, by its doctor (or its patient, when allowed)."""
    if not user.is_authenticated or appointment.is_closed or not appointment.is_telemedicine:
        return False
    if user.pk == appointment.doctor_id:
        return True
    return user.pk == appointment.patient_id and patient_may_invite(appointment)


def may_revoke(user: User | AnonymousUser, guest: Guest) -> bool:
    if not user.is_authenticated:
        return False
    appointment = guest.appointment
    return user.pk == appointment.doctor_id or (user.pk == appointment.patient_id and guest.invited_by_id == user.pk)


def active_guests(appointment: Appointment):
    return Guest.objects.filter(appointment=appointment, revoked_at__isnull=True)


def room_left(appointment: Appointment) -> int:
    return max(0, guests_per_visit() - active_guests(appointment).count())


class NoRoomLeft(Exception):
    """The visit already has GUESTS_PER_VISIT guests."""


def invite(appointment: Appointment, *, name: str, email: str, by: User, request: HttpRequest) -> Guest:
    """
    Invite a guest and owe them their email; call only after may_invite(). NoRoomLeft when the
    visit is full, decided with the appointment's row locked: two invitations at once cannot
    both take the last place.
    """
    with transaction.atomic():
        Appointment.objects.select_for_update().only("pk").get(pk=appointment.pk)
        if room_left(appointment) == 0:
            raise NoRoomLeft
        guest = Guest.objects.create(appointment=appointment, name=name, email=email, invited_by=by)
        audit.record_guest(request, guest, audit.AccessEvent.Action.GUEST_INVITED, user=by)
        notify_about(appointment, Notification.Kind.GUEST_INVITATION, email=email, reference=guest.pk)
    return guest


def revoke(guest: Guest, *, by: User | None, request: HttpRequest | None, now: datetime | None = None) -> bool:
    """Withdraw the invitation: one conditional UPDATE, so a second withdrawal changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        revoked = Guest.objects.filter(pk=guest.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by)
        if revoked:
            guest.revoked_at, guest.revoked_by = now, by
            audit.record_guest(request, guest, audit.AccessEvent.Action.GUEST_REVOKED, user=by)
    return bool(revoked)


def revoke_every_guest(sender, appointment, change, actor=None, request=None, **kwargs) -> None:
    """
    Receiver of appointments.signals.appointment_changed: a visit cancelled, completed or
    given to other people takes its guests with it, inside the change's own transaction.
    """
    from appointments.signals import Change

    if change not in (Change.CANCELLED, Change.COMPLETED, Change.PEOPLE_CHANGED):
        return
    user = actor if actor is not None and actor.is_authenticated else None
    for guest in active_guests(appointment):
        revoke(guest, by=user, request=request)


# --- The link ----------------------------------------------------------------------------------


def link_token(guest: Guest) -> str:
    return signing.dumps(guest.pk, salt=SALT)


def guest_for_token(token: str | None, guest_id: int) -> Guest | None:
    """The guest whose valid, unexpired token this is, if it is the guest of the URL."""
    if not token:
        return None
    try:
        signed_id = signing.loads(token, salt=SALT, max_age=link_max_age())
    except signing.BadSignature:  # SignatureExpired included
        return None
    if signed_id != guest_id:
        return None
    return Guest.objects.select_related("appointment__doctor", "appointment__patient").filter(pk=guest_id).first()


def link_url(guest: Guest) -> str:
    """The absolute link of the guest's invitation email (made when the email is sent)."""
    return f"{settings.SITE_URL}{reverse('telemedicine:guest-open', args=[guest.pk])}?k={link_token(guest)}"


def cookie_path(guest_id: int) -> str:
    return reverse("telemedicine:guest-room", args=[guest_id])


def guest_participant(guest: Guest) -> Participant:
    """A guest in the call: their own id space, the name the doctor entered, never moderator."""
    return Participant(id=f"guest-{guest.pk}", name=f"{guest.name} (guest)", moderator=False)
