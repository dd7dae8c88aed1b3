"""
Issue 17, point 2: wherever the app sends someone to the clinic, it says how to reach it
(CLINIC_NAME, CLINIC_PHONE, CLINIC_ADDRESS): pages, cards, error pages (the 500 page
included, which reads nothing but the settings) and emails; `check --deploy` warns when the
phone number is missing in production. The root conftest sets the three for every test.
"""

import datetime as dt

import pytest
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from freezegun import freeze_time
from icalendar import Calendar

from appointments.checks import check_clinic_phone_is_set
from appointments.clinic import phone_link, place
from appointments.clinic_time import clinic_datetime
from appointments.models import Notification
from appointments.notifications import deliver, notify
from project.errors import server_error
from telemedicine.tests.shortcuts import telemedicine, url

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
BEFORE = START - dt.timedelta(hours=2)
CALL = "call Riverside Clinic on 020 7946 0000"


@pytest.fixture
def in_person(make_appointment, patient):
    patient.email = "pat@example.org"
    patient.save()
    return make_appointment(starts_at=START, is_telemedicine=False, description="Blood test")


@freeze_time(BEFORE)
class TestPages:
    def test_an_in_person_visit_says_where(self, client_for, patient, in_person):
        for page in (in_person.get_absolute_url(), reverse("appointments:dashboard")):
            html = client_for(patient).get(page).content.decode()
            assert "This visit takes place at Riverside Clinic, 1 River Street, London, not by video." in html

    def test_without_the_video_card_the_page_still_says_where(self, client_for, patient, in_person):
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            html = client_for(patient).get(in_person.get_absolute_url()).content.decode()
        assert "Riverside Clinic, 1 River Street, London</dd>" in html

    def test_a_call_window_that_has_closed_gives_the_number(self, client_for, patient, make_appointment):
        visit = make_appointment(starts_at=BEFORE - dt.timedelta(hours=1), is_telemedicine=True)
        html = client_for(patient).get(visit.get_absolute_url()).content.decode()
        assert f"If the visit did not take place, please {CALL} to book a new one." in html

    def test_video_visits_switched_off_for_the_clinic_give_the_number(self, client_for, patient, make_appointment):
        visit = make_appointment(starts_at=START, is_telemedicine=True)
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            html = client_for(patient).get(url("jitsi-room", visit)).content.decode()
        assert f"Please {CALL}: your doctor can continue the visit by phone." in html

    def test_the_not_found_page_gives_the_number(self, client_for, patient):
        html = client_for(patient).get("/telemedicine/appointment/987654/detail/").content.decode()
        assert f"For help, please {CALL}." in html

    def test_the_500_page_gives_the_number_from_the_settings_alone(self):
        # No database here (pytest-django refuses it): the fault may be the database.
        response = server_error(RequestFactory().get("/"))
        html = response.content.decode()
        assert response.status_code == 500
        assert f"please {CALL}: your doctor can continue the visit by phone." in html
        assert "<title>Something went wrong · Riverside Clinic</title>" in html

    def test_without_a_number_pages_say_contact_the_clinic(self, client_for, patient, settings):
        settings.CLINIC_PHONE = ""
        html = client_for(patient).get("/telemedicine/appointment/987654/detail/").content.decode()
        assert "For help, please contact Riverside Clinic." in html
        assert "call Riverside Clinic on" not in html


@freeze_time(BEFORE)
class TestEmails:
    def sent(self, appointment, kind):
        notification = notify(appointment, kind)
        deliver(notification.pk)
        message = mail.outbox[-1]
        return message.body, message.alternatives[0][0]

    def test_the_invitation_to_the_clinic_says_where_and_whom_to_call(self, in_person):
        text, html = self.sent(in_person, Notification.Kind.INVITATION)
        assert "Where: at Riverside Clinic, 1 River Street, London" in text
        assert "To change or cancel the appointment, call Riverside Clinic on 020 7946 0000." in text
        assert 'href="tel:02079460000"' in html  # one tap on a phone dials it (RFC 3966: no spaces)
        assert "Blood test" not in text + html

    @pytest.mark.parametrize("address", ["1 River Street, London", ""])
    def test_the_email_and_its_calendar_file_give_the_clinics_one_place(self, in_person, settings, address):
        """clinic.place() says where a visit at the clinic is: the email and the .ics ask it, never build their own."""
        settings.CLINIC_ADDRESS = address
        notification = notify(in_person, Notification.Kind.INVITATION)
        deliver(notification.pk)
        message = mail.outbox[-1]
        [(_name, content, _mimetype)] = [a for a in message.attachments if a[0] == "appointment.ics"]
        [event] = Calendar.from_ical(content).walk("VEVENT")
        assert str(event["LOCATION"]) == place()
        assert f"Where: at {place()}\n" in message.body
        assert f"<td>{place()}</td>" in message.alternatives[0][0]

    def test_the_cancellation_says_whom_to_call_to_rebook(self, in_person):
        self.sent(in_person, Notification.Kind.INVITATION)
        in_person.close("cancelled", note="The lab is closed that day.")
        text, html = self.sent(in_person, Notification.Kind.CANCELLED)
        assert "To book a new appointment, call Riverside Clinic on 020 7946 0000." in text
        assert "A note from Riverside Clinic: The lab is closed that day." in text
        assert "Blood test" not in text + html


@pytest.mark.parametrize(
    ("number", "link"),
    [
        ("020 7946 0000", "tel:02079460000"),
        ("+44 20 7946-0000", "tel:+442079460000"),
        ("+1 212.555.0100", "tel:+12125550100"),
        ("", ""),
        ("ask at reception", ""),
    ],
)
def test_the_number_becomes_a_link_a_phone_dials(settings, number, link):
    settings.CLINIC_PHONE = number
    assert phone_link() == link


class TestTheDeployCheck:
    def test_production_without_a_phone_number_is_warned(self, settings):
        settings.DEBUG, settings.CLINIC_PHONE = False, ""
        [warning] = check_clinic_phone_is_set(None)
        assert warning.id == "appointments.W005"

    @pytest.mark.parametrize("debug,phone", [(False, "020 7946 0000"), (True, "")])
    def test_otherwise_nothing_is_said(self, settings, debug, phone):
        settings.DEBUG, settings.CLINIC_PHONE = debug, phone
        assert check_clinic_phone_is_set(None) == []
