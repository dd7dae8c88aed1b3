"""
Who the clinic is, as patients are told: its name, phone number and address (the settings
CLINIC_NAME, CLINIC_PHONE and CLINIC_ADDRESS, from the environment). Every page that sends
someone to the clinic says how to reach it with these; so do the emails and the error pages,
the 500 page included (it reads nothing but these settings).
"""

from django.conf import settings

from .clinic_time import zone_label


def contact() -> str:
    """
    What to do to reach the clinic, to follow "please": "call Riverside Clinic on 020 7946 0000",
    or "contact Riverside Clinic" while no phone number is set (`check --deploy` warns then).
    """
    if settings.CLINIC_PHONE:
        return f"call {settings.CLINIC_NAME} on {settings.CLINIC_PHONE}"
    return f"contact {settings.CLINIC_NAME}"


def phone_link() -> str:
    """
    The clinic's number as a link a phone dials in one tap: "tel:02079460000" for "020 7946 0000"
    (RFC 3966: no spaces; a leading + and the digits are kept, the visual separators dropped).
    """
    number = settings.CLINIC_PHONE.strip()
    digits = "".join(character for character in number if character.isdigit())
    return f"tel:{'+' if number.startswith('+') else ''}{digits}" if digits else ""


def place() -> str:
    """Where a visit at the clinic takes place: "Riverside Clinic, 1 River Street, London"."""
    return ", ".join(part for part in (settings.CLINIC_NAME, settings.CLINIC_ADDRESS) if part)


def details() -> dict[str, str]:
    """The clinic's details under the names every template uses (context processor, emails, the 500 page)."""
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_phone_link": phone_link(),
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_place": place(),
        "clinic_contact": contact(),
        "clinic_zone": zone_label(),
    }
