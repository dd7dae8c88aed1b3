"""
One-tap sign-in links: patients only, one appointment's page, until its call window
closes, once; refused links get a friendly page and a "send me a new link" form that
answers the same for everyone.
"""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.models import Notification
from appointments.notifications import deliver
from telemedicine.models import AccessEvent, SignInLink
from telemedicine.sign_in import new_sign_in_url

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
CLOSES = START + dt.timedelta(minutes=30)
BEFORE = START - dt.timedelta(days=3)


@pytest.fixture
def visit(make_appointment, patient):
    patient.email = "pat@example.org"
    patient.save()
    return make_appointment(starts_at=START, is_telemedicine=True)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def link(visit, patient):
    with freeze_time(BEFORE):
        return path_of(new_sign_in_url(patient, visit, BEFORE))


def open_link(path, client=None, when=BEFORE):
    client = client or Client()
    with freeze_time(when):
        return client, client.get(path)


class TestTheLink:
    def test_signs_the_patient_in_on_their_appointment_page(self, link, visit, patient):
        client, response = open_link(link)
        assert response.status_code == 302
        assert response["Location"] == visit.get_absolute_url()  # the token leaves the address bar
        assert client.session[SESSION_KEY] == str(patient.pk)
        # The session is served by the cached backend, like every other one.
        assert client.session["_auth_user_backend"] == "appointments.auth_backends.CachedModelBackend"
        with freeze_time(BEFORE):
            page = client.get(visit.get_absolute_url())
        assert page.status_code == 200
        assert 'id="status-card"' in page.content.decode()

    def test_is_single_use(self, link):
        open_link(link)
        _, again = open_link(link)  # another browser, or someone who found the email
        assert again.status_code == 403
        assert "This link no longer works" in again.content.decode()
        assert SESSION_KEY not in again.wsgi_request.session

    def test_the_same_browser_already_signed_in_is_just_taken_to_the_page(self, link, visit):
        client, _ = open_link(link)
        _, again = open_link(link, client=client)
        assert again["Location"] == visit.get_absolute_url()

    @pytest.mark.parametrize("when,works", [(CLOSES, True), (CLOSES + dt.timedelta(seconds=1), False)])
    def test_works_until_the_call_window_closes(self, link, when, works):
        _, response = open_link(link, when=when)
        assert response.status_code == (302 if works else 403)

    # django-sesame's maximum age is exclusive: 14 days less a second works, 14 days does not.
    @pytest.mark.parametrize("days,works", [(14 - 1 / 86400, True), (14, False)])
    def test_never_longer_than_the_configured_maximum(self, make_appointment, patient, days, works):
        far = make_appointment(starts_at=BEFORE + dt.timedelta(days=60), is_telemedicine=True)
        with freeze_time(BEFORE):
            url = path_of(new_sign_in_url(patient, far, BEFORE))
        _, response = open_link(url, when=BEFORE + dt.timedelta(days=days))
        assert response.status_code == (302 if works else 403)

    @pytest.mark.parametrize(
        "garble",
        [
            lambda path: path[:-3],  # cut short
            lambda path: path.replace("?t=", "?t=x"),  # tampered
            lambda path: path.split("?")[0],  # no token at all
        ],
    )
    def test_a_garbled_link_signs_nobody_in(self, link, garble):
        _, response = open_link(garble(link))
        assert response.status_code == 403
        assert SESSION_KEY not in response.wsgi_request.session

    def test_a_token_of_one_link_opens_no_other(self, link, visit, patient):
        with freeze_time(BEFORE):
            other = path_of(new_sign_in_url(patient, visit, BEFORE))
        swapped = other.split("?")[0] + "?" + link.split("?")[1]
        _, response = open_link(swapped)
        assert response.status_code == 403

    def test_a_password_change_ends_every_link(self, link, patient):
        patient.set_password("a-brand-new-secret-2030")
        patient.save()
        _, response = open_link(link)
        assert response.status_code == 403

    def test_a_deactivated_patient_is_not_signed_in(self, link, patient):
        patient.is_active = False
        patient.save()
        _, response = open_link(link)
        assert response.status_code == 403

    @pytest.mark.parametrize("who", ["doctor", "staff", "superuser"])
    def test_never_for_doctors_staff_or_superusers(self, request, make_appointment, patient, who, django_user_model):
        if who == "superuser":
            person = django_user_model.objects.create_superuser("root", "root@example.org", "x")
        else:
            person = request.getfixturevalue(who)
        visit = make_appointment(starts_at=START, patient=person) if who != "doctor" else None
        if visit is None:
            # A doctor who is also some appointment's patient still signs in with a password.
            other_doctor = request.getfixturevalue("other_doctor")
            visit = make_appointment(starts_at=START, patient=person, doctor=other_doctor)
        with freeze_time(BEFORE):
            assert new_sign_in_url(person, visit, BEFORE) is None
            # A link forged around the rule (a row and a valid token) is still refused.
            from sesame.utils import get_token

            forged = SignInLink.objects.create(user=person, appointment=visit, expires_at=CLOSES)
            token = get_token(person, scope=f"sign-in:{forged.pk}")
        _, response = open_link(f"{reverse('telemedicine:sign-in', args=[forged.pk])}?t={token}")
        assert response.status_code == 403
        assert AccessEvent.objects.get(action="link-refused").reason == "link-not-allowed"

    def test_no_link_once_the_window_has_closed(self, visit, patient):
        assert new_sign_in_url(patient, visit, CLOSES + dt.timedelta(seconds=1)) is None


class TestAudit:
    def test_signing_in_is_recorded(self, link, visit, patient):
        open_link(link)
        event = AccessEvent.objects.get()
        assert (event.action, event.user, event.appointment_id) == ("link-signed-in", patient, visit.pk)

    @pytest.mark.parametrize(
        "setup,reason",
        [
            (lambda link: open_link(link), "link-used"),
            (lambda link: None, "link-expired"),
        ],
    )
    def test_refusals_are_recorded_with_why(self, link, setup, reason):
        setup(link)
        open_link(link, when=CLOSES + dt.timedelta(seconds=1) if reason == "link-expired" else BEFORE)
        refused = AccessEvent.objects.get(action="link-refused")
        assert refused.reason == reason

    def test_no_log_line_or_record_carries_the_token(self, link, caplog):
        token = link.split("t=")[1]
        open_link(link)
        open_link(link)
        # Both attempts were logged (the second refused), and neither line names the token.
        assert any("refused" in r.getMessage() for r in caplog.records)
        assert not [r for r in caplog.records if token in r.getMessage()]
        assert not AccessEvent.objects.filter(detail__contains=token).exists()


class TestSendMeANewLink:
    URL = "/telemedicine/sign-in/new-link/"

    ADDRESSES = ["pat@example.org", "PAT@example.org", "nobody@example.org", "dr@example.org"]

    def test_the_same_answer_whoever_asks(self, visit, doctor):
        """Word for word, whatever the address: the answer never says whether a patient has it."""
        doctor.email = "dr@example.org"
        doctor.save()
        answers = {}
        for address in self.ADDRESSES:
            with freeze_time(BEFORE):
                response = Client().post(self.URL, {"email": address})
            assert response.status_code == 200
            html = response.content.decode().replace(address, "<address>")
            answers[address] = re.sub(r'(csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"', r"\1<csrf>", html)
        assert "a new link is on its way" in answers["nobody@example.org"]
        assert len(set(answers.values())) == 1, "the answers differ"
        sent = Notification.objects.filter(kind=Notification.Kind.SIGN_IN_LINK)
        assert list(sent.values_list("email", flat=True)) == ["pat@example.org", "pat@example.org"]

    def test_the_new_link_works(self, visit):
        with freeze_time(BEFORE):
            Client().post(self.URL, {"email": "pat@example.org"})
            deliver(Notification.objects.get().pk)
        [message] = mail.outbox
        url = re.search(r"http://127\.0\.0\.1:8000(/telemedicine/sign-in/\S+)", message.body).group(1)
        _, response = open_link(url)
        assert response["Location"] == visit.get_absolute_url()

    def test_a_bad_address_gets_its_error(self, visit):
        response = Client().post(self.URL, {"email": "not an address"})
        assert response.status_code == 400
        assert "Enter a valid email address." in response.content.decode()

    def test_it_is_rate_limited(self, visit):
        client = Client()
        with freeze_time(BEFORE):
            answers = [client.post(self.URL, {"email": "pat@example.org"}).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        assert Notification.objects.count() == 3

    def test_the_refusal_page_offers_it(self, link):
        open_link(link)
        _, response = open_link(link)
        html = response.content.decode()
        assert f'action="{self.URL}"' in html
        assert "Send me a new link" in html
