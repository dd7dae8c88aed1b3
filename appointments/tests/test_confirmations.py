"""
Issue 17, point 1: cancelling and completing are asked twice, by the server (a plain page
without JavaScript, an htmx partial in place of the buttons), never by a browser confirm();
a cancellation may carry a note the patient reads; completing is offered, and allowed, from
the visit's start only; every message names the appointment it changed.
"""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.models import Appointment, Notification
from appointments.notifications import deliver
from appointments.rules import completion_opens_at, may_complete
from telemedicine import presence
from telemedicine.access import CallReport

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
BEFORE = START - dt.timedelta(hours=2)
SECOND = dt.timedelta(seconds=1)
LABEL = "Pat Ient on Tue 15 Jan 2030 at 10:00 London time"


@pytest.fixture
def visit(make_appointment, patient):
    patient.email = "pat@example.org"
    patient.save()
    return make_appointment(starts_at=START, is_telemedicine=True, description="Rash on left arm")


def htmx_from(page: str, target: str) -> dict:
    """What htmx sends when a button on `page` asks to put the answer in place of #target."""
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target, "HTTP_HX_CURRENT_URL": f"http://testserver{page}"}


def status_of(appointment) -> str:
    return Appointment.objects.values_list("status", flat=True).get(pk=appointment.pk)


class TestCancelConfirmation:
    @freeze_time(BEFORE)
    def test_without_javascript_a_page_asks_first_and_changes_nothing(self, client_for, doctor, visit):
        response = client_for(doctor).get(reverse("appointments:cancel", args=[visit.pk]))
        html = response.content.decode()
        assert response.status_code == 200
        assert '<h1 class="h3">Cancel the appointment</h1>' in html
        assert f"Cancel the appointment with {LABEL}?" in html
        assert "Pat Ient is told by email, with your note if you write one." in html
        assert 'name="note"' in html
        assert f'action="{reverse("appointments:cancel", args=[visit.pk])}"' in html
        assert f'href="{visit.get_absolute_url()}"' in html  # "No, keep it": back to the appointment
        assert "hx-select" not in html  # a plain page: nothing to put back in place
        assert "confirm(" not in html
        assert status_of(visit) == "scheduled"

    @freeze_time(BEFORE)
    def test_with_htmx_the_question_takes_the_place_of_the_buttons(self, client_for, doctor, visit):
        page = visit.get_absolute_url()
        slot = f"appointment-actions-{visit.pk}"
        response = client_for(doctor).get(reverse("appointments:cancel", args=[visit.pk]), **htmx_from(page, slot))
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert html.strip().startswith(f'<div id="{slot}">')
        assert f"Cancel the appointment with {LABEL}?" in html
        # "No, keep it" fetches the page again and puts back only what the question replaced.
        assert f'hx-get="{page}" hx-select="#{slot}" hx-target="#{slot}" hx-swap="outerHTML"' in html
        assert " autofocus" in html  # the question takes the focus, so a screen reader reads it
        assert status_of(visit) == "scheduled"

    @freeze_time(BEFORE)
    @pytest.mark.parametrize("target", ['x" onmouseover="alert(1)', "", "1abc", "a" * 200])
    def test_an_odd_target_is_never_echoed_back(self, client_for, doctor, visit, target):
        html = (
            client_for(doctor)
            .get(reverse("appointments:cancel", args=[visit.pk]), **htmx_from(visit.get_absolute_url(), target))
            .content.decode()
        )
        assert "onmouseover" not in html
        assert "hx-select" not in html  # no element to put back: the plain page

    @freeze_time(BEFORE)
    def test_yes_cancels_with_a_note_the_patient_reads_and_names_the_appointment(self, client_for, doctor, visit):
        response = client_for(doctor).post(
            reverse("appointments:cancel", args=[visit.pk]),
            {"note": "  Dr House is unwell; we will call you to rebook.  "},
            follow=True,
        )
        html = response.content.decode()
        assert f"Appointment with {LABEL} cancelled." in html
        visit.refresh_from_db()
        assert (visit.status, visit.cancellation_note) == (
            "cancelled",
            "Dr House is unwell; we will call you to rebook.",
        )

    @freeze_time(BEFORE)
    def test_the_note_is_on_the_patients_card_and_in_the_email_but_never_the_reason(
        self, client_for, doctor, patient, visit
    ):
        # The patient was told of the visit, so they are told of its cancellation.
        Notification.objects.create(
            appointment=visit, kind=Notification.Kind.INVITATION, recipient=patient, email=patient.email,
            status=Notification.Status.SENT,
        )  # fmt: skip
        client_for(doctor).post(reverse("appointments:cancel", args=[visit.pk]), {"note": "We will call you."})
        card = client_for(patient).get(visit.get_absolute_url()).content.decode()
        assert "A note from Riverside Clinic: We will call you." in card
        cancelled = Notification.objects.get(kind=Notification.Kind.CANCELLED)
        deliver(cancelled.pk)
        [email] = mail.outbox
        bodies = email.body + email.alternatives[0][0]
        assert bodies.count("A note from Riverside Clinic: We will call you.") == 2
        assert "Rash on left arm" not in bodies + email.subject

    @freeze_time(BEFORE)
    def test_a_patient_without_an_email_address_is_to_be_told_in_person(self, client_for, doctor, patient, visit):
        patient.email = ""
        patient.save()
        html = client_for(doctor).get(reverse("appointments:cancel", args=[visit.pk])).content.decode()
        assert "Pat Ient has no email address: please tell them yourself." in html

    @freeze_time(BEFORE)
    def test_a_note_too_long_is_asked_again_and_nothing_is_cancelled(self, client_for, doctor, visit):
        response = client_for(doctor).post(reverse("appointments:cancel", args=[visit.pk]), {"note": "x" * 501})
        assert response.status_code == 400
        assert "Ensure this value has at most 500 characters" in response.content.decode()
        assert status_of(visit) == "scheduled"

    @freeze_time(BEFORE)
    def test_staff_are_told_the_doctor_too_and_come_back_to_the_staff_view(self, client_for, staff, visit):
        response = client_for(staff).post(reverse("appointments:cancel", args=[visit.pk]), follow=True)
        assert response.redirect_chain[-1][0] == reverse("appointments:staff-view", args=[visit.pk])
        assert f"Appointment with {LABEL.replace(' on ', ' and Dr Gregory House on ')} cancelled." in (
            response.content.decode()
        )

    @freeze_time(START)  # the presence marks expire on the (frozen) clock
    def test_the_open_video_call_and_the_patient_in_it_are_said(self, client_for, doctor, patient, visit):
        presence.mark_room_open(visit, patient.pk, START)
        presence.apply_report(visit, patient.pk, CallReport.JOINED, START)
        html = client_for(doctor).get(reverse("appointments:cancel", args=[visit.pk])).content.decode()
        assert "The video call is open now, until 10:30 London time." in html
        assert "Pat Ient is in the video call right now." in html
        assert "Nobody can join the call afterwards." in html


class TestCompleteConfirmation:
    @pytest.mark.parametrize(
        "moment,allowed", [(START - SECOND, False), (START, True), (START + dt.timedelta(days=3), True)]
    )
    def test_the_rule_starts_at_the_visits_start(self, doctor, visit, moment, allowed):
        assert completion_opens_at(visit) == START
        assert may_complete(doctor, visit, moment) is allowed

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_second_before_the_start_it_is_refused_on_the_server(self, client_for, doctor, visit, method):
        with freeze_time(START - SECOND):
            response = getattr(client_for(doctor), method)(
                reverse("appointments:complete", args=[visit.pk]), follow=True
            )
        assert "This visit starts on Tue 15 Jan 2030 at 10:00 London time: it can be marked completed from then." in (
            response.content.decode()
        )
        assert status_of(visit) == "scheduled"

    def test_the_page_offers_it_from_the_start_only(self, client_for, doctor, visit):
        complete_url = reverse("appointments:complete", args=[visit.pk])
        with freeze_time(START - SECOND):
            before = client_for(doctor).get(visit.get_absolute_url()).content.decode()
        with freeze_time(START):
            after = client_for(doctor).get(visit.get_absolute_url()).content.decode()
        assert complete_url not in before
        assert "It can be marked completed from its start." in before
        assert f'href="{complete_url}"' in after

    @freeze_time(START)
    def test_from_the_start_a_page_asks_first(self, client_for, doctor, visit):
        response = client_for(doctor).get(reverse("appointments:complete", args=[visit.pk]))
        html = response.content.decode()
        assert response.status_code == 200
        assert f"Mark the appointment with {LABEL} as completed?" in html
        assert "Pat Ient&#x27;s appointment page will say the visit is over." in html
        assert "Yes, mark it completed" in html
        assert status_of(visit) == "scheduled"

    @freeze_time(START)
    def test_with_htmx_in_place_of_the_wrap_up_buttons(self, client_for, doctor, visit):
        page = f"{visit.get_absolute_url()}?call=ended"
        slot = f"wrap-up-actions-{visit.pk}"
        html = (
            client_for(doctor)
            .get(reverse("appointments:complete", args=[visit.pk]), **htmx_from(page, slot))
            .content.decode()
        )
        assert html.strip().startswith(f'<div id="{slot}">')
        assert f'hx-get="{page}" hx-select="#{slot}"' in html

    @freeze_time(START)
    def test_yes_completes_and_names_the_appointment(self, client_for, doctor, visit):
        response = client_for(doctor).post(reverse("appointments:complete", args=[visit.pk]), follow=True)
        assert f"Appointment with {LABEL} marked completed." in response.content.decode()
        assert status_of(visit) == "completed"

    @freeze_time(START)
    def test_an_htmx_post_leaves_the_page_for_the_new_one(self, client_for, doctor, visit):
        response = client_for(doctor).post(reverse("appointments:complete", args=[visit.pk]), HTTP_HX_REQUEST="true")
        assert response["HX-Redirect"] == visit.get_absolute_url()
        assert status_of(visit) == "completed"
