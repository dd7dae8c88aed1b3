"""/healthz: 200 when the app and its database are up, 503 otherwise; no login, no data."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from project import health


@pytest.fixture
def anonymous():
    return Client()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "head"])
def test_healthz_answers_200_without_login(anonymous, method):
    response = getattr(anonymous, method)(reverse("healthz"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_healthz_says_ok_and_nothing_else(anonymous):
    assert anonymous.get("/healthz").content == b"ok\n"


@pytest.mark.django_db
def test_healthz_sets_no_cookie_and_is_never_cached(anonymous):
    response = anonymous.get("/healthz")
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_down(anonymous, monkeypatch):
    class BrokenCursor:
        def __enter__(self):
            raise OperationalError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: BrokenCursor())
    response = anonymous.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"database unavailable\n"


@pytest.mark.django_db
def test_healthz_refuses_post(anonymous):
    assert anonymous.post("/healthz").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("path,expected", [("/healthz", 200), ("/login/", 301)])
def test_only_healthz_is_exempt_from_the_https_redirect(settings, anonymous, path, expected):
    # A load balancer probes over plain HTTP; everything else still goes to HTTPS.
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get(path).status_code == expected


@pytest.mark.django_db
def test_healthz_stays_up_with_debug_off(settings, anonymous):
    settings.DEBUG = False
    assert anonymous.get("/healthz").status_code == 200
