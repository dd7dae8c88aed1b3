"""Retention: `prune_access_events` deletes only events older than AUDIT_RETENTION_DAYS."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from freezegun import freeze_time

from telemedicine.models import AccessEvent

NOW = dt.datetime(2040, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def event_at(make_appointment, patient):
    visit = make_appointment()

    def make(moment):
        with freeze_time(moment):
            return AccessEvent.objects.create(user=patient, appointment=visit, action="room-opened")

    return make


def prune(*args):
    out = StringIO()
    with freeze_time(NOW):
        call_command("prune_access_events", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("days", [3650, 30])
def test_deletes_only_events_older_than_the_retention_period(settings, event_at, days):
    settings.AUDIT_RETENTION_DAYS = days
    cutoff = NOW - dt.timedelta(days=days)
    too_old = event_at(cutoff - dt.timedelta(seconds=1))
    at_cutoff = event_at(cutoff)
    recent = event_at(NOW - dt.timedelta(days=1))
    assert "Deleted 1 access events" in prune()
    assert set(AccessEvent.objects.values_list("pk", flat=True)) == {at_cutoff.pk, recent.pk}
    assert not AccessEvent.objects.filter(pk=too_old.pk).exists()


def test_default_keeps_ten_years(event_at):
    kept = event_at(NOW - dt.timedelta(days=3650))
    event_at(NOW - dt.timedelta(days=3650, seconds=1))
    prune()
    assert list(AccessEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_dry_run_deletes_nothing(settings, event_at):
    settings.AUDIT_RETENTION_DAYS = 30
    event_at(NOW - dt.timedelta(days=31))
    assert "1 access events older than" in prune("--dry-run")
    assert AccessEvent.objects.count() == 1


@pytest.mark.parametrize("days", [0, -1, "30", None, True])
def test_a_nonsense_retention_is_refused_before_anything_is_deleted(settings, event_at, days):
    settings.AUDIT_RETENTION_DAYS = days
    event_at(NOW - dt.timedelta(days=4000))
    with pytest.raises(CommandError, match="AUDIT_RETENTION_DAYS"):
        prune()
    assert AccessEvent.objects.count() == 1
