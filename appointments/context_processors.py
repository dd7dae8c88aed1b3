from django.conf import settings
from django.http import HttpRequest

from .clinic_time import zone_label


def clinic(request: HttpRequest) -> dict[str, str]:
    """Who the clinic is and which clock it keeps, for every page (and the emails, which use the same names)."""
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_zone": zone_label(),
    }
