"""
One-tap sign-in: the link in a patient's email that opens their appointment page,
already signed in, from any phone.

The rules, in one place:
- only for patients: never for a doctor, staff or a superuser (they use their password);
- scoped to one appointment's page (the link lands there and nowhere else);
- valid until that appointment's call window closes, and never longer than
  SIGN_IN_LINK_MAX_DAYS (SESAME_MAX_AGE, checked by django-sesame too);
- single use: the first tap signs the patient in and the session then lives as any
  other; the same link again signs nobody in (a person already signed in as that
  patient is simply taken to the page);
- invalid after a password change (django-sesame's default);
- every use and refusal is in the audit trail.

The token is django-sesame's, scoped to the SignInLink row ("sign-in:<id>"); the row
adds what a token alone cannot: single use and the visit's own end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from sesame.utils import get_token, get_user

from appointments.roles import is_doctor

from .access import call_window
from .models import LinkRefusal, SignInLink

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import User
    from django.http import HttpRequest

    from appointments.models import Appointment

    from .access import Person


def may_use_sign_in_links(user: Person) -> bool:
    """Patients only: anyone who can do more than see their own visits signs in with a password."""
    return bool(user.is_active and not user.is_staff and not user.is_superuser and not is_doctor(user))


def scope(link: SignInLink) -> str:
    return f"sign-in:{link.pk}"


def link_expiry(appointment: Appointment, now: datetime) -> datetime:
    return min(call_window(appointment).closes_at, now + timedelta(days=settings.SIGN_IN_LINK_MAX_DAYS))


def new_sign_in_url(user: User, appointment: Appointment, now: datetime) -> str | None:
    """
    An absolute link that signs `user` in on `appointment`'s page, or None when no link may
    be made (not a patient of this appointment, or its window has already closed).
    """
    if user.pk != appointment.patient_id or not may_use_sign_in_links(user):
        return None
    expires_at = link_expiry(appointment, now)
    if expires_at < now:
        return None
    link = SignInLink.objects.create(user=user, appointment=appointment, created_at=now, expires_at=expires_at)
    query = urlencode({settings.SESAME_TOKEN_NAME: get_token(user, scope=scope(link))})
    return f"{settings.SITE_URL}{reverse('telemedicine:sign-in', args=[link.pk])}?{query}"


class Outcome(enum.Enum):
    SIGNED_IN = "signed-in"
    ALREADY_SIGNED_IN = "already-signed-in"
    REFUSED = "refused"


@dataclass(frozen=True)
class SignIn:
    outcome: Outcome
    link: SignInLink | None = None
    user: User | None = None
    refusal: LinkRefusal | None = None


def use_link(request: HttpRequest, link_id: UUID | str, now: datetime) -> SignIn:
    """
    Decide what the link `link_id` with the token in `request` does at `now`. Uses the
    link up (one conditional UPDATE, so two taps at once sign in at most once) only when
    it signs someone in; signing in itself is the view's.
    """
    link = SignInLink.objects.select_related("appointment", "user").filter(pk=link_id).first()
    if link is None:
        return SignIn(Outcome.REFUSED, refusal=LinkRefusal.INVALID)
    user = get_user(request, scope=scope(link), update_last_login=False)
    if user is None or user.pk != link.user_id:
        # Garbled or forged, older than SESAME_MAX_AGE, or the password changed since.
        return SignIn(Outcome.REFUSED, link=link, refusal=LinkRefusal.INVALID)
    if not may_use_sign_in_links(user) or link.appointment.patient_id != user.pk:
        return SignIn(Outcome.REFUSED, link=link, user=user, refusal=LinkRefusal.NOT_ALLOWED)
    if request.user.is_authenticated and request.user.pk == user.pk:
        return SignIn(Outcome.ALREADY_SIGNED_IN, link=link, user=user)
    if link.used_at is not None:
        return SignIn(Outcome.REFUSED, link=link, user=user, refusal=LinkRefusal.USED)
    if now > link.expires_at:  # the call window is inclusive at its closing, and so is the link
        return SignIn(Outcome.REFUSED, link=link, user=user, refusal=LinkRefusal.EXPIRED)
    if not SignInLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=now):
        return SignIn(Outcome.REFUSED, link=link, user=user, refusal=LinkRefusal.USED)
    return SignIn(Outcome.SIGNED_IN, link=link, user=user)
