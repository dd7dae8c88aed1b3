"""
The record of who did what with a video visit: a log line and an AccessEvent row for
every decision, granted or refused. Ids and decisions only: never a name, a
description, a room name or a token.
"""

import ipaddress
import logging

from axes.helpers import get_client_ip_address

from appointments.signals import Change

from .access import CallReport
from .models import DETAIL_MAX_LENGTH, USER_AGENT_MAX_LENGTH, AccessEvent

logger = logging.getLogger("telemedicine")

# Refusals on the room page are "room refused"; anywhere else "access refused".
ROOM_URL_NAMES = {"jitsi-room"}


def client_ip(request) -> str | None:
    """
    The client's address, worked out exactly as django-axes does for login lock-outs
    (REMOTE_ADDR, or the proxy header configured for axes), so the two records agree.
    """
    address = get_client_ip_address(request)
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def user_agent(request) -> str:
    return request.headers.get("user-agent", "")[:USER_AGENT_MAX_LENGTH]


def _write(request, appointment_id, action, reason="", *, user=None, detail="", guest=None) -> AccessEvent:
    """One row; `request` gives who, from where and with what, or is None for the system's own acts."""
    if request is not None and user is None and guest is None and request.user.is_authenticated:
        user = request.user
    return AccessEvent.objects.create(
        user=user,
        guest=guest,
        appointment_id=appointment_id,
        action=action,
        reason=reason,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        detail=detail[:DETAIL_MAX_LENGTH],
    )


def record_room_decision(request, appointment_id, access) -> None:
    if access.allowed:
        logger.info("room access granted appointment=%s user=%s", appointment_id, request.user.pk)
        _write(request, appointment_id, AccessEvent.Action.ROOM_OPENED)
    else:
        logger.warning(
            "room access denied appointment=%s user=%s reason=%s", appointment_id, request.user.pk, access.reason
        )
        _write(request, appointment_id, AccessEvent.Action.ROOM_REFUSED, access.reason)


def record_refusal(request, appointment_id, reason: str) -> None:
    logger.warning("access denied appointment=%s user=%s reason=%s", appointment_id, request.user.pk, reason)
    match = getattr(request, "resolver_match", None)
    on_room_page = match is not None and match.url_name in ROOM_URL_NAMES
    action = AccessEvent.Action.ROOM_REFUSED if on_room_page else AccessEvent.Action.ACCESS_REFUSED
    _write(request, appointment_id, action, str(reason))


def record_toggle(request, appointment, enabled: bool) -> None:
    logger.info(
        "telemedicine switched %s appointment=%s user=%s", "on" if enabled else "off", appointment.pk, request.user.pk
    )
    action = AccessEvent.Action.TELEMEDICINE_ON if enabled else AccessEvent.Action.TELEMEDICINE_OFF
    _write(request, appointment.pk, action)


_CALL_ACTIONS = {CallReport.JOINED: AccessEvent.Action.CALL_JOINED, CallReport.LEFT: AccessEvent.Action.CALL_LEFT}


def record_call_event(request, appointment_id, report: CallReport) -> None:
    """What the room page saw Jitsi do. Heartbeats only keep the session alive: no record."""
    if report not in _CALL_ACTIONS:
        return
    logger.info("call %s appointment=%s user=%s", report, appointment_id, request.user.pk)
    _write(request, appointment_id, _CALL_ACTIONS[report])


def change_detail(fields: dict) -> str:
    """ "date: 2030-01-15 -> 2030-01-16; doctor: #3 -> #4": plain values only, in a stable order."""
    return "; ".join(f"{name}: {old} -> {new}" for name, (old, new) in sorted(fields.items()))


def record_appointment_change(sender, appointment, change, actor=None, request=None, fields=None, **kwargs) -> None:
    """
    Receiver of appointments.signals.appointment_changed (connected in TelemedicineConfig.ready):
    runs inside the change's transaction, so a change is never kept without its record.
    """
    user = actor if actor is not None and actor.is_authenticated else None
    logger.info("appointment %s appointment=%s user=%s", change, appointment.pk, user.pk if user else None)
    # Video switched anywhere but the doctor's own switch reads as the switch does.
    action = VIDEO_ACTIONS.get(change, AccessEvent.Action.APPOINTMENT_CHANGED)
    reason = "" if change in VIDEO_ACTIONS else str(change)
    _write(request, appointment.pk, action, reason, user=user, detail=change_detail(fields or {}))


VIDEO_ACTIONS = {
    Change.VIDEO_ON: AccessEvent.Action.TELEMEDICINE_ON,
    Change.VIDEO_OFF: AccessEvent.Action.TELEMEDICINE_OFF,
}


def record_link_signed_in(request, link) -> None:
    logger.info("signed in with an email link appointment=%s user=%s", link.appointment_id, link.user_id)
    _write(request, link.appointment_id, AccessEvent.Action.LINK_SIGNED_IN, user=link.user)


def record_link_refused(request, link, refusal, *, user=None) -> None:
    logger.warning("email link refused appointment=%s user=%s reason=%s", link.appointment_id, link.user_id, refusal)
    _write(request, link.appointment_id, AccessEvent.Action.LINK_REFUSED, str(refusal), user=user)


def record_guest(request, guest, action, *, user=None, reason="") -> None:
    """
    Something about a guest: invited or withdrawn by `user`, or the guest's own act (no user: whoever
    else is signed in on that browser, a patient opening their relative's link, did not do it).
    """
    logger.info("guest %s appointment=%s guest=%s", action, guest.appointment_id, guest.pk)
    _write(request, guest.appointment_id, action, reason, user=user, guest=guest)


def record_guest_room_decision(request, guest, access) -> None:
    if access.allowed:
        logger.info("room access granted appointment=%s guest=%s", guest.appointment_id, guest.pk)
        _write(request, guest.appointment_id, AccessEvent.Action.ROOM_OPENED, guest=guest)
    else:
        logger.warning(
            "room access denied appointment=%s guest=%s reason=%s", guest.appointment_id, guest.pk, access.reason
        )
        _write(request, guest.appointment_id, AccessEvent.Action.ROOM_REFUSED, access.reason, guest=guest)


def record_guest_call_event(request, guest, report: CallReport) -> None:
    if report not in _CALL_ACTIONS:
        return
    logger.info("call %s appointment=%s guest=%s", report, guest.appointment_id, guest.pk)
    _write(request, guest.appointment_id, _CALL_ACTIONS[report], guest=guest)
