"""
"Are you sure?", asked by the server: never a browser confirm(). The rules of when to ask
live in appointments/rules.py (and telemedicine.access for the video switch); this module
only says how the question is shown.

One template, templates/appointments/confirm.html: a plain page without JavaScript, and
for htmx its `confirmation` partial, which takes the place of the element that asked for it
(HX-Target). Its "keep" link goes back to the page the person was on; with htmx it fetches
that page and puts back only the element it replaced (hx-select), so nothing else moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django import forms
from django.shortcuts import render

from .forms import StyledForm
from .models import Appointment

if TYPE_CHECKING:
    from django.http import HttpResponse

    from project.http import HtmxHttpRequest

TEMPLATE = "appointments/confirm.html"
# What an element id may look like to be echoed back into hx-select and hx-target.
ELEMENT_ID = re.compile(r"^[A-Za-z][\w-]{0,80}$")


class CancelForm(StyledForm, forms.Form):
    """The optional note a cancellation carries to the patient (their page and their email)."""

    note = forms.CharField(
        label="A note for the patient (optional)",
        help_text="Shown on their appointment page and in the cancellation email, e.g. why and how to rebook. "
        "Not the reason for the visit.",
        max_length=Appointment.CANCELLATION_NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


@dataclass(frozen=True)
class Confirmation:
    """The question before a change, and the two ways out of it."""

    key: str  # unique on the page: the ids of the question's heading and fields
    title: str  # the page's heading: "Cancel the appointment"
    question: str  # "Cancel the appointment with Bob Patient on Thu 26 Nov 2026 at 10:30 London time?"
    action_url: str  # where "yes" posts
    confirm_label: str  # "Yes, cancel it"
    keep_label: str  # "No, keep it"
    keep_url: str  # the page the person came from
    consequences: list[str] = field(default_factory=list)
    hidden: dict[str, str] = field(default_factory=dict)  # posted with "yes"
    note_form: CancelForm | None = None
    # htmx: the element this confirmation replaces ("" on the plain page).
    slot: str = ""
    # htmx: "yes" swaps the answer into `slot` instead of loading a new page (the video switch).
    answer_in_place: bool = False
    danger: bool = True


def came_from(request: HtmxHttpRequest, fallback: str) -> tuple[str, str]:
    """
    (the page to go back to, the element to put back): for htmx, the page the person is on and
    the element the confirmation replaces; otherwise `fallback`, and no element.
    """
    if not request.htmx:
        return fallback, ""
    try:
        page = request.htmx.current_url_abs_path
    except ValueError:  # a garbled HX-Current-URL
        page = None
    target = request.htmx.target or ""
    return page or fallback, target if ELEMENT_ID.match(target) else ""


def render_confirmation(request: HtmxHttpRequest, confirmation: Confirmation, *, status: int = 200) -> HttpResponse:
    """The plain page, or (htmx, with an element to replace) the partial in that element's place."""
    context = {"confirmation": confirmation}
    if confirmation.slot:
        return render(request, f"{TEMPLATE}#confirmation-in-place", context, status=status)
    return render(request, TEMPLATE, context, status=status)
