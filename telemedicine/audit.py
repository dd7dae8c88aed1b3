"""
The record of who did what with a video visit. Ids and decisions only: never a
name, a description or a room name.
"""

import logging

logger = logging.getLogger("telemedicine")


def record_room_decision(request, appointment_id, access) -> None:
    if access.allowed:
        logger.info("room access granted appointment=%s user=%s", appointment_id, request.user.pk)
    else:
        logger.warning(
            "room access denied appointment=%s user=%s reason=%s", appointment_id, request.user.pk, access.reason
        )


def record_refusal(request, appointment_id, reason: str) -> None:
    logger.warning("access denied appointment=%s user=%s reason=%s", appointment_id, request.user.pk, reason)


def record_toggle(request, appointment, enabled: bool) -> None:
    logger.info(
        "telemedicine switched %s appointment=%s user=%s", "on" if enabled else "off", appointment.pk, request.user.pk
    )
