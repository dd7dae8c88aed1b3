import datetime as dt
import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.test import override_settings

from appointments.models import Appointment

ROOM_NAME = re.compile(r"^clinic-[0-9a-f]{32}$")


def test_created_with_nothing_but_people_date_and_time(doctor, patient):
    appointment = Appointment.objects.create(patient=patient, doctor=doctor, date=dt.date(2030, 1, 15), time=dt.time(9))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.SCHEDULED
    assert appointment.is_telemedicine is False
    assert appointment.description == ""
    assert appointment.jitsi_room_name is None
    assert appointment.created_at
    assert appointment.updated_at


class TestRoomName:
    def test_is_created_on_first_use_from_a_uuid4(self, make_appointment):
        appointment = make_appointment()
        name = appointment.get_jitsi_room_name()
        assert ROOM_NAME.match(name)
        assert uuid.UUID(name.removeprefix("clinic-")).version == 4

    def test_is_stable_across_calls_and_reloads(self, make_appointment):
        appointment = make_appointment()
        name = appointment.get_jitsi_room_name()
        assert appointment.get_jitsi_room_name() == name
        assert Appointment.objects.get(pk=appointment.pk).get_jitsi_room_name() == name

    def test_is_unique_across_many_appointments(self, make_appointment):
        names = {make_appointment(time=dt.time(8, minute)).get_jitsi_room_name() for minute in range(60)}
        assert len(names) == 60

    def test_second_first_call_from_a_stale_instance_gets_the_winner(self, make_appointment):
        # Two requests load the appointment before either has created the room.
        first = make_appointment()
        second = Appointment.objects.get(pk=first.pk)
        assert second.jitsi_room_name is None
        winner = first.get_jitsi_room_name()
        assert second.get_jitsi_room_name() == winner
        assert Appointment.objects.get(pk=first.pk).jitsi_room_name == winner

    def test_saving_a_stale_instance_does_not_erase_the_room(self, make_appointment):
        stale = make_appointment()
        name = Appointment.objects.get(pk=stale.pk).get_jitsi_room_name()
        stale.description = "Follow-up"
        stale.save()
        stale.refresh_from_db()
        assert stale.jitsi_room_name == name
        assert stale.description == "Follow-up"

    def test_names_are_unique_in_the_database(self, make_appointment):
        one, two = make_appointment(time=dt.time(8)), make_appointment(time=dt.time(9))
        with pytest.raises(IntegrityError):
            Appointment.objects.filter(pk=two.pk).update(jitsi_room_name=one.get_jitsi_room_name())

    def test_is_not_editable_in_forms(self):
        assert Appointment._meta.get_field("jitsi_room_name").editable is False


class TestClinicClock:
    @override_settings(TIME_ZONE="Europe/London")
    def test_a_time_in_the_spring_gap_is_rejected_with_a_clear_message(self, doctor, patient):
        # 31 Mar 2030: London's clocks jump from 01:00 to 02:00; 01:30 never happens.
        appointment = Appointment(doctor=doctor, patient=patient, date=dt.date(2030, 3, 31), time=dt.time(1, 30))
        with pytest.raises(ValidationError) as error:
            appointment.full_clean()
        assert "does not exist in London time" in str(error.value.message_dict["time"])

    @override_settings(TIME_ZONE="Europe/London")
    def test_a_time_in_the_autumn_overlap_means_the_first_one(self, doctor, patient):
        appointment = Appointment(doctor=doctor, patient=patient, date=dt.date(2030, 10, 27), time=dt.time(1, 30))
        appointment.full_clean()
        assert appointment.starts_at == dt.datetime(2030, 10, 27, 0, 30, tzinfo=dt.UTC)

    def test_doctor_cannot_be_their_own_patient(self, doctor):
        appointment = Appointment(doctor=doctor, patient=doctor, date=dt.date(2030, 1, 15), time=dt.time(9))
        with pytest.raises(ValidationError, match="different people"):
            appointment.full_clean()


class TestStateChanges:
    def test_set_telemedicine_writes_only_that(self, make_appointment):
        appointment = make_appointment(description="Knee")
        Appointment.objects.filter(pk=appointment.pk).update(description="Knee and hip")
        appointment.set_telemedicine(True)
        appointment.refresh_from_db()
        assert appointment.is_telemedicine is True
        assert appointment.description == "Knee and hip"

    @pytest.mark.parametrize("status", [Appointment.Status.CANCELLED, Appointment.Status.COMPLETED])
    def test_close_once(self, make_appointment, status):
        appointment = make_appointment()
        assert appointment.close(status) is True
        assert Appointment.objects.get(pk=appointment.pk).status == status
        # Closing it again (another tab) changes nothing.
        assert Appointment.objects.get(pk=appointment.pk).close(Appointment.Status.CANCELLED) is False
        assert Appointment.objects.get(pk=appointment.pk).status == status

    def test_close_refuses_an_open_status(self, make_appointment):
        with pytest.raises(ValueError, match="does not close an appointment"):
            make_appointment().close(Appointment.Status.CONFIRMED)


def test_dashboard_and_status_lookups_are_indexed():
    indexed = {tuple(index.fields) for index in Appointment._meta.indexes}
    assert ("doctor", "date", "time") in indexed
    assert ("patient", "date", "time") in indexed
    assert ("status",) in indexed
