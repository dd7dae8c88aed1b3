from django.http import HttpRequest

from .clinic import details


def clinic(request: HttpRequest) -> dict[str, str]:
    """
    Who the clinic is and which clock it keeps, for every page (and the emails, which use the
    same names): clinic_name, clinic_phone, clinic_address, clinic_place, clinic_contact ("call
    Riverside Clinic on 020 7946 0000", to follow "please") and clinic_zone ("London time").
    Settings only: the outage page renders with it.
    """
    return details()
