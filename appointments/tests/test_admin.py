"""
The admin's appointment form (issue 16, finding 5): clinic staff choose the doctor
among active doctors and the patient among active patients, every change of people,
date, time or status is announced inside the admin's transaction (so the audit trail
records it), and a change of people gives the visit a new room.
"""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from freezegun import freeze_time

from appointments.models import Appointment
from appointments.signals import Change, appointment_changed

DAY = dt.date(2030, 1, 15)
DURING_THE_VISIT = dt.datetime(2030, 1, 15, 10, 5, tzinfo=dt.UTC)  # 10:05 on the clinic's clock (GMT)


@pytest.fixture
def appointment(make_appointment):
    return make_appointment(date=DAY, time=dt.time(10, 0), is_telemedicine=True, description="Follow-up")


@pytest.fixture
def during_the_visit():
    """The clock at 10:05 on the visit's day (before the other fixtures log in): it may be marked completed."""
    with freeze_time(DURING_THE_VISIT):
        yield


@pytest.fixture
def staff_client(client_for, staff):
    return client_for(staff)


@pytest.fixture
def announcements():
    """Every announce() made, with whether it ran inside a transaction."""
    heard = []

    def listen(sender, appointment, change, actor, request, fields, **kwargs):
        heard.append((change, fields, actor.pk if actor else None, connection.in_atomic_block))

    appointment_changed.connect(listen, dispatch_uid="test-admin-announcements")
    yield heard
    appointment_changed.disconnect(dispatch_uid="test-admin-announcements")


def form_data(appointment, **changes):
    data = {
        "patient": appointment.patient_id,
        "doctor": appointment.doctor_id,
        "date": appointment.date.isoformat(),
        "time": appointment.time.isoformat(),
        "description": appointment.description,
        "status": appointment.status,
        "is_telemedicine": "on" if appointment.is_telemedicine else "",
        "_save": "Save",
    }
    return {**data, **changes}


def change_url(appointment):
    return reverse("admin:appointments_appointment_change", args=[appointment.pk])


def post_change(client, appointment, **changes):
    return client.post(change_url(appointment), form_data(appointment, **changes))


@pytest.mark.parametrize(
    "field,who",
    [
        ("doctor", "staff"),  # staff making themselves the doctor
        ("doctor", "patient"),
        ("doctor", "inactive_doctor"),
        ("patient", "other_doctor"),
        ("patient", "staff"),
        ("patient", "inactive_patient"),
    ],
)
def test_staff_can_only_choose_active_doctors_and_patients(
    field, who, appointment, staff_client, request, make_user, announcements
):
    from appointments.roles import DOCTORS_GROUP, PATIENTS_GROUP

    people = {
        "inactive_doctor": lambda: make_user("dr.gone", DOCTORS_GROUP, is_active=False),
        "inactive_patient": lambda: make_user("gone", PATIENTS_GROUP, is_active=False),
    }
    person = people[who]() if who in people else request.getfixturevalue(who)
    before = Appointment.objects.values().get(pk=appointment.pk)
    response = post_change(staff_client, appointment, **{field: person.pk})
    assert response.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in response.content.decode()
    assert Appointment.objects.values().get(pk=appointment.pk) == before
    assert announcements == []


def test_the_form_offers_only_active_doctors_and_patients(appointment, staff_client, other_doctor, other_patient):
    form = staff_client.get(change_url(appointment)).context["adminform"].form
    doctors = {user.username for user in form.fields["doctor"].queryset}
    patients = {user.username for user in form.fields["patient"].queryset}
    assert doctors == {"dr.house", "dr.wilson"}
    assert patients == {"pat", "stranger"}


def test_a_person_is_named_as_the_clinic_names_them(appointment, staff_client):
    page = staff_client.get(change_url(appointment)).content.decode()
    assert "Gregory House (dr.house)" in page


@pytest.mark.parametrize(
    "changes,announced",
    [
        ({"doctor": "other_doctor"}, [(Change.PEOPLE_CHANGED, {"doctor": ("doctor", "other_doctor")})]),
        ({"patient": "other_patient"}, [(Change.PEOPLE_CHANGED, {"patient": ("patient", "other_patient")})]),
        ({"date": "2030-01-16"}, [(Change.RESCHEDULED, {"date": ("2030-01-15", "2030-01-16")})]),
        ({"time": "11:30"}, [(Change.RESCHEDULED, {"time": ("10:00:00", "11:30:00")})]),
        (
            {"date": "2030-01-16", "time": "11:30"},
            [(Change.RESCHEDULED, {"date": ("2030-01-15", "2030-01-16"), "time": ("10:00:00", "11:30:00")})],
        ),
        ({"status": "cancelled"}, [(Change.CANCELLED, {"status": ("scheduled", "cancelled")})]),
        ({"status": "completed"}, [(Change.COMPLETED, {"status": ("scheduled", "completed")})]),
        ({"status": "confirmed"}, [(Change.STATUS_CHANGED, {"status": ("scheduled", "confirmed")})]),
        (
            {"doctor": "other_doctor", "date": "2030-01-16", "status": "confirmed"},
            [
                (Change.PEOPLE_CHANGED, {"doctor": ("doctor", "other_doctor")}),
                (Change.RESCHEDULED, {"date": ("2030-01-15", "2030-01-16")}),
                (Change.STATUS_CHANGED, {"status": ("scheduled", "confirmed")}),
            ],
        ),
        ({"description": "Blood test results"}, []),
        ({"is_telemedicine": ""}, [(Change.VIDEO_OFF, {"is_telemedicine": (True, False)})]),
    ],
)
def test_every_change_made_in_the_admin_is_announced_inside_its_transaction(
    during_the_visit, changes, announced, appointment, staff_client, staff, request, announcements
):
    def person_id(value):
        return (
            request.getfixturevalue(value).pk
            if value in {"doctor", "other_doctor", "patient", "other_patient"}
            else value
        )

    posted = {name: person_id(value) for name, value in changes.items()}
    response = post_change(staff_client, appointment, **posted)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    expected = [
        (change, {name: (person_id(old), person_id(new)) for name, (old, new) in fields.items()}, staff.pk, True)
        for change, fields in announced
    ]
    assert announcements == expected


def test_the_audit_trail_records_a_change_made_in_the_admin(appointment, staff_client, staff, other_doctor):
    from telemedicine.models import AccessEvent

    post_change(staff_client, appointment, doctor=other_doctor.pk)
    event = AccessEvent.objects.get(action=AccessEvent.Action.APPOINTMENT_CHANGED)
    assert (event.user_id, event.reason) == (staff.pk, "people-changed")
    assert event.detail == f"doctor: {appointment.doctor_id} -> {other_doctor.pk}"


def test_scheduling_in_the_admin_is_announced(staff_client, staff, doctor, patient, announcements):
    data = form_data(
        Appointment(doctor=doctor, patient=patient, date=DAY, time=dt.time(9, 0), status="scheduled", description="")
    )
    response = staff_client.post(reverse("admin:appointments_appointment_add"), data)
    assert response.status_code == 302
    assert announcements == [(Change.SCHEDULED, {}, staff.pk, True)]


def test_a_change_whose_announcement_fails_is_not_kept(appointment, staff_client, other_doctor):
    def refuse(**kwargs):
        raise RuntimeError("the audit trail is unavailable")

    appointment_changed.connect(refuse, dispatch_uid="test-admin-refuse")
    try:
        with pytest.raises(RuntimeError):
            post_change(staff_client, appointment, doctor=other_doctor.pk)
    finally:
        appointment_changed.disconnect(dispatch_uid="test-admin-refuse")
    appointment.refresh_from_db()
    assert appointment.doctor_id != other_doctor.pk


@pytest.mark.parametrize("field,who", [("doctor", "other_doctor"), ("patient", "other_patient")])
def test_new_people_get_a_new_room(field, who, appointment, staff_client, request):
    old_room = appointment.get_jitsi_room_name()
    post_change(staff_client, appointment, **{field: request.getfixturevalue(who).pk})
    appointment = Appointment.objects.get(pk=appointment.pk)
    new_room = appointment.get_jitsi_room_name()
    assert new_room != old_room
    assert not Appointment.objects.filter(jitsi_room_name=old_room).exists()


@pytest.mark.parametrize("changes", [{"date": "2030-01-16"}, {"status": "confirmed"}, {"description": "New"}])
def test_other_changes_keep_the_room(changes, appointment, staff_client):
    old_room = appointment.get_jitsi_room_name()
    post_change(staff_client, appointment, **changes)
    assert Appointment.objects.get(pk=appointment.pk).jitsi_room_name == old_room


@pytest.mark.parametrize(
    "changes,emails",
    [
        ({"date": "2030-01-16"}, [("rescheduled", "pat")]),
        ({"status": "cancelled"}, [("cancelled", "pat")]),
        ({"is_telemedicine": ""}, [("video-off", "pat")]),
        ({"patient": "other_patient"}, [("cancelled", "pat"), ("invitation", "stranger")]),
        ({"doctor": "other_doctor"}, []),
        ({"status": "confirmed"}, []),
        ({"description": "Blood test results"}, []),
    ],
)
def test_the_patient_is_told_of_a_change_made_in_the_admin_as_of_one_made_on_the_pages(
    changes, emails, appointment, staff_client, request
):
    """The same emails as the app's own pages send; a patient replaced is told the visit is off for them."""
    from appointments.models import Notification

    people = {
        "other_patient": request.getfixturevalue("other_patient"),
        "other_doctor": request.getfixturevalue("other_doctor"),
    }
    for user in (appointment.patient, people["other_patient"]):
        user.email = f"{user.username}@example.org"
        user.save()
    posted = {field: people[value].pk if value in people else value for field, value in changes.items()}
    assert post_change(staff_client, appointment, **posted).status_code == 302
    sent = sorted(Notification.objects.values_list("kind", "recipient__username"))
    assert sent == sorted(emails)
    if emails:
        assert Appointment.objects.get(pk=appointment.pk).sequence == 1  # the calendar file's new copy


# --- Issue 17, point 8: the admin for people, not developers ------------------------------------


def test_it_is_the_clinics_administration(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "Clinic administration" in html
    assert "Django administration" not in html


def test_the_list_names_people_and_writes_the_clinics_time(appointment, staff_client):
    html = staff_client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
    assert "Pat Ient" in html
    assert "Dr Gregory House" in html
    assert ">dr.house<" not in html
    assert ">pat<" not in html
    assert "Tue 15 Jan 2030 at 10:00 London time" in html


def test_the_video_setting_is_in_view(appointment, staff_client):
    html = staff_client.get(change_url(appointment)).content.decode()
    video = html[html.index("Video visit</h2>") - 200 : html.index("Video visit</h2>")]
    assert "collapse" not in video
    assert 'name="is_telemedicine"' in html


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"date": "2020-01-01"}, "date", "Wed 1 Jan 2020 has passed"),
        ({"date": "2030-03-31", "time": "01:30"}, "time", "does not exist in London time"),
        ({"time": "10:15"}, "time", "Dr Gregory House already sees Sam Stranger at 10:30"),
        ({"status": "completed"}, "status", "A visit can be marked completed from its start"),
    ],
)
def test_the_admin_runs_the_apps_rules(
    appointment, client_for, staff, make_appointment, other_patient, changes, field, message
):
    make_appointment(date=DAY, time=dt.time(10, 30), patient=other_patient)
    with freeze_time(dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)):  # an hour before the visit
        response = post_change(client_for(staff), appointment, **changes)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    appointment.refresh_from_db()
    assert (appointment.date, appointment.time, appointment.status) == (DAY, dt.time(10, 0), "scheduled")


def test_an_edit_that_does_not_move_a_past_visit_is_not_refused(appointment, client_for, staff):
    with freeze_time(dt.datetime(2030, 1, 16, 9, 0, tzinfo=dt.UTC)):  # the day after the visit
        response = post_change(client_for(staff), appointment, status="completed")
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "completed"


def test_the_reason_only_for_staff_who_may_read_it(appointment, staff_client, staff):
    from django.contrib.auth.models import Permission

    assert 'name="description"' not in staff_client.get(change_url(appointment)).content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="view_reason"))
    html = staff_client.get(change_url(appointment)).content.decode()
    assert '<label for="id_description">Reason:</label>' in html


def test_the_admin_shows_the_reason_as_the_rule_says(appointment, make_appointment, client_for, doctor, other_doctor):
    """appointments.rules.may_see_reason: a visit's own doctor reads its reason, in the admin too."""
    from django.contrib.auth.models import Permission

    doctor.is_staff = True
    doctor.save()
    doctor.user_permissions.add(*Permission.objects.filter(codename__endswith="_appointment"))
    someone_elses = make_appointment(doctor=other_doctor, date=DAY, time=dt.time(11, 0), description="Private")
    client = client_for(doctor)

    assert 'name="description"' in client.get(change_url(appointment)).content.decode()
    assert 'name="description"' not in client.get(change_url(someone_elses)).content.decode()
    # A new appointment has nobody yet: only the permission would show the field.
    assert 'name="description"' not in client.get(reverse("admin:appointments_appointment_add")).content.decode()


@pytest.mark.parametrize("invitation_went_out", [True, False])
def test_a_patient_replaced_in_the_admin_gets_nothing_more_about_the_visit(
    invitation_went_out, appointment, staff_client, other_patient
):
    """
    Emails still owed to the patient who was replaced (an invitation still retrying, a
    reschedule) would tell them of a visit that is no longer theirs: they are dropped. The
    cancellation goes out only to someone who had been told of the visit.
    """
    from django.core import mail

    from appointments.models import Notification
    from appointments.notifications import deliver, notify

    for user in (appointment.patient, other_patient):
        user.email = f"{user.username}@example.org"
        user.save()
    invitation = notify(appointment, Notification.Kind.INVITATION)
    if invitation_went_out:
        deliver(invitation.pk)
    notify(appointment, Notification.Kind.RESCHEDULED)  # still owed when the admin steps in
    mail.outbox.clear()
    assert post_change(staff_client, appointment, patient=other_patient.pk).status_code == 302
    owed = Notification.objects.filter(status=Notification.Status.PENDING).order_by("pk")
    for pk in owed.values_list("pk", flat=True):
        deliver(pk)
    replaced = appointment.patient.email
    told_replaced = [message.subject for message in mail.outbox if message.to == [replaced]]
    if invitation_went_out:
        assert len(told_replaced) == 1
        assert told_replaced[0].endswith("is cancelled")
    else:
        assert told_replaced == []
    assert [message.to for message in mail.outbox if message.to != [replaced]] == [[other_patient.email]]
    dropped = Notification.objects.get(kind=Notification.Kind.RESCHEDULED)
    assert dropped.status == Notification.Status.DROPPED
    assert dropped.outcome == "the appointment was given to another patient"
