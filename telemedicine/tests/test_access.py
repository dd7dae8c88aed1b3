import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from freezegun import freeze_time

from appointments.models import Appointment
from telemedicine.access import (
    Phase,
    Refusal,
    call_ends_in_seconds,
    call_phase,
    call_window,
    is_call_available,
    phase_changes,
    poll_delay_ms,
    polling_stops,
    room_access,
)
from telemedicine.tests.shortcuts import telemedicine

LONDON = ZoneInfo("Europe/London")
# 15 Jan 2030, 10:00 in London (GMT, UTC+0).
START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=LONDON)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def video_visit(make_appointment):
    return make_appointment(date=START.date(), time=START.time(), is_telemedicine=True)


@pytest.mark.parametrize(
    "moment,available",
    [
        (START - dt.timedelta(minutes=10) - SECOND, False),
        (START - dt.timedelta(minutes=10), True),  # opens, inclusive
        (START - dt.timedelta(minutes=10) + SECOND, True),
        (START, True),
        (START + dt.timedelta(minutes=30) - SECOND, True),
        (START + dt.timedelta(minutes=30), True),  # closes, inclusive
        (START + dt.timedelta(minutes=30) + SECOND, False),
    ],
)
def test_call_window_edges_are_inclusive(video_visit, moment, available):
    with freeze_time(moment):
        assert video_visit.is_available_for_call() is available
    assert is_call_available(video_visit, moment) is available


@pytest.mark.parametrize(
    "before,after,moment,available",
    [
        (5, 15, START - dt.timedelta(minutes=5) - SECOND, False),
        (5, 15, START - dt.timedelta(minutes=5), True),
        (5, 15, START + dt.timedelta(minutes=15), True),
        (5, 15, START + dt.timedelta(minutes=15) + SECOND, False),
        (0, 0, START, True),
        (0, 0, START + SECOND, False),
    ],
)
def test_custom_call_window_from_settings(video_visit, before, after, moment, available):
    with telemedicine(CALL_WINDOW_BEFORE=before, CALL_WINDOW_AFTER=after):
        assert is_call_available(video_visit, moment) is available


@pytest.mark.parametrize(
    "fields,phase",
    [
        ({"status": Appointment.Status.CANCELLED}, Phase.CANCELLED),
        ({"status": Appointment.Status.COMPLETED}, Phase.COMPLETED),
        ({"is_telemedicine": False}, Phase.IN_PERSON),
        ({"status": Appointment.Status.CONFIRMED}, Phase.OPEN),
    ],
)
def test_only_open_video_visits_are_available(make_appointment, fields, phase):
    appointment = make_appointment(date=START.date(), time=START.time(), **{"is_telemedicine": True, **fields})
    assert call_phase(appointment, START) is phase
    assert is_call_available(appointment, START) is (phase is Phase.OPEN)


def test_disabled_integration_withholds_every_call(video_visit):
    with telemedicine(ENABLE_JITSI_INTEGRATION=False):
        assert call_phase(video_visit, START) is Phase.DISABLED
        assert not video_visit.is_available_for_call(START)


@pytest.mark.parametrize(
    "moment,phase",
    [
        (START - dt.timedelta(minutes=10) - SECOND, Phase.WAITING),
        (START - dt.timedelta(minutes=10), Phase.OPEN),
        (START + dt.timedelta(minutes=30) + SECOND, Phase.ENDED),
    ],
)
def test_phase_follows_the_window(video_visit, moment, phase):
    assert call_phase(video_visit, moment) is phase


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"status": Appointment.Status.CONFIRMED},
        {"status": Appointment.Status.CANCELLED},
        {"status": Appointment.Status.COMPLETED},
        {"is_telemedicine": False},
    ],
)
@pytest.mark.parametrize("before,after", [(10, 30), (0, 0), (1440, 5)])
def test_the_phase_changes_only_at_its_changes(make_appointment, fields, before, after):
    """A list shows a visit's badge until its next phase_changes() moment: in between, nothing may change."""
    appointment = make_appointment(date=START.date(), time=START.time(), **{"is_telemedicine": True, **fields})
    with telemedicine(CALL_WINDOW_BEFORE=before, CALL_WINDOW_AFTER=after):
        changes = phase_changes(appointment)
        assert list(changes) == sorted(changes)
        tick = dt.timedelta(microseconds=1)
        moments = [START - dt.timedelta(days=3), *(m + step * tick for m in changes for step in (-1, 0, 1))]
        moments.append(START + dt.timedelta(days=3))
        for moment in moments:
            span_start = max([m for m in changes if m <= moment], default=moments[0])
            assert call_phase(appointment, moment) is call_phase(appointment, span_start), moment
        if fields.get("is_telemedicine", True) and fields.get("status") in (None, Appointment.Status.CONFIRMED):
            # A video visit's phase does change at each: the moments are exact, not merely safe.
            assert [call_phase(appointment, m) for m in changes] == [Phase.OPEN, Phase.ENDED]
            assert [call_phase(appointment, m - tick) for m in changes] == [Phase.WAITING, Phase.OPEN]


@override_settings(TIME_ZONE="Europe/London")
@pytest.mark.parametrize(
    "day,at,utc_start",
    [
        # Summer time (BST, UTC+1): 10:00 on the clinic's clock is 09:00 UTC.
        (dt.date(2030, 7, 1), dt.time(10, 0), dt.datetime(2030, 7, 1, 9, 0, tzinfo=dt.UTC)),
        # Winter (GMT): 10:00 is 10:00 UTC.
        (dt.date(2030, 1, 15), dt.time(10, 0), dt.datetime(2030, 1, 15, 10, 0, tzinfo=dt.UTC)),
        # The Sunday the clocks go forward (31 Mar 2030, 01:00 -> 02:00): 03:00 is BST.
        (dt.date(2030, 3, 31), dt.time(3, 0), dt.datetime(2030, 3, 31, 2, 0, tzinfo=dt.UTC)),
        # The autumn overlap (27 Oct 2030, 01:00-02:00 happens twice): the first one, BST.
        (dt.date(2030, 10, 27), dt.time(1, 30), dt.datetime(2030, 10, 27, 0, 30, tzinfo=dt.UTC)),
    ],
)
def test_window_follows_the_clinic_clock_across_dst(make_appointment, day, at, utc_start):
    appointment = make_appointment(date=day, time=at, is_telemedicine=True)
    window = call_window(appointment)
    assert window.opens_at == utc_start - dt.timedelta(minutes=10)
    assert window.closes_at == utc_start + dt.timedelta(minutes=30)
    assert not is_call_available(appointment, utc_start - dt.timedelta(minutes=10) - SECOND)
    assert is_call_available(appointment, utc_start - dt.timedelta(minutes=10))


@override_settings(TIME_ZONE="America/New_York")
def test_window_in_another_clinic_zone(make_appointment):
    appointment = make_appointment(date=dt.date(2030, 1, 15), time=dt.time(10, 0), is_telemedicine=True)
    # 10:00 EST is 15:00 UTC.
    assert call_window(appointment).opens_at == dt.datetime(2030, 1, 15, 14, 50, tzinfo=dt.UTC)


@pytest.mark.parametrize("who", ["doctor", "patient"])
def test_assigned_people_may_enter_inside_the_window(video_visit, request, who):
    access = room_access(request.getfixturevalue(who), video_visit, START)
    assert access.allowed
    assert access.reason == "granted"


@pytest.mark.parametrize("who", ["other_doctor", "other_patient", "staff"])
def test_nobody_else_may_enter_and_learns_nothing(video_visit, request, who):
    access = room_access(request.getfixturevalue(who), video_visit, START)
    assert not access.allowed
    assert access.refusal is Refusal.NOT_PARTICIPANT
    assert access.phase is None


def test_anonymous_user_may_not_enter(video_visit):
    from django.contrib.auth.models import AnonymousUser

    assert room_access(AnonymousUser(), video_visit, START).refusal is Refusal.NOT_PARTICIPANT


@pytest.mark.parametrize(
    "moment,fields,refusal",
    [
        (START - dt.timedelta(minutes=10) - SECOND, {}, Refusal.TOO_EARLY),
        (START + dt.timedelta(minutes=30) + SECOND, {}, Refusal.TOO_LATE),
        (START, {"is_telemedicine": False}, Refusal.IN_PERSON),
        (START, {"status": "cancelled"}, Refusal.CANCELLED),
        (START, {"status": "completed"}, Refusal.COMPLETED),
    ],
)
def test_refusals_say_why(make_appointment, patient, moment, fields, refusal):
    appointment = make_appointment(date=START.date(), time=START.time(), **{"is_telemedicine": True, **fields})
    access = room_access(patient, appointment, moment)
    assert not access.allowed
    assert access.refusal is refusal


class TestPolling:
    def test_waiting_card_asks_exactly_when_the_window_opens(self, video_visit):
        opens_at = call_window(video_visit).opens_at
        # 4.5 s before the opening: ask in 4.5 s (+ slack), not in a whole interval.
        assert poll_delay_ms(video_visit, Phase.WAITING, opens_at - dt.timedelta(milliseconds=4500)) == 4650

    def test_waiting_far_ahead_uses_the_steady_interval(self, video_visit):
        assert poll_delay_ms(video_visit, Phase.WAITING, START - dt.timedelta(hours=3)) == 10_000

    def test_open_card_asks_just_after_the_window_closes(self, video_visit):
        closes_at = call_window(video_visit).closes_at
        assert poll_delay_ms(video_visit, Phase.OPEN, closes_at - dt.timedelta(seconds=2)) == 3150

    def test_steady_interval_follows_settings(self, video_visit):
        with telemedicine(STATUS_POLL_INTERVAL=3):
            assert poll_delay_ms(video_visit, Phase.IN_PERSON, START) == 3000

    @pytest.mark.parametrize(
        "fields,moment,stops",
        [
            ({}, START, False),
            ({}, START + dt.timedelta(minutes=30), False),
            ({}, START + dt.timedelta(minutes=30) + SECOND, True),
            ({"status": "cancelled"}, START - dt.timedelta(days=1), True),
            ({"status": "completed"}, START, True),
            ({"is_telemedicine": False}, START, False),  # the doctor may still switch it on
            ({"is_telemedicine": False}, START + dt.timedelta(minutes=30) + SECOND, True),
        ],
    )
    def test_polling_stops_once_nothing_can_change(self, make_appointment, fields, moment, stops):
        appointment = make_appointment(date=START.date(), time=START.time(), **{"is_telemedicine": True, **fields})
        assert polling_stops(appointment, call_phase(appointment, moment), moment) is stops


class TestCallLength:
    def test_call_is_ended_at_auto_end_after_the_start(self, video_visit):
        # Opened at the start: AUTO_END_SESSION_AFTER (45) comes before MAX_SESSION_DURATION (60).
        assert call_ends_in_seconds(video_visit, START) == 45 * 60

    def test_call_opened_early_is_capped_by_max_duration(self, video_visit):
        with telemedicine(MAX_SESSION_DURATION=20):
            assert call_ends_in_seconds(video_visit, START - dt.timedelta(minutes=10)) == 20 * 60

    def test_never_negative(self, video_visit):
        assert call_ends_in_seconds(video_visit, START + dt.timedelta(hours=5)) == 0


@override_settings(TIME_ZONE="Europe/London")
def test_window_across_the_autumn_change_is_measured_in_real_minutes(make_appointment):
    # 01:30 BST on 27 Oct 2030; 30 real minutes later the clock shows 01:00 GMT, not 02:00.
    appointment = make_appointment(date=dt.date(2030, 10, 27), time=dt.time(1, 30), is_telemedicine=True)
    assert call_window(appointment).closes_at == dt.datetime(2030, 10, 27, 1, 0, tzinfo=dt.UTC)


# --- Which status-card polls keep a session alive (issue 16: an unattended screen) -------

OPENS = START - dt.timedelta(minutes=10)
CLOSES = START + dt.timedelta(minutes=30)
LEAD = dt.timedelta(minutes=60)


@pytest.mark.parametrize(
    "moment,keeps_alive",
    [
        (OPENS - LEAD - SECOND, False),
        (OPENS - LEAD, True),  # the lead time, inclusive
        (OPENS - LEAD + SECOND, True),
        (OPENS, True),
        (START, True),
        (CLOSES, True),  # the window's close, inclusive
        (CLOSES + SECOND, False),
        (START - dt.timedelta(days=3), False),
    ],
)
def test_a_poll_keeps_the_session_alive_only_while_the_visit_is_near_or_open(video_visit, moment, keeps_alive):
    from telemedicine.access import poll_keeps_session_alive

    assert poll_keeps_session_alive(video_visit, moment) is keeps_alive


@pytest.mark.parametrize(
    "lead,moment,keeps_alive",
    [
        (15, OPENS - dt.timedelta(minutes=15), True),
        (15, OPENS - dt.timedelta(minutes=15) - SECOND, False),
        (0, OPENS, True),
        (0, OPENS - SECOND, False),
    ],
)
def test_the_lead_time_follows_the_setting(video_visit, lead, moment, keeps_alive):
    from telemedicine.access import poll_keeps_session_alive

    with telemedicine(SESSION_KEEPALIVE_LEAD=lead):
        assert poll_keeps_session_alive(video_visit, moment) is keeps_alive


@pytest.mark.parametrize("status", [Appointment.Status.CANCELLED, Appointment.Status.COMPLETED])
def test_a_closed_visit_never_keeps_the_session_alive(make_appointment, status):
    from telemedicine.access import poll_keeps_session_alive

    visit = make_appointment(date=START.date(), time=START.time(), is_telemedicine=True, status=status)
    assert poll_keeps_session_alive(visit, START) is False
