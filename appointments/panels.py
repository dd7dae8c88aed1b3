"""
Panels at the top of the dashboard that other apps provide, asked for by name, as
listing.add_column adds a column: telemedicine adds "waiting-now" (the doctor's live
waiting room) and "next-visit" (the patient's next visit, with its live status card).
The staff view of one appointment takes panels the same way (add_appointment_panel):
telemedicine adds "history", the appointment's audit trail in words.
The clinic's app renders whatever it is given and never imports the app that gives it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class Panel:
    html: SafeString  # rendered by the app that provides it (its htmx refreshes are its own too)
    title_prefix: str = ""  # put before the page's title, e.g. "(2) " for two people waiting


# A panel for this request at `now`, or None when it has nothing to show this person.
PanelMaker = Callable[[HttpRequest, datetime], Panel | None]
_panels: dict[str, PanelMaker] = {}


def add_panel(name: str, make: PanelMaker) -> None:
    """Put the panel `make` returns at the top of the dashboard. Called from an app's AppConfig.ready()."""
    _panels[name] = make


def dashboard_panels(request: HttpRequest, now: datetime) -> list[Panel]:
    """The panels for this request, in the order they were added."""
    return [panel for make in _panels.values() if (panel := make(request, now)) is not None]


# A panel about `appointment` for this request at `now` (the staff view), or None.
AppointmentPanelMaker = Callable[[HttpRequest, Any, datetime], Panel | None]
_appointment_panels: dict[str, AppointmentPanelMaker] = {}


def add_appointment_panel(name: str, make: AppointmentPanelMaker) -> None:
    """Put the panel `make` returns on the staff view of an appointment. Called from an app's AppConfig.ready()."""
    _appointment_panels[name] = make


def appointment_panels(request: HttpRequest, appointment: Any, now: datetime) -> list[Panel]:
    """The staff view's panels for `appointment`, in the order they were added."""
    return [panel for make in _appointment_panels.values() if (panel := make(request, appointment, now)) is not None]
