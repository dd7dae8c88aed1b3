"""
A patient's first visit to their appointment page weighs at most 60 KB on the wire:
HTML, CSS and JavaScript, compressed, with nothing in the browser's cache.

Measured in Chromium against the app as production serves it, because the live server
of the other browser tests cannot show it: it serves static files uncompressed, straight
from the app folders. So this test starts gunicorn with production settings (DEBUG off,
collectstatic with whitenoise's compressed, hashed files; plain http on loopback as
`make serve`) on its own SQLite file, and asks the browser what each response cost
(Resource Timing's transferSize: headers plus compressed body).
"""

from pathlib import Path

import pytest

from project.tests.servers import ProductionServer

BUDGET_BYTES = 60 * 1024

SEED = """
import datetime as dt
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.cached_db import SessionStore
from django.utils import timezone
from appointments.models import Appointment
User = get_user_model()
doctor = User.objects.create_user("dr.weight", first_name="Wendy", last_name="Weight")
doctor.groups.add(Group.objects.get(name="Doctors"))
patient = User.objects.create_user("pat.weight", first_name="Pat", last_name="Weight")
patient.groups.add(Group.objects.get(name="Patients"))
starts = timezone.localtime() + dt.timedelta(hours=3)
visit = Appointment.objects.create(doctor=doctor, patient=patient, date=starts.date(),
    time=starts.time().replace(second=0, microsecond=0), is_telemedicine=True, description="Check-up")
session = SessionStore()
session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(patient.pk), settings.AUTHENTICATION_BACKENDS[-1]
session[HASH_SESSION_KEY] = patient.get_session_auth_hash()
session.create()
print(session.session_key, visit.pk)
"""


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    """gunicorn with production settings; yields (base URL, patient's session key, appointment id)."""
    folder = tmp_path_factory.mktemp("page-weight")
    server = ProductionServer({"DATABASE_URL": f"sqlite:///{folder / 'weight.sqlite3'}"})
    server.prepare()
    seeded = server.manage("shell", "-c", SEED)
    session_key, appointment_id = seeded.strip().splitlines()[-1].split()  # after any shell banner
    server.start()
    try:
        yield server.base_url, session_key, int(appointment_id)
    finally:
        server.stop()


TRANSFERS = """() => {
  const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  return entries.map(e => ({
    url: e.name, transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize,
  }));
}"""


def test_patient_first_visit_to_the_appointment_page_transfers_at_most_60_kb(production_server, new_context):
    base_url, session_key, appointment_id = production_server
    context = new_context()  # a fresh profile: nothing cached (URLs below are absolute: not the live server)
    context.add_cookies([{"name": "sessionid", "value": session_key, "url": base_url}])
    page = context.new_page()
    encodings = {}
    page.on("response", lambda response: encodings.__setitem__(response.url, response.headers.get("content-encoding")))
    page.goto(f"{base_url}/telemedicine/appointment/{appointment_id}/detail/", wait_until="load")
    assert page.get_by_role("heading", name="Video visit").is_visible()

    transfers = page.evaluate(TRANSFERS)
    total = sum(entry["transfer"] for entry in transfers)
    report = "\n".join(f"{e['transfer']:>7} B on the wire, {e['decoded']:>7} B decoded  {e['url']}" for e in transfers)
    print(f"\nPatient detail page, first visit: {total:,} B in {len(transfers)} responses\n{report}")

    html = [e for e in transfers if "/detail/" in e["url"]]
    assert [encodings.get(e["url"]) for e in html] == ["gzip"], encodings  # the page too (GZipMiddleware)
    # whitenoise keeps no compressed variant of a file that compression would not shrink
    # (the 175-byte icon): every other static file comes compressed.
    static = [e for e in transfers if "/static/" in e["url"] and e["decoded"] > 1024]
    assert {Path(e["url"]).suffix for e in static} >= {".css", ".js"}, report
    # Compressed and hashed as in production: whitenoise's gzip (or brotli) variants.
    assert all(encodings.get(e["url"]) in {"gzip", "br"} for e in static), encodings
    assert all(0 < e["transfer"] < e["decoded"] for e in static), report
    assert total <= BUDGET_BYTES, report
