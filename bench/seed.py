"""
The bench's clinic: 20 doctors, 5,000 patients and 50,000 appointments over a year
(half before today, half after), written with bulk_create in a few seconds.

On top of the random year, two groups the bench measures:
- the *busy doctor* (doctors[0]) has 150 appointments today and more after today,
  so the dashboard shows 200 rows (150 today + the first page of 50 upcoming);
- 2,000 *waiting patients* each have a video visit whose call window is open for the
  whole run (it starts between 15 minutes ago and 8 minutes from now): their status
  card polls at the steady interval, marks their page as open (the waiting room) and
  keeps their session alive, as a patient waiting for the doctor does.
"""

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from appointments.clinic_time import clinic_now
from appointments.models import Appointment
from appointments.roles import DOCTORS_GROUP, PATIENTS_GROUP

DOCTORS = 20
PATIENTS = 5_000
APPOINTMENTS = 50_000
WAITING_PATIENTS = 2_000
BUSY_DOCTOR_TODAY = 150
BATCH = 2_000
PASSWORD = "bench-pass-2026"


def slot(rng: random.Random) -> dt.time:
    return dt.time(rng.randrange(8, 18), rng.choice((0, 15, 30, 45)))


@transaction.atomic
def seed_clinic(seed: int = 2026) -> dict:
    rng = random.Random(seed)
    User = get_user_model()
    if User.objects.filter(username="bench.doctor.0").exists():
        raise SystemExit("The bench database is not empty; the bench always starts from a fresh one.")
    password = make_password(PASSWORD)  # hashed once: 5,020 PBKDF2 rounds would take minutes
    doctors = User.objects.bulk_create(
        User(username=f"bench.doctor.{i}", first_name="Doctor", last_name=f"Number {i}", password=password)
        for i in range(DOCTORS)
    )
    patients = User.objects.bulk_create(
        (
            User(username=f"bench.patient.{i}", first_name="Patient", last_name=f"Number {i}", password=password)
            for i in range(PATIENTS)
        ),
        batch_size=BATCH,
    )
    Membership = User.groups.through
    doctors_group, patients_group = Group.objects.get(name=DOCTORS_GROUP), Group.objects.get(name=PATIENTS_GROUP)
    Membership.objects.bulk_create(
        [Membership(user_id=d.pk, group_id=doctors_group.pk) for d in doctors]
        + [Membership(user_id=p.pk, group_id=patients_group.pk) for p in patients],
        batch_size=BATCH,
    )

    now = clinic_now()
    today = now.date()
    statuses = [Appointment.Status.SCHEDULED] * 6 + [Appointment.Status.CONFIRMED] * 2
    past_statuses = [Appointment.Status.COMPLETED] * 8 + [Appointment.Status.CANCELLED]

    def appointment(doctor, patient, date, time, **fields):
        fields.setdefault("status", rng.choice(past_statuses if date < today else statuses))
        fields.setdefault("is_telemedicine", rng.random() < 0.4)
        return Appointment(doctor=doctor, patient=patient, date=date, time=time, description="Check-up", **fields)

    busy = doctors[0]
    special = [
        appointment(
            busy, patients[i], today, dt.time(7 + i // 15 % 12, (i % 15) * 4), status=Appointment.Status.SCHEDULED
        )
        for i in range(BUSY_DOCTOR_TODAY)
    ]
    # Waiting patients: a video visit whose window (10 minutes before the start to 30 after) is
    # open from now until at least 15 minutes from now, longer than the bench runs.
    waiting_patients = patients[1000 : 1000 + WAITING_PATIENTS]
    for i, patient in enumerate(waiting_patients):
        starts = now + dt.timedelta(minutes=-15 + (i * 7) % 24)
        special.append(
            appointment(
                doctors[1 + i % (DOCTORS - 1)],
                patient,
                starts.date(),
                starts.time().replace(second=0, microsecond=0),
                is_telemedicine=True,
                status=Appointment.Status.CONFIRMED,
            )
        )
    rest = APPOINTMENTS - len(special)
    randoms = (
        appointment(
            rng.choice(doctors), rng.choice(patients), today + dt.timedelta(days=rng.randrange(-182, 183)), slot(rng)
        )
        for _ in range(rest)
    )
    Appointment.objects.bulk_create(special, batch_size=BATCH)
    Appointment.objects.bulk_create(randoms, batch_size=BATCH)

    # bulk_create sets the primary keys on PostgreSQL and SQLite >= 3.35 alike.
    waiting = [(a.patient, a.pk) for a in special[BUSY_DOCTOR_TODAY:]]
    return {"busy_doctor": busy, "busy_patient": patients[0], "waiting": waiting, "today": today}


def session_for(user) -> str:
    """A logged-in session created server-side, as django.contrib.auth.login would; returns its key."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # The backend a password sign-in records (axes' backend only refuses; sesame's is for links).
    store[BACKEND_SESSION_KEY] = "appointments.auth_backends.CachedModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key
