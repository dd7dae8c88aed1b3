"""Passwords: "Forgot your password?" for everyone (patients without one too), the same
answer whether or not the address exists, rate-limited, through the worker, expiring."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from appointments.forms import create_patient
from appointments.models import Notification
from appointments.notifications import deliver

NOW = dt.datetime(2030, 1, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def invited(db):
    """A patient the clinic added, who never had a password."""
    return create_patient(first_name="Nora", last_name="New", email="nora@example.org")


def ask(address, client=None):
    return (client or Client()).post(reverse("password_reset"), {"email": address})


def test_the_login_page_offers_it(client):
    html = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in html
    assert "Forgot your password" in html


@pytest.mark.parametrize("address", ["nora@example.org", "NORA@example.org", "nobody@example.org"])
def test_the_same_answer_whether_or_not_the_address_exists(invited, address):
    response = ask(address)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert Notification.objects.filter(kind="password-reset").count() == (0 if "nobody" in address else 1)
    assert mail.outbox == []  # never sent from inside the request


def test_a_patient_without_a_password_sets_one_with_the_emailed_link(invited):
    with freeze_time(NOW):
        ask("nora@example.org")
        deliver(Notification.objects.get().pk)
        [message] = mail.outbox
        assert message.to == ["nora@example.org"]
        link = re.search(r"http://127\.0\.0\.1:8000(/password/reset/\S+/)", message.body).group(1)
        client = Client()
        form = client.get(link, follow=True)
        assert "Choose a password" in form.content.decode()
        done = client.post(
            form.redirect_chain[-1][0], {"new_password1": "Tulips-in-May-2030", "new_password2": "Tulips-in-May-2030"}
        )
        assert done.status_code == 302
    invited.refresh_from_db()
    assert invited.check_password("Tulips-in-May-2030")


@pytest.mark.parametrize(
    "after,works", [(dt.timedelta(hours=2) - dt.timedelta(seconds=1), True), (dt.timedelta(hours=2, seconds=1), False)]
)
def test_the_link_expires(invited, after, works):
    with freeze_time(NOW):
        ask("nora@example.org")
        deliver(Notification.objects.get().pk)
    link = re.search(r"http://127\.0\.0\.1:8000(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    with freeze_time(NOW + after):
        page = Client().get(link, follow=True).content.decode()
    assert ('name="new_password1"' in page) is works
    assert ("This link no longer works" in page) is not works


def test_asking_is_rate_limited_per_address(invited):
    client = Client()
    answers = [ask("nora@example.org", client).status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]


def test_a_signed_in_patient_without_a_password_chooses_one(invited, client_for):
    client = client_for(invited)
    page = client.get(reverse("password_change")).content.decode()
    assert "Choose a password" in page
    assert "old_password" not in page
    response = client.post(
        reverse("password_change"), {"new_password1": "Tulips-in-May-2030", "new_password2": "Tulips-in-May-2030"}
    )
    assert response["Location"] == reverse("password_change_done")
    assert client.get(reverse("appointments:dashboard")).status_code == 200  # still signed in
    invited.refresh_from_db()
    assert invited.check_password("Tulips-in-May-2030")


def test_someone_with_a_password_must_give_the_old_one(client_for, doctor):
    response = client_for(doctor).post(
        reverse("password_change"), {"new_password1": "Tulips-in-May-2030", "new_password2": "Tulips-in-May-2030"}
    )
    assert response.status_code == 400
    assert "old_password" in response.context["form"].errors
