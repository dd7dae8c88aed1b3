"""Pages and partials go out gzipped to browsers that ask for it (GZipMiddleware)."""

import datetime as dt
import gzip

import pytest
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from telemedicine.tests.shortcuts import url

DAY = dt.date(2030, 1, 15)
NOW = clinic_datetime(DAY, dt.time(7))


@pytest.fixture
def busy_day(make_appointment):
    return [make_appointment(date=DAY, time=dt.time(8 + i // 6, i % 6 * 10), is_telemedicine=True) for i in range(60)]


def get(client, path, *, gzip_ok, **headers):
    if gzip_ok:
        headers["HTTP_ACCEPT_ENCODING"] = "gzip, deflate, br"
    response = client.get(path, **headers)
    assert response.status_code == 200
    return response


@freeze_time(NOW)
@pytest.mark.parametrize(
    "page,htmx,at_most",
    [
        (lambda appointments: reverse("appointments:dashboard"), False, 0.2),
        # Small answers shrink less: Django adds up to 100 random bytes to each (BREACH).
        (lambda appointments: url("check-telemedicine-status", appointments[0]), True, 0.7),
        (lambda appointments: url("appointment-detail-telemedicine", appointments[0]), False, 0.5),
    ],
    ids=["dashboard", "status-card", "detail-page"],
)
def test_pages_are_gzipped_for_browsers_that_ask(client_for, doctor, busy_day, page, htmx, at_most):
    client, path = client_for(doctor), page(busy_day)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    plain = get(client, path, gzip_ok=False, **headers)
    packed = get(client, path, gzip_ok=True, **headers)
    assert not plain.has_header("Content-Encoding")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    # The same page (but for the per-answer CSRF token), in far fewer bytes.
    assert len(gzip.decompress(packed.content)) == len(plain.content)
    assert len(packed.content) < len(plain.content) * at_most
