"""
{{ rows|list_key }}: one string standing for every row of an appointment list
(appointments.listing.list_key), for {% remember %} to keep the whole list's HTML by.
"""

from collections.abc import Iterable

from django import template

from appointments import listing

register = template.Library()


@register.filter
def list_key(rows: Iterable[listing.AppointmentRow]) -> str:
    return listing.list_key(rows)
