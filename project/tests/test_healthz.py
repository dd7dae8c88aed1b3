"""
/healthz (liveness: the process answers) and /readyz (readiness: the database, and Redis
when configured, answer): no login, no data, no cookie. With a real Redis stopped, and a
hung one: project/tests/test_outages.py; PostgreSQL stopped: test_outage_recovery.py.
"""

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


class BrokenCursor:
    def __enter__(self):
        raise OperationalError("connection to server at db.internal (10.0.0.5), port 5432 failed")

    def __exit__(self, *exc):
        return False


@pytest.mark.django_db
def test_healthz_still_answers_when_the_database_is_down(anonymous, monkeypatch):
    """Liveness: restarting the process would not bring the database back."""
    monkeypatch.setattr(health.connection, "cursor", lambda: BrokenCursor())
    assert anonymous.get("/healthz").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "head"])
def test_readyz_answers_200_without_login_when_the_database_answers(anonymous, method):
    response = getattr(anonymous, method)(reverse("readyz"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_says_database_ok_and_nothing_else(anonymous):
    # The tests run without REDIS_URL: only the database is asked.
    assert anonymous.get("/readyz").content == b"database: ok\n"


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_is_down_naming_no_host(anonymous, monkeypatch):
    monkeypatch.setattr(health.connection, "cursor", lambda: BrokenCursor())
    response = anonymous.get("/readyz")
    assert response.status_code == 503
    assert response.content == b"database: unavailable\n"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_refuse_post(anonymous, path):
    assert anonymous.post(path).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("path,expected", [("/healthz", 200), ("/readyz", 200), ("/login/", 301), ("/healthzx", 301)])
def test_only_the_health_checks_are_exempt_from_the_https_redirect(settings, anonymous, path, expected):
    # Load balancers and orchestrators probe over plain HTTP; everything else still goes to HTTPS.
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get(path).status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_stay_up_with_debug_off(settings, anonymous, path):
    settings.DEBUG = False
    assert anonymous.get(path).status_code == 200
