"""
The clinic's emails: one for every change that matters to the patient, made when sent,
with a calendar file, never carrying the reason, a room name or a token; sent once,
retried while the mail server is down, reminders at their exact edges.
"""

import datetime as dt
import re
import smtplib
import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time
from icalendar import Calendar

from appointments import notifications
from appointments.clinic_time import clinic_datetime
from appointments.models import Appointment, Notification
from appointments.notifications import deliver, queue_due_reminders, retry_delay, sweep

Kind = Notification.Kind
Status = Notification.Status

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))  # 10:00 London time (GMT)
BEFORE = START - dt.timedelta(days=3)
REASON = "Recurring migraine, private"


@pytest.fixture
def patient(make_user):
    from appointments.roles import PATIENTS_GROUP

    return make_user("pat", PATIENTS_GROUP, first_name="Pat", last_name="Ient", email="pat@example.org")


@pytest.fixture
def visit(make_appointment, patient):
    return make_appointment(starts_at=START, is_telemedicine=True, description=REASON, patient=patient)


def sent_now(now=None):
    """Run every owed email through deliver(), as the worker does; returns the outbox."""
    for pk in Notification.objects.filter(status=Status.PENDING).values_list("pk", flat=True):
        deliver(pk, now)
    return mail.outbox


def calendar_of(message) -> Calendar:
    [(_name, content, _mimetype)] = [a for a in message.attachments if a[0] == "appointment.ics"]
    return Calendar.from_ical(content)


def event_of(message):
    [event] = calendar_of(message).walk("VEVENT")
    return event


def every_text(message) -> str:
    """Subject, both bodies and every attachment, as a reader (or a leak) would see them."""
    parts = [message.subject, message.body, *(content for content, _ in message.alternatives)]
    parts += [content.decode() if isinstance(content, bytes) else content for _, content, _ in message.attachments]
    return "\n".join(parts)


class TestEveryChangeTellsThePatient:
    def schedule(self, client, patient, **changes):
        form = {
            "patient": patient.pk,
            "date": "2030-01-15",
            "time": "10:00",
            "description": REASON,
            "visit_kind": "video",
            **changes,
        }
        return client.post(reverse("appointments:schedule"), form)

    @freeze_time(BEFORE)
    def test_scheduling_sends_the_invitation_after_the_commit(
        self, client_for, doctor, patient, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            self.schedule(client_for(doctor), patient)
        notification = Notification.objects.get()
        assert (notification.kind, notification.email, notification.status) == (
            Kind.INVITATION,
            patient.email,
            "pending",
        )
        # Enqueued once the transaction committed, not before (other commit hooks may run too).
        enqueues = [c for c in callbacks if getattr(c, "args", None) == (notification.pk,)]
        assert len(enqueues) == 1
        [task] = DBTaskResult.objects.all()
        assert task.task_path == "appointments.tasks.send_notification"
        assert task.args_kwargs == {"args": [notification.pk], "kwargs": {}}
        assert mail.outbox == []  # never sent from inside the request

    @freeze_time(BEFORE)
    def test_the_invitation(self, client_for, doctor, patient):
        self.schedule(client_for(doctor), patient)
        [message] = sent_now()
        assert message.to == ["pat@example.org"]
        assert message.subject == "Your appointment on Tue 15 Jan 2030 at 10:00 London time"
        assert "Dr Gregory House" in message.body
        assert "Tue 15 Jan 2030 at 10:00 London time" in message.body
        assert "a video visit" in message.body
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html"
        assert "Dr Gregory House" in html
        assert "http://127.0.0.1:8000/telemedicine/sign-in/" in message.body
        assert "http://127.0.0.1:8000/telemedicine/device-check/" in message.body  # a video visit
        assert Notification.objects.get().status == Status.SENT

    @freeze_time(BEFORE)
    def test_the_calendar_file(self, client_for, doctor, patient):
        self.schedule(client_for(doctor), patient)
        [message] = sent_now()
        calendar = calendar_of(message)
        event = event_of(message)
        appointment = Appointment.objects.get()
        assert calendar["METHOD"] == "REQUEST"
        assert calendar["VERSION"] == "2.0"
        assert calendar["PRODID"]
        assert str(event["UID"]) == f"appointment-{appointment.pk}@127.0.0.1"
        assert event["SEQUENCE"] == 0
        assert event.decoded("DTSTART") == START
        assert event.decoded("DTEND") == START + dt.timedelta(minutes=30)
        assert str(event["URL"]) == f"http://127.0.0.1:8000{appointment.get_absolute_url()}"
        assert str(event["STATUS"]) == "CONFIRMED"
        assert event["DTSTAMP"]
        assert "Dr Gregory House" in str(event["SUMMARY"])

    def test_a_move_gets_the_same_uid_a_higher_sequence_and_the_new_time(self, client_for, doctor, visit):
        with freeze_time(BEFORE):
            client = client_for(doctor)
            response = client.post(
                reverse("appointments:reschedule", args=[visit.pk]), {"date": "2030-01-16", "time": "11:30"}
            )
            assert response.status_code == 302
            [message] = sent_now()
        assert message.subject == "Your appointment has moved to Wed 16 Jan 2030 at 11:30 London time"
        event = event_of(message)
        assert str(event["UID"]) == f"appointment-{visit.pk}@127.0.0.1"
        assert event["SEQUENCE"] == 1
        assert event.decoded("DTSTART") == clinic_datetime(dt.date(2030, 1, 16), dt.time(11, 30))

    @pytest.mark.parametrize(
        "start_as_video,posted,kind,subject",
        [
            (False, {"enabled": "on"}, Kind.VIDEO_ON, "is now a video visit"),
            (True, {}, Kind.VIDEO_OFF, "is now at the clinic"),
        ],
    )
    def test_switching_video_on_or_off(self, client_for, doctor, visit, start_as_video, posted, kind, subject):
        Appointment.objects.filter(pk=visit.pk).update(is_telemedicine=start_as_video)
        with freeze_time(BEFORE):
            client_for(doctor).post(reverse("telemedicine:toggle-telemedicine", args=[visit.pk]), posted)
            [message] = sent_now()
        assert Notification.objects.get().kind == kind
        assert subject in message.subject
        assert event_of(message)["SEQUENCE"] == 1

    def test_switching_to_what_it_already_is_sends_nothing(self, client_for, doctor, visit):
        with freeze_time(BEFORE):
            client_for(doctor).post(reverse("telemedicine:toggle-telemedicine", args=[visit.pk]), {"enabled": "on"})
        assert not Notification.objects.exists()

    def test_cancelling_an_announced_visit_cancels_it_in_the_calendar(self, client_for, doctor, visit):
        """Cancellations need no sign-in link: there is nothing left to open."""
        with freeze_time(BEFORE):
            notifications.notify(visit, Kind.INVITATION)
            sent_now()
            client_for(doctor).post(reverse("appointments:cancel", args=[visit.pk]))
            invitation, cancellation = sent_now()
        assert cancellation.subject == "Your appointment on Tue 15 Jan 2030 at 10:00 London time is cancelled"
        calendar = calendar_of(cancellation)
        event = event_of(cancellation)
        assert calendar["METHOD"] == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == str(event_of(invitation)["UID"])
        assert event["SEQUENCE"] > event_of(invitation)["SEQUENCE"]
        assert "sign-in" not in cancellation.body

    def test_an_invitation_still_waiting_when_the_visit_is_cancelled_is_not_sent(self, client_for, doctor, visit):
        with freeze_time(BEFORE):
            notifications.notify(visit, Kind.INVITATION)
            client_for(doctor).post(reverse("appointments:cancel", args=[visit.pk]))
            assert sent_now() == []
        outcomes = dict(Notification.objects.values_list("kind", "outcome"))
        assert set(Notification.objects.values_list("status", flat=True)) == {Status.DROPPED}
        assert "cancelled before this went out" in outcomes[Kind.INVITATION]
        assert "before it was announced" in outcomes[Kind.CANCELLED]

    @freeze_time(BEFORE)
    def test_a_patient_without_an_address_is_not_written_to(self, visit, patient):
        patient.email = ""
        patient.save()
        assert notifications.notify(visit, Kind.INVITATION) is None
        assert not Notification.objects.exists()


class TestWhatAnEmailNeverCarries:
    @pytest.mark.parametrize(
        "kind,now,changes",
        [
            (Kind.INVITATION, BEFORE, {}),
            (Kind.RESCHEDULED, BEFORE, {}),
            (Kind.VIDEO_ON, BEFORE, {}),
            (Kind.VIDEO_OFF, BEFORE, {"is_telemedicine": False}),
            (Kind.REMINDER, START - dt.timedelta(hours=24), {}),
            (Kind.CALL_OPEN, START - dt.timedelta(minutes=5), {}),
            (Kind.SIGN_IN_LINK, BEFORE, {}),
        ],
    )
    def test_no_reason_no_room_no_token(self, visit, kind, now, changes):
        room = visit.get_jitsi_room_name()
        Appointment.objects.filter(pk=visit.pk).update(**changes)
        with freeze_time(now):
            notifications.notify(visit, kind)
            if kind in Notification.REMINDER_KINDS:
                Notification.objects.update(reminder_for=visit.starts_at)
            [message] = sent_now()
        text = every_text(message)
        assert REASON not in text
        assert room not in text
        assert "eyJ" not in text  # the start of any JWT
        assert "jwt" not in text.lower()

    @freeze_time(BEFORE)
    def test_the_calendar_file_carries_no_sign_in_link(self, visit):
        notifications.notify(visit, Kind.INVITATION)
        [message] = sent_now()
        assert "/sign-in/" in message.body
        [(_, content, _)] = message.attachments
        assert "/sign-in/" not in content
        assert str(event_of(message)["URL"]).endswith(visit.get_absolute_url())


class TestNewPatients:
    FORM = {
        "patient_is": "new",
        "first_name": "Nora",
        "last_name": "New",
        "email": "Nora.New@Example.org",
        "phone": "+44 20 7946 0000",
        "date": "2030-01-20",
        "time": "09:30",
        "description": "",
        "visit_kind": "clinic",
    }

    @freeze_time(BEFORE)
    def test_a_new_patient_is_added_and_invited(self, client_for, doctor, django_user_model):
        response = client_for(doctor).post(reverse("appointments:schedule"), self.FORM)
        assert response.status_code == 302
        nora = django_user_model.objects.get(username="nora.new@example.org")
        assert (nora.first_name, nora.last_name, nora.username) == ("Nora", "New", "nora.new@example.org")
        assert nora.is_active
        assert not nora.has_usable_password()
        assert list(nora.groups.values_list("name", flat=True)) == ["Patients"]
        assert nora.patient_profile.phone == "+44 20 7946 0000"
        assert Appointment.objects.get().patient == nora
        [message] = sent_now()
        assert message.to == ["Nora.New@example.org"]  # the domain lowercased, as Django stores it
        assert "Dear Nora" in message.body

    @freeze_time(BEFORE)
    @pytest.mark.parametrize("address", ["pat@example.org", "PAT@EXAMPLE.ORG", " Pat@Example.org "])
    def test_an_address_already_a_patients_is_refused_naming_them(self, client_for, doctor, patient, address):
        response = client_for(doctor).post(reverse("appointments:schedule"), self.FORM | {"email": address})
        assert response.status_code == 400
        assert "Pat Ient already has this address" in response.context["form"].errors["email"][0]
        assert not Appointment.objects.exists()
        assert not Notification.objects.exists()
        assert not type(patient).objects.filter(first_name="Nora").exists()

    @freeze_time(BEFORE)
    @pytest.mark.parametrize("missing", ["first_name", "last_name", "email"])
    def test_a_new_patient_needs_a_name_and_an_address(self, client_for, doctor, missing, django_user_model):
        users = django_user_model.objects.count()
        response = client_for(doctor).post(reverse("appointments:schedule"), self.FORM | {missing: ""})
        assert response.status_code == 400
        assert response.context["form"].errors[missing] == ["Needed for a new patient."]
        assert django_user_model.objects.count() == users
        assert not Notification.objects.exists()

    @freeze_time(BEFORE)
    def test_a_bad_slot_adds_no_patient(self, client_for, doctor, django_user_model):
        users = django_user_model.objects.count()
        response = client_for(doctor).post(reverse("appointments:schedule"), self.FORM | {"date": "2020-01-01"})
        assert response.status_code == 400
        assert django_user_model.objects.count() == users

    @freeze_time(BEFORE)
    def test_the_same_new_patient_twice_at_once_is_one_account(self, client_for, doctor, django_user_model):
        """The check passes for both forms; the database's unique username stops the second."""
        from appointments.forms import create_patient

        create_patient(first_name="Nora", last_name="New", email="nora.new@example.org")
        client = client_for(doctor)
        # The form's own check would catch it: make it look away, as a concurrent form would.
        from appointments import forms

        original = forms.patients
        forms.patients = lambda: django_user_model.objects.none()
        try:
            response = client.post(reverse("appointments:schedule"), self.FORM | {"email": "nora.new@example.org"})
        finally:
            forms.patients = original
        assert response.status_code == 400
        assert django_user_model.objects.filter(email__iexact="nora.new@example.org").count() == 1
        assert not Appointment.objects.exists()


class TestReschedule:
    @freeze_time(BEFORE)
    @pytest.mark.parametrize(
        "form,field,message",
        [
            ({"date": "2020-01-01", "time": "10:00"}, "date", "has passed"),
            ({"date": "2030-03-31", "time": "01:30"}, "time", "does not exist"),
            ({"date": "2030-01-15", "time": "10:00"}, "__all__", "current date and time"),
            ({"date": "", "time": "10:00"}, "date", "required"),
        ],
    )
    def test_the_same_rules_as_scheduling(self, client_for, doctor, visit, form, field, message):
        response = client_for(doctor).post(reverse("appointments:reschedule", args=[visit.pk]), form)
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors[field])
        visit.refresh_from_db()
        assert (visit.date, visit.time, visit.sequence) == (dt.date(2030, 1, 15), dt.time(10, 0), 0)
        assert not Notification.objects.exists()

    @freeze_time(BEFORE)
    def test_a_clash_with_the_doctors_other_visit(self, client_for, doctor, visit, make_appointment):
        make_appointment(date=dt.date(2030, 1, 16), time=dt.time(9, 0))
        response = client_for(doctor).post(
            reverse("appointments:reschedule", args=[visit.pk]), {"date": "2030-01-16", "time": "09:00"}
        )
        assert response.status_code == 400
        assert "Dr Gregory House already sees Pat Ient at 09:00" in response.context["form"].errors["time"][0]

    @freeze_time(BEFORE)
    @pytest.mark.parametrize(
        "form,detail",
        [
            ({"date": "2030-01-16", "time": "10:00"}, "date: 2030-01-15 -> 2030-01-16"),
            # In the admin's notation too (test_admin): one audit trail, one way to write a time.
            ({"date": "2030-01-15", "time": "11:30"}, "time: 10:00:00 -> 11:30:00"),
        ],
    )
    def test_the_move_is_audited(self, client_for, doctor, visit, form, detail):
        from telemedicine.models import AccessEvent

        client_for(doctor).post(reverse("appointments:reschedule", args=[visit.pk]), form)
        event = AccessEvent.objects.get(action="appointment-changed")
        assert (event.reason, event.detail) == ("rescheduled", detail)

    @freeze_time(BEFORE)
    @pytest.mark.parametrize(
        "email,told", [("pat@example.org", "is told by email"), ("", "has no email address: please tell them yourself")]
    )
    def test_the_page_and_the_message_say_whether_the_patient_is_told(self, client_for, doctor, visit, email, told):
        visit.patient.email = email
        visit.patient.save()
        client = client_for(doctor)
        assert told in client.get(reverse("appointments:reschedule", args=[visit.pk])).content.decode()
        response = client.post(
            reverse("appointments:reschedule", args=[visit.pk]), {"date": "2030-01-16", "time": "10:00"}, follow=True
        )
        assert told in " ".join(str(message) for message in response.context["messages"])

    @freeze_time(BEFORE)
    def test_a_closed_visit_does_not_move(self, client_for, doctor, visit):
        Appointment.objects.filter(pk=visit.pk).update(status="cancelled")
        response = client_for(doctor).post(
            reverse("appointments:reschedule", args=[visit.pk]), {"date": "2030-01-16", "time": "10:00"}
        )
        assert response.status_code == 302
        assert Appointment.objects.get(pk=visit.pk).date == dt.date(2030, 1, 15)


class TestReminders:
    """The day-before reminder and the video visit's 'join now', each at its exact moment."""

    DUE = START - dt.timedelta(hours=24)
    OPENS = START - dt.timedelta(minutes=10)
    CLOSES = START + dt.timedelta(minutes=30)

    @pytest.fixture
    def announced(self, visit):
        with freeze_time(BEFORE):
            notifications.notify(visit, Kind.INVITATION)
            sent_now()
        mail.outbox.clear()
        return visit

    def kinds_queued(self, now):
        return sorted(notification.kind for notification in queue_due_reminders(now))

    @pytest.mark.parametrize(
        "now,expected",
        [
            (DUE - dt.timedelta(seconds=1), []),
            (DUE, [Kind.REMINDER]),
            (DUE + dt.timedelta(hours=6) - dt.timedelta(seconds=1), [Kind.REMINDER]),
            (DUE + dt.timedelta(hours=6), []),  # too late to help
            (OPENS - dt.timedelta(seconds=1), []),
            (OPENS, [Kind.CALL_OPEN]),
            (CLOSES - dt.timedelta(seconds=1), [Kind.CALL_OPEN]),
            (CLOSES, []),  # the window has closed
        ],
    )
    def test_due_at_its_moment_and_not_after_it_can_help(self, announced, now, expected):
        with freeze_time(now):
            assert self.kinds_queued(now) == expected

    def test_each_reminder_once_however_often_the_sweep_runs(self, announced):
        with freeze_time(self.DUE):
            assert self.kinds_queued(self.DUE) == [Kind.REMINDER]
            assert self.kinds_queued(self.DUE + dt.timedelta(minutes=1)) == []
        assert Notification.objects.filter(kind=Kind.REMINDER).count() == 1

    def test_the_database_refuses_a_second_reminder_for_the_same_start(self, announced):
        from django.db import IntegrityError, transaction

        fields = {"appointment": announced, "kind": Kind.REMINDER, "email": "x@example.org", "reminder_for": START}
        Notification.objects.create(**fields)
        with pytest.raises(IntegrityError), transaction.atomic():
            Notification.objects.create(**fields)

    @pytest.mark.parametrize("status", ["cancelled", "completed"])
    def test_never_for_a_closed_visit(self, announced, status):
        Appointment.objects.filter(pk=announced.pk).update(status=status)
        with freeze_time(self.OPENS):
            assert self.kinds_queued(self.OPENS) == []

    def test_an_in_person_visit_gets_no_join_now(self, announced):
        Appointment.objects.filter(pk=announced.pk).update(is_telemedicine=False)
        with freeze_time(self.OPENS):
            assert self.kinds_queued(self.OPENS) == []

    def test_a_moved_visit_is_reminded_of_its_new_time_and_the_old_reminder_is_dropped(self, announced):
        with freeze_time(self.DUE):
            queue_due_reminders(self.DUE)  # written, not yet sent
        moved_by_a_day = START + dt.timedelta(days=1)
        Appointment.objects.filter(pk=announced.pk).update(date=moved_by_a_day.date(), sequence=1)
        with freeze_time(self.DUE + dt.timedelta(minutes=5)):
            assert sent_now() == []
        old = Notification.objects.get(kind=Kind.REMINDER)
        assert (old.status, old.outcome) == (
            Status.DROPPED,
            "the appointment was rescheduled: the reminder of the new time replaces it",
        )
        new_due = moved_by_a_day - dt.timedelta(hours=24)
        with freeze_time(new_due):
            assert self.kinds_queued(new_due) == [Kind.REMINDER]
            [message] = sent_now()
        assert message.subject == "Reminder: your appointment on Wed 16 Jan 2030 at 10:00 London time"

    def test_a_visit_booked_after_the_reminders_moment_gets_none(self, visit):
        with freeze_time(self.DUE + dt.timedelta(hours=1)):
            notifications.notify(visit, Kind.INVITATION)  # booked 23 hours ahead: the invitation says it all
            assert self.kinds_queued(self.DUE + dt.timedelta(hours=1)) == []

    def test_a_reminder_written_in_time_but_sent_too_late_is_dropped(self, announced):
        with freeze_time(self.OPENS):
            queue_due_reminders(self.OPENS)
        with freeze_time(self.CLOSES):
            assert sent_now() == []
        assert Notification.objects.get(kind=Kind.CALL_OPEN).outcome == "too late for the reminder to help"

    @freeze_time(OPENS)
    def test_the_join_now_email(self, announced):
        queue_due_reminders(self.OPENS)
        [message] = sent_now()
        assert message.subject == "Your video visit is open: join now"
        assert "/sign-in/" in message.body


class FailingBackend:
    """An EMAIL_BACKEND whose mail server does not answer."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class TestWhenTheMailServerIsDown:
    @pytest.fixture
    def server_down(self, settings):
        settings.EMAIL_BACKEND = "appointments.tests.test_notifications.FailingBackend"

    def test_a_failed_send_waits_and_is_tried_again_later(self, visit, server_down, settings):
        with freeze_time(BEFORE):
            notification = notifications.notify(visit, Kind.INVITATION)
            assert deliver(notification.pk) == Status.PENDING
        notification.refresh_from_db()
        assert (notification.attempts, notification.next_attempt_at) == (1, BEFORE + dt.timedelta(minutes=1))
        assert notification.outcome == "SMTPServerDisconnected: the mail server could not be reached or did not answer"
        with freeze_time(BEFORE + dt.timedelta(seconds=59)):
            assert sweep()["enqueued"] == 0
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        with freeze_time(BEFORE + dt.timedelta(minutes=1)):
            assert sweep()["enqueued"] == 1
            assert deliver(notification.pk) == Status.SENT
        assert len(mail.outbox) == 1

    @pytest.mark.parametrize("attempts,minutes", [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (20, 60)])
    def test_the_delay_grows_to_an_hour(self, attempts, minutes):
        assert retry_delay(attempts) == dt.timedelta(minutes=minutes)

    def test_after_the_retry_period_it_is_given_up_and_says_why(self, visit, server_down, settings):
        with freeze_time(BEFORE):
            notification = notifications.notify(visit, Kind.INVITATION)
        give_up = BEFORE + dt.timedelta(hours=settings.NOTIFICATIONS["RETRY_FOR_HOURS"])
        with freeze_time(give_up - dt.timedelta(seconds=1)):
            assert deliver(notification.pk) == Status.PENDING
        Notification.objects.filter(pk=notification.pk).update(next_attempt_at=give_up)
        with freeze_time(give_up):
            assert deliver(notification.pk) == Status.FAILED
        assert Notification.objects.get().outcome.startswith("SMTPServerDisconnected")


class TestNeverTwiceNeverLost:
    @freeze_time(BEFORE)
    def test_a_notification_is_claimed_by_one_worker_only(self, visit):
        notification = notifications.notify(visit, Kind.INVITATION)
        assert Notification.objects.claim(notification.pk, BEFORE)
        assert not Notification.objects.claim(notification.pk, BEFORE)
        assert deliver(notification.pk) == "not pending"
        assert mail.outbox == []

    @pytest.mark.django_db(transaction=True)
    def test_several_workers_at_once_send_one_email(self, make_appointment, patient):
        visit = make_appointment(starts_at=START, is_telemedicine=True, patient=patient)
        with freeze_time(BEFORE):
            notification = notifications.notify(visit, Kind.INVITATION)
        barrier = threading.Barrier(4)
        results = []

        def worker():
            barrier.wait()
            try:
                results.append(deliver(notification.pk, BEFORE))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ["not pending"] * 3 + [Status.SENT]
        assert len(mail.outbox) == 1

    def test_a_crash_between_the_commit_and_the_enqueue_loses_nothing(self, visit):
        """The row was committed but its task never enqueued: the sweep finds it a minute later."""
        with freeze_time(BEFORE):
            notification = Notification.objects.create(appointment=visit, kind=Kind.INVITATION, email="pat@example.org")
            assert sweep()["enqueued"] == 0  # the enqueue at the commit gets its minute first
        with freeze_time(BEFORE + dt.timedelta(minutes=1)):
            assert sweep()["enqueued"] == 1
            [task] = DBTaskResult.objects.filter(args_kwargs__args=[notification.pk])
            assert task.task_path == "appointments.tasks.send_notification"
            deliver(notification.pk)
        assert len(mail.outbox) == 1

    def test_a_send_that_crashed_is_handed_back(self, visit):
        with freeze_time(BEFORE):
            notification = notifications.notify(visit, Kind.INVITATION)
            Notification.objects.claim(notification.pk, BEFORE)  # ...and the worker died
        with freeze_time(BEFORE + dt.timedelta(minutes=10)):
            assert sweep()["recovered"] == 1
            assert deliver(notification.pk) == Status.SENT

    def test_a_send_still_running_is_left_alone(self, visit):
        with freeze_time(BEFORE):
            notification = notifications.notify(visit, Kind.INVITATION)
            Notification.objects.claim(notification.pk, BEFORE)
        with freeze_time(BEFORE + dt.timedelta(minutes=10) - dt.timedelta(seconds=1)):
            assert sweep()["recovered"] == 0


@freeze_time(BEFORE)
def test_the_admin_shows_what_was_sent_to_whom(client_for, staff, visit, settings):
    from django.contrib.auth.models import Permission

    settings.EMAIL_BACKEND = "appointments.tests.test_notifications.FailingBackend"
    notification = notifications.notify(visit, Kind.INVITATION)
    deliver(notification.pk)
    html = client_for(staff).get(reverse("admin:appointments_appointment_change", args=[visit.pk])).content.decode()
    assert "Invitation" in html
    assert "pat@example.org" in html
    assert "Waiting to be sent" in html
    assert "SMTPServerDisconnected" in html
    # The admin form shows the reason only to staff allowed to read reasons; the emails never do.
    assert REASON not in html
    staff.user_permissions.add(Permission.objects.get(codename="view_reason"))
    html = client_for(staff).get(reverse("admin:appointments_appointment_change", args=[visit.pk])).content.decode()
    assert REASON in html
    staff.user_permissions.add(Permission.objects.get(codename="view_notification"))
    listing = client_for(staff).get(reverse("admin:appointments_notification_changelist")).content.decode()
    assert "pat@example.org" in listing
    assert re.search(r"<td[^>]*>\s*1\s*</td>", listing)  # one attempt
