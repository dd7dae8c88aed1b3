"""
Finding 8 of issue 16: production records its server errors.

With DJANGO_DEBUG=0 Django's own console handler is off, so nothing took
`django.request` and a 500 left only the access-log line. A fresh interpreter runs
the production settings (as gunicorn would) and answers a request that fails; its
stderr must carry the error and its traceback, and never a secret (a room name, a
token, a sign-in link) or a person's data beyond ids.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
ROOM = "clinic-0123456789abcdef0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb29tIjoiY2xpbmljIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
SESAME = "AAAAARRAdJgVuWEWZRYfPgOuIDKFKI5dLELSTiFj"
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "p7Yq2vK9xL4mN8rT1wZ6cB3hJ5dF0gS2aE7uI9oP4kQ1nM6lX8",
    "DJANGO_ALLOWED_HOSTS": "testserver",
}

# Answers one request under the production settings; what the view raises is `failure`.
SCRIPT = """
import django
django.setup()
from django.conf import settings
# collectstatic is a deployment step: the error page's {{% static %}} needs no manifest here.
plain = {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
settings.STORAGES = {{**settings.STORAGES, "staticfiles": plain}}
import project.health

def failing(request):
    {failure}

project.health.healthz = failing  # before the URLconf is first loaded
from django.test import Client
response = Client(raise_request_exception=False).get("/healthz?next=/telemedicine/jitsi/7/", secure=True)
print("STATUS", response.status_code)
"""


def serve_one_failing_request(failure: str, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE", "REDIS"))}
    environment |= PRODUCTION | env | {"DJANGO_SETTINGS_MODULE": "project.settings"}
    script = SCRIPT.format(failure=failure)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )


def test_a_server_error_is_logged_to_stderr_with_its_traceback():
    result = serve_one_failing_request("raise ZeroDivisionError('the clinic divided by zero')")
    assert "STATUS 500" in result.stdout, result.stderr
    assert "ERROR django.request Internal Server Error: /healthz" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "ZeroDivisionError: the clinic divided by zero" in result.stderr


def test_a_database_failure_is_logged(tmp_path):
    """A database that cannot be reached is an outage (docs/outages.md): a 503, logged with its cause."""
    # The database file's folder does not exist: the first query fails.
    missing = tmp_path / "no-such-folder" / "clinic.sqlite3"
    result = serve_one_failing_request(
        "from django.contrib.auth.models import User; User.objects.count()", DATABASE_URL=f"sqlite:///{missing}"
    )
    assert "STATUS 503" in result.stdout, result.stderr
    assert "ERROR django.request Service Unavailable: /healthz" in result.stderr
    assert "OperationalError" in result.stderr


def test_the_error_log_carries_no_secret_and_no_personal_data():
    message = (
        f"room {ROOM} token={JWT} link=https://clinic.example/login/?sesame={SESAME}&next=/ "
        "DETAIL:  Key (username)=(alice.smith) already exists."
    )
    result = serve_one_failing_request(f"raise RuntimeError({message!r})")
    assert "Internal Server Error: /healthz" in result.stderr
    assert "RuntimeError" in result.stderr
    for secret in [ROOM, JWT, SESAME, "alice.smith"]:
        assert secret not in result.stderr
    assert "Key (username)=(…)" in result.stderr  # what failed is still said
    assert "/telemedicine/jitsi/7/" not in result.stderr  # the path only, never the query string


@pytest.mark.parametrize(
    "text,shown",
    [
        (f"room={ROOM}", "room=clinic-[room]"),
        (f"Bearer {JWT}", "Bearer [token]"),
        (f"/login/?sesame={SESAME}", "/login/?sesame=[token]"),
        (f"/telemedicine/sign-in/7e1c/?t={SESAME}", "/telemedicine/sign-in/7e1c/?t=[token]"),
        (f"/telemedicine/guest/4/open/?k={SESAME}&x=1", "/telemedicine/guest/4/open/?k=[token]&x=1"),
        ("/password/reset/Mw/cz9xyz-0123abcd/", "/password/reset/[token]/"),
        ("GET /appointments/?page=2 HTTP/1.1", "GET /appointments/?page=2 HTTP/1.1"),
        ("Key (email)=(pat@example.org) already exists", "Key (email)=(…) already exists"),
        ("appointment=7 user=3", "appointment=7 user=3"),
    ],
)
def test_the_formatter_redacts_secrets_in_messages_and_tracebacks(text, shown):
    from project.log import RedactingFormatter

    formatter = RedactingFormatter("{message}", style="{")
    try:
        raise ValueError(text)
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, text, None, sys.exc_info())
    formatted = formatter.format(record)
    assert formatted.splitlines()[0] == shown
    assert formatted.splitlines()[-1] == f"ValueError: {shown}"
