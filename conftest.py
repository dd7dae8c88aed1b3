"""Fixtures shared by every test folder: the people of a small clinic and their appointments."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from appointments.models import Appointment
from appointments.roles import DOCTORS_GROUP, PATIENTS_GROUP

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Every test starts with empty rate-limit counters (and cached sessions): no test sees another's."""
    from django.core.cache import caches

    # The cache the test starts with, cleared again at its end even if the test pointed the
    # settings at a Redis of its own (which may be stopped by then, and dies with the test).
    cache = caches["default"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db, django_user_model):
    def make(username, group=None, **fields):
        user = django_user_model.objects.create_user(username=username, password=PASSWORD, **fields)
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    return make


@pytest.fixture
def doctor(make_user):
    return make_user("dr.house", DOCTORS_GROUP, first_name="Gregory", last_name="House")


@pytest.fixture
def other_doctor(make_user):
    return make_user("dr.wilson", DOCTORS_GROUP, first_name="James", last_name="Wilson")


@pytest.fixture
def patient(make_user):
    return make_user("pat", PATIENTS_GROUP, first_name="Pat", last_name="Ient")


@pytest.fixture
def other_patient(make_user):
    return make_user("stranger", PATIENTS_GROUP, first_name="Sam", last_name="Stranger")


@pytest.fixture
def staff(make_user):
    from django.contrib.auth.models import Permission

    user = make_user("manager", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__endswith="_appointment"))
    return user


@pytest.fixture
def make_appointment(db, doctor, patient):
    def make(starts_at=None, **fields):
        """An appointment for doctor+patient starting at `starts_at` (aware; clinic zone)."""
        if starts_at is not None:
            from django.utils import timezone

            local = timezone.localtime(starts_at)
            fields.setdefault("date", local.date())
            fields.setdefault("time", local.time().replace(microsecond=0))
        fields.setdefault("date", dt.date(2030, 1, 15))
        fields.setdefault("time", dt.time(10, 0))
        fields.setdefault("doctor", doctor)
        fields.setdefault("patient", patient)
        return Appointment.objects.create(**fields)

    return make


@pytest.fixture
def client_for(db):
    def login(user):
        client = Client()
        client.force_login(user)
        return client

    return login


def _running_redis(folder, *, persistent):
    from project.tests.servers import RedisServer

    server = RedisServer(folder, persistent=persistent)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path):
    """
    A redis-server of this test's own on loopback (Debian's; `make test` installs it),
    to stop(), start(), hang() and resume() at will (project/tests/servers.py).
    """
    yield from _running_redis(tmp_path / "redis", persistent=False)


@pytest.fixture
def persistent_redis_server(tmp_path):
    """The same, with an append-only file (appendonly yes): its data survives stop() and start()."""
    yield from _running_redis(tmp_path / "redis", persistent=True)


@pytest.fixture(autouse=True)
def clinic_details(settings):
    """The clinic as production must describe it (`check --deploy` warns without a phone number)."""
    settings.CLINIC_NAME = "Riverside Clinic"
    settings.CLINIC_PHONE = "020 7946 0000"  # Ofcom's range for drama: never a real line
    settings.CLINIC_ADDRESS = "1 River Street, London"
