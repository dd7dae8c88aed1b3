"""
Finding 2 of issue 16: behind a proxy, the client must not choose its own address.

Proxies append to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, cloud load
balancers), so whatever the client sent comes first and only the last entries are
written by the clinic's own proxies. Lock-outs (django-axes), the per-address rate
limits (project/rate_limits.client_address) and the audit trail (telemedicine/audit.client_ip)
must all take the address the outermost proxy saw, whatever the client put in front of it.

The settings are made from the environment exactly as production makes them
(CLIENT_IP_PROXY_COUNT, CLIENT_IP_TRUSTED_PROXIES: a fresh interpreter imports
project/settings.py), then applied to this test process.
"""

import datetime as dt
import json

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from freezegun import freeze_time

from project import rate_limits
from project.tests.test_production_settings import import_settings
from telemedicine.audit import client_ip
from telemedicine.models import AccessEvent

START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=dt.UTC)
CLIENT = "81.2.69.160"  # the real client, as the outermost proxy sees it
PROXY = "127.0.0.1"  # nginx on the same machine: REMOTE_ADDR
LOAD_BALANCER = "10.0.0.2"
CLIENT_IP_SETTINGS = [
    "AXES_IPWARE_META_PRECEDENCE_ORDER",
    "AXES_IPWARE_PROXY_COUNT",
    "AXES_IPWARE_PROXY_TRUSTED_IPS",
    "IPWARE_ALGORITHM",
    "IPWARE_STRICT",
]

# What a client may put in its own X-Forwarded-For, which the proxy then appends to.
FORGERIES = [
    pytest.param("203.0.113.66", id="one-forged-address"),
    pytest.param("203.0.113.66, 198.51.100.7", id="several-forged-addresses"),
    pytest.param("not-an-address", id="garbage"),
    pytest.param('for=203.0.113.66;x="', id="rfc7239-syntax-with-an-open-quote"),
    pytest.param('203.0.113.66, "x', id="open-quote-swallowing-the-proxys-entry"),
    pytest.param('"203.0.113.66', id="quoted"),
]


def production_settings(**env) -> dict:
    """The client-address settings production derives from `env`."""
    names = ", ".join(f"{name!r}: getattr(s, {name!r}, None)" for name in CLIENT_IP_SETTINGS)
    result = import_settings(f"__import__('json').dumps({{{names}}})", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def behind_nginx():
    # What the README advised before (the header alone), with the count that makes it safe.
    return production_settings(CLIENT_IP_HEADERS="HTTP_X_FORWARDED_FOR", CLIENT_IP_PROXY_COUNT="1")


@pytest.fixture
def nginx(settings, behind_nginx):
    for name, value in behind_nginx.items():
        setattr(settings, name, value)


def through_nginx(forged: str | None) -> dict:
    """request.META as gunicorn hands it over: nginx appended the address it saw."""
    header = f"{forged}, {CLIENT}" if forged is not None else CLIENT
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": header}


def addresses(meta) -> tuple:
    """(axes, rate limits, audit trail): the three must agree."""
    from axes.helpers import get_client_ip_address

    request = RequestFactory().get("/", **meta)
    return get_client_ip_address(request), rate_limits.client_address(request), client_ip(request)


@pytest.mark.parametrize("forged", [None, *FORGERIES])
def test_behind_nginx_everyone_sees_the_address_nginx_saw(nginx, forged):
    assert addresses(through_nginx(forged)) == (CLIENT, CLIENT, CLIENT)


@pytest.mark.parametrize("forged", [None, *FORGERIES])
@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"CLIENT_IP_PROXY_COUNT": "2"}, id="counted"),
        pytest.param({"CLIENT_IP_TRUSTED_PROXIES": LOAD_BALANCER}, id="trusted-list"),
        pytest.param({"CLIENT_IP_TRUSTED_PROXIES": "10.0.0."}, id="trusted-prefix"),
    ],
)
def test_behind_a_load_balancer_and_nginx_everyone_sees_the_address_the_load_balancer_saw(settings, env, forged):
    for name, value in production_settings(**env).items():
        setattr(settings, name, value)
    # The load balancer appended the client's address, nginx the load balancer's.
    chain = f"{CLIENT}, {LOAD_BALANCER}" if forged is None else f"{forged}, {CLIENT}, {LOAD_BALANCER}"
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": chain}
    assert addresses(meta) == (CLIENT, CLIENT, CLIENT)


def test_a_request_that_skipped_the_trusted_load_balancer_never_gets_its_forged_address(settings):
    for name, value in production_settings(CLIENT_IP_TRUSTED_PROXIES=LOAD_BALANCER).items():
        setattr(settings, name, value)
    # Straight to nginx, pretending to come through the load balancer.
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"203.0.113.66, {CLIENT}"}
    assert "203.0.113.66" not in addresses(meta)


def test_the_proxy_count_alone_reads_x_forwarded_for(settings):
    for name, value in production_settings(CLIENT_IP_PROXY_COUNT="1").items():
        setattr(settings, name, value)
    assert addresses(through_nginx("203.0.113.66")) == (CLIENT, CLIENT, CLIENT)


@pytest.mark.parametrize("env", [{"CLIENT_IP_TRUSTED_PROXIES": "10.0.0.0/8"}, {"CLIENT_IP_PROXY_COUNT": "-1"}])
def test_a_proxy_setting_ipware_cannot_honour_stops_the_start(env):
    result = import_settings(**env)
    assert result.returncode != 0
    assert "CLIENT_IP_TRUSTED_PROXIES lists addresses or prefixes" in result.stderr


def test_without_a_proxy_the_header_is_ignored(settings):
    for name, value in production_settings().items():
        setattr(settings, name, value)
    meta = {"REMOTE_ADDR": CLIENT, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    assert addresses(meta) == (CLIENT, CLIENT, CLIENT)


def login_attempt(n, username="pat"):
    forged = f"198.51.100.{n % 250}"  # a new forged address every time
    return Client(**through_nginx(forged)).post(reverse("login"), {"username": username, "password": "wrong"})


@freeze_time(START)
def test_a_rotating_forged_address_does_not_escape_the_per_address_login_limit(nginx, db):
    tries = int(rate_limits.LOGIN_PER_IP.split("/")[0]) + 1
    statuses = [login_attempt(n, username=f"user{n}").status_code for n in range(tries)]
    assert statuses[-1] == 429
    assert 429 not in statuses[:-1]


@freeze_time(START)
def test_a_rotating_forged_address_does_not_escape_the_lock_out(nginx, settings, patient):
    statuses = [login_attempt(n).status_code for n in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


@freeze_time(START)
def test_the_audit_trail_records_the_address_nginx_saw(nginx, make_appointment, patient):
    appointment = make_appointment(starts_at=START, is_telemedicine=True)
    client = Client(**through_nginx("203.0.113.66"))
    client.force_login(patient)
    assert client.get(reverse("telemedicine:jitsi-room", args=[appointment.pk])).status_code == 200
    assert AccessEvent.objects.get().ip_address == CLIENT
