"""
Guests: invited by the doctor (the patient when allowed), up to a limit; their link opens
that visit's room only inside its window, as a guest, never a moderator; no session to
anything else; withdrawn at once, by hand or with the visit; audited; wrong links lock out.
"""

import datetime as dt
import re

import jwt
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.models import Appointment, Notification
from appointments.notifications import deliver
from telemedicine import guests
from telemedicine.models import AccessEvent, Guest
from telemedicine.tests.shortcuts import telemedicine

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
OPENS = START - dt.timedelta(minutes=10)
CLOSES = START + dt.timedelta(minutes=30)
BEFORE = START - dt.timedelta(days=1)
REASON = "Private: follow-up of a sensitive result"
HTMX = {"HTTP_HX_REQUEST": "true"}
SECRET = "s" * 40


@pytest.fixture
def visit(make_appointment):
    return make_appointment(starts_at=START, is_telemedicine=True, description=REASON)


@pytest.fixture
def ivy(visit, doctor):
    return Guest.objects.create(appointment=visit, name="Ivy Interpreter", email="ivy@example.org", invited_by=doctor)


def guest_client(guest) -> Client:
    """A browser that opened the guest's link: it holds the link's cookie, nothing else."""
    client = Client()
    with freeze_time(BEFORE):
        response = client.get(f"{reverse('telemedicine:guest-open', args=[guest.pk])}?k={guests.link_token(guest)}")
    assert response.status_code == 302
    return client


def room(guest):
    return reverse("telemedicine:guest-room", args=[guest.pk])


class TestInviting:
    def invite(self, client, visit, name="Ivy Interpreter", email="ivy@example.org", **extra):
        return client.post(
            reverse("telemedicine:invite-guest", args=[visit.pk]), {"name": name, "email": email}, **extra
        )

    @freeze_time(BEFORE)
    def test_the_doctor_invites_and_the_guest_is_emailed_their_link(self, client_for, doctor, visit):
        response = self.invite(client_for(doctor), visit, **HTMX)
        assert response.status_code == 200
        assert "Ivy Interpreter" in response.content.decode()
        guest = Guest.objects.get()
        assert (guest.appointment, guest.invited_by, guest.email) == (visit, doctor, "ivy@example.org")
        event = AccessEvent.objects.get(action="guest-invited")
        assert (event.guest, event.user) == (guest, doctor)
        notification = Notification.objects.get()
        assert (notification.kind, notification.email, notification.recipient_ref) == (
            "guest-invitation",
            "ivy@example.org",
            guest.pk,
        )
        deliver(notification.pk)
        [message] = mail.outbox
        assert message.subject == "You are invited to a video visit on Tue 15 Jan 2030 at 10:00 London time"
        assert "Dr Gregory House" in message.body
        assert f"/telemedicine/guest/{guest.pk}/open/?k=" in message.body
        everything = message.body + message.alternatives[0][0]
        assert REASON not in everything
        assert visit.get_jitsi_room_name() not in everything
        assert "Pat" not in everything  # nothing of the patient either

    @freeze_time(BEFORE)
    def test_without_javascript_the_form_posts_and_comes_back(self, client_for, doctor, visit):
        response = self.invite(client_for(doctor), visit)
        assert response.status_code == 302
        assert response["Location"] == visit.get_absolute_url()

    @freeze_time(BEFORE)
    @pytest.mark.parametrize("extra", [{}, HTMX])
    def test_a_bad_form_gets_its_errors_and_invites_nobody(self, client_for, doctor, visit, extra):
        response = self.invite(client_for(doctor), visit, email="not an address", **extra)
        assert response.status_code == 400
        assert "Enter a valid email address." in response.content.decode()
        assert not Guest.objects.exists()

    @freeze_time(BEFORE)
    def test_at_most_the_configured_number_of_guests(self, client_for, doctor, visit, settings):
        settings.GUESTS_PER_VISIT = 2
        client = client_for(doctor)
        assert self.invite(client, visit, name="One", **HTMX).status_code == 200
        assert self.invite(client, visit, name="Two", **HTMX).status_code == 200
        third = self.invite(client, visit, name="Three", **HTMX)
        assert third.status_code == 400
        assert "already has 2 guests" in third.content.decode()
        guests.revoke(Guest.objects.get(name="One"), by=doctor, request=None)
        assert self.invite(client, visit, name="Three", **HTMX).status_code == 200

    @freeze_time(BEFORE)
    def test_the_patient_invites_only_when_the_doctor_allows(self, client_for, doctor, patient, visit):
        assert self.invite(client_for(patient), visit).status_code == 404
        client_for(doctor).post(reverse("telemedicine:guest-policy", args=[visit.pk]), {"allowed": "on"})
        assert self.invite(client_for(patient), visit, name="Mum", email="mum@example.org").status_code == 302
        assert Guest.objects.get().invited_by == patient

    @freeze_time(BEFORE)
    def test_the_patient_withdraws_only_their_own_guests(self, client_for, doctor, patient, visit, ivy):
        client_for(doctor).post(reverse("telemedicine:guest-policy", args=[visit.pk]), {"allowed": "on"})
        self.invite(client_for(patient), visit, name="Mum", email="mum@example.org")
        mum = Guest.objects.get(name="Mum")
        revoke = "telemedicine:revoke-guest"
        assert client_for(patient).post(reverse(revoke, args=[ivy.pk])).status_code == 404
        assert client_for(patient).post(reverse(revoke, args=[mum.pk])).status_code == 302
        assert Guest.objects.get(pk=mum.pk).is_revoked
        assert not Guest.objects.get(pk=ivy.pk).is_revoked

    @freeze_time(BEFORE)
    def test_no_guests_for_a_visit_at_the_clinic(self, client_for, doctor, visit):
        """A guest joins a video call: an in-person visit has none to join, and takes no place."""
        Appointment.objects.filter(pk=visit.pk).update(is_telemedicine=False)
        assert self.invite(client_for(doctor), visit).status_code == 404
        assert not Guest.objects.exists()

    def test_the_last_place_is_decided_with_the_visit_locked(self, doctor, visit, settings):
        """invite() itself refuses a full visit: two invitations at once cannot both take the last place."""
        settings.GUESTS_PER_VISIT = 1
        guests.invite(visit, name="One", email="one@example.org", by=doctor, request=None)
        with pytest.raises(guests.NoRoomLeft):
            guests.invite(visit, name="Two", email="two@example.org", by=doctor, request=None)
        assert list(Guest.objects.values_list("name", flat=True)) == ["One"]

    @freeze_time(BEFORE)
    def test_no_guests_for_a_closed_visit(self, client_for, doctor, visit):
        Appointment.objects.filter(pk=visit.pk).update(status="cancelled")
        assert self.invite(client_for(doctor), visit).status_code == 404


class TestTheGuestsLink:
    def test_opening_it_keeps_the_token_in_a_cookie_for_this_guests_pages_only(self, ivy):
        client = Client()
        with freeze_time(BEFORE):
            response = client.get(f"{reverse('telemedicine:guest-open', args=[ivy.pk])}?k={guests.link_token(ivy)}")
        assert response["Location"] == room(ivy)  # the token leaves the address bar
        cookie = response.cookies[guests.COOKIE_NAME]
        assert cookie["path"] == f"/telemedicine/guest/{ivy.pk}/"
        assert cookie["httponly"]
        assert cookie["samesite"] == "Lax"
        assert AccessEvent.objects.get().action == "guest-link-opened"

    def test_it_is_recorded_as_the_guests_act_whoever_is_signed_in_on_that_browser(self, client_for, patient, ivy):
        """A patient opening their relative's link on their own computer did not open it themselves."""
        with freeze_time(BEFORE):
            client = client_for(patient)
            assert client.get(reverse("appointments:dashboard")).status_code == 200  # signed in, at that moment
            client.get(f"{reverse('telemedicine:guest-open', args=[ivy.pk])}?k={guests.link_token(ivy)}")
        opened = AccessEvent.objects.get(action="guest-link-opened")
        assert (opened.guest_id, opened.user_id) == (ivy.pk, None)

    @freeze_time(BEFORE)
    def test_an_invitation_names_who_invited(self, client_for, doctor, visit):
        TestInviting().invite(client_for(doctor), visit, name="Ivy")
        invited = AccessEvent.objects.get(action="guest-invited")
        assert (invited.guest.name, invited.user_id) == ("Ivy", doctor.pk)

    def test_it_gives_no_session_to_anything_else(self, ivy, visit):
        client = guest_client(ivy)
        assert "sessionid" not in client.cookies
        with freeze_time(OPENS):
            assert client.get(reverse("appointments:dashboard"))["Location"].startswith(reverse("login"))
            assert client.get(visit.get_absolute_url()).status_code == 302
            assert client.get(reverse("telemedicine:jitsi-room", args=[visit.pk])).status_code == 302

    @pytest.mark.parametrize(
        "now,status,room_shown",
        [
            (OPENS - dt.timedelta(seconds=1), 200, False),  # the waiting card
            (OPENS, 200, True),
            (CLOSES, 200, True),
            (CLOSES + dt.timedelta(seconds=1), 403, False),  # the visit is over
        ],
    )
    def test_the_room_only_inside_the_window(self, ivy, visit, now, status, room_shown):
        client = guest_client(ivy)
        with freeze_time(now):
            response = client.get(room(ivy))
        html = response.content.decode()
        assert response.status_code == status
        assert (visit.get_jitsi_room_name() in html) is room_shown
        assert REASON not in html
        if not room_shown:
            assert 'id="guest-card"' in html

    @freeze_time(OPENS - dt.timedelta(minutes=3))
    def test_before_the_window_a_waiting_card_that_polls(self, ivy):
        html = guest_client(ivy).get(room(ivy)).content.decode()
        assert "The video call opens in 3 min" in html
        assert f'hx-get="{reverse("telemedicine:guest-status", args=[ivy.pk])}"' in html

    @freeze_time(OPENS)
    def test_in_the_call_the_guest_is_named_as_a_guest_and_never_moderator(self, ivy, visit):
        with telemedicine(
            JITSI_MODE="self_hosted", JITSI_APP_ID="clinic", JITSI_APP_SECRET=SECRET, JITSI_DOMAIN="video.example"
        ):
            html = guest_client(ivy).get(room(ivy)).content.decode()
        options = re.search(r'<script id="jitsi-options" type="application/json">(.*?)</script>', html, re.S).group(1)
        assert '"displayName": "Ivy Interpreter (guest)"' in options
        assert '"isModerator": false' in options
        token = re.search(r'"jwt": "([^"]+)"', options).group(1)
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="clinic")
        assert claims["room"] == visit.get_jitsi_room_name()
        assert claims["context"]["user"] == {
            "id": f"guest-{ivy.pk}",
            "name": "Ivy Interpreter (guest)",
            "moderator": "false",
            "affiliation": "member",
        }
        assert claims["exp"] <= int(CLOSES.timestamp()) + 1

    def test_another_guests_link_opens_nothing_here(self, ivy, visit, doctor):
        other = Guest.objects.create(appointment=visit, name="Otto", email="o@example.org", invited_by=doctor)
        client = guest_client(other)
        with freeze_time(OPENS):
            assert client.get(room(ivy)).status_code == 403

    @pytest.mark.parametrize("garble", [lambda t: t[:-2], lambda t: "x" + t, lambda t: ""])
    def test_a_garbled_link_opens_nothing(self, ivy, garble):
        with freeze_time(BEFORE):
            token = garble(guests.link_token(ivy))
            response = Client().get(f"{reverse('telemedicine:guest-open', args=[ivy.pk])}?k={token}")
        assert response.status_code == 403
        assert guests.COOKIE_NAME not in response.cookies

    @pytest.mark.parametrize(
        "age,works",
        [(dt.timedelta(days=14) - dt.timedelta(seconds=1), True), (dt.timedelta(days=14, seconds=1), False)],
    )
    def test_the_link_expires(self, ivy, age, works):
        with freeze_time(BEFORE - age):
            token = guests.link_token(ivy)
        with freeze_time(BEFORE):
            response = Client().get(f"{reverse('telemedicine:guest-open', args=[ivy.pk])}?k={token}")
        assert response.status_code == (302 if works else 403)

    def test_a_burst_of_wrong_links_locks_the_address_out(self, ivy):
        client = Client()
        with freeze_time(BEFORE):
            for attempt in range(10):
                client.get(f"{reverse('telemedicine:guest-open', args=[ivy.pk])}?k=wrong-{attempt}")
            good = f"{reverse('telemedicine:guest-open', args=[ivy.pk])}?k={guests.link_token(ivy)}"
            assert client.get(good).status_code == 429
        with freeze_time(BEFORE + dt.timedelta(hours=1, seconds=1)):
            assert client.get(good).status_code == 302


class TestWithdrawing:
    @freeze_time(OPENS)
    def test_from_the_next_request_on_the_link_opens_nothing(self, client_for, doctor, ivy, visit):
        client = guest_client(ivy)
        # In a token mode: before the withdrawal the page carries the room and a token signed for the guest.
        with telemedicine(
            JITSI_MODE="self_hosted", JITSI_APP_ID="clinic", JITSI_APP_SECRET=SECRET, JITSI_DOMAIN="video.example"
        ):
            before = client.get(room(ivy))
            assert before.status_code == 200
            assert visit.get_jitsi_room_name() in before.content.decode()
            assert '"jwt": "' in before.content.decode()
            response = client_for(doctor).post(reverse("telemedicine:revoke-guest", args=[ivy.pk]), **HTMX)
            assert "Withdrawn" in response.content.decode()
            again = client.get(room(ivy))
        assert again.status_code == 403
        assert visit.get_jitsi_room_name() not in again.content.decode()
        assert '"jwt"' not in again.content.decode()
        event = AccessEvent.objects.get(action="guest-revoked")
        assert (event.guest, event.user) == (ivy, doctor)

    @pytest.mark.parametrize("action", ["cancel", "complete"])
    def test_closing_the_visit_withdraws_every_guest(self, client_for, doctor, ivy, visit, action):
        with freeze_time(START):
            client_for(doctor).post(reverse(f"appointments:{action}", args=[visit.pk]))
        assert Guest.objects.get(pk=ivy.pk).is_revoked
        assert AccessEvent.objects.filter(action="guest-revoked", guest=ivy).count() == 1

    @freeze_time(BEFORE)
    def test_an_invitation_withdrawn_before_it_went_out_is_not_sent(self, client_for, doctor, visit):
        client = client_for(doctor)
        client.post(reverse("telemedicine:invite-guest", args=[visit.pk]), {"name": "Ivy", "email": "ivy@example.org"})
        guest = Guest.objects.get()
        client.post(reverse("telemedicine:revoke-guest", args=[guest.pk]))
        deliver(Notification.objects.get().pk)
        assert mail.outbox == []
        assert Notification.objects.get().outcome == "the invitation was withdrawn before it went out"

    @pytest.mark.parametrize(
        "sent_at,video,outcome",
        [
            (CLOSES, True, ""),  # the call can still be joined: sent
            (CLOSES + dt.timedelta(seconds=1), True, "the visit is over"),
            (BEFORE, False, "the visit is no longer a video visit that can be joined"),
        ],
    )
    def test_an_invitation_goes_out_only_while_its_call_can_still_be_joined(
        self, client_for, doctor, visit, sent_at, video, outcome
    ):
        with freeze_time(BEFORE):
            client_for(doctor).post(
                reverse("telemedicine:invite-guest", args=[visit.pk]), {"name": "Ivy", "email": "ivy@example.org"}
            )
        Appointment.objects.filter(pk=visit.pk).update(is_telemedicine=video)
        with freeze_time(sent_at):
            deliver(Notification.objects.get().pk)
        assert len(mail.outbox) == (outcome == "")
        assert Notification.objects.get().outcome == outcome

    @freeze_time(BEFORE)
    def test_with_video_visits_switched_off_the_invitation_offers_no_call(self, client_for, doctor, visit):
        """guest_access decides: the clinic switched video off after the invitation, before it went out."""
        client_for(doctor).post(
            reverse("telemedicine:invite-guest", args=[visit.pk]), {"name": "Ivy", "email": "ivy@example.org"}
        )
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            deliver(Notification.objects.get().pk)
        [message] = mail.outbox
        html = message.alternatives[0][0]
        for text in (message.subject, message.body, html):
            assert "invites you" not in text
            assert "/telemedicine/guest/" not in text  # no link to a call that cannot happen
            assert "Join" not in text
        # What the guest's page says in that phase (guest.html, guest-card).
        assert "This video visit is not taking place. The person who invited you can tell you more." in message.body
        assert "This video visit is not taking place. The person who invited you can tell you more." in html
        assert message.subject == "The video visit on Tue 15 Jan 2030 at 10:00 London time is not taking place"


class TestLeaving:
    @freeze_time(OPENS)
    def test_back_from_the_call_the_guest_is_told_and_nothing_is_recorded(self, ivy, visit):
        client = guest_client(ivy)
        recorded_before = AccessEvent.objects.count()
        response = client.get(f"{room(ivy)}?left=1")
        assert response.status_code == 200
        body = response.content.decode()
        assert "You have left the video call." in body
        assert visit.get_jitsi_room_name() not in body
        assert AccessEvent.objects.count() == recorded_before


class TestCallReports:
    @freeze_time(OPENS)
    def test_the_guests_join_and_leave_are_recorded_as_theirs(self, ivy, visit):
        client = guest_client(ivy)
        client.get(room(ivy))
        events = reverse("telemedicine:guest-call-event", args=[ivy.pk])
        assert client.post(events, {"event": "joined"}).status_code == 204
        assert client.post(events, {"event": "left"}).status_code == 204
        recorded = list(AccessEvent.objects.filter(guest=ivy).order_by("id").values_list("action", flat=True))
        assert recorded == ["guest-link-opened", "room-opened", "call-joined", "call-left"]
        assert not AccessEvent.objects.filter(guest=ivy).exclude(user=None).exists()

    @freeze_time(OPENS)
    def test_a_join_is_believed_only_from_a_room_page_served_to_the_guest(self, ivy):
        client = guest_client(ivy)  # the link opened, but never the room
        response = client.post(reverse("telemedicine:guest-call-event", args=[ivy.pk]), {"event": "joined"})
        assert response.status_code == 403
        assert not AccessEvent.objects.filter(action="call-joined").exists()
        assert AccessEvent.objects.get(action="access-refused").reason == "room-not-open"

    @freeze_time(OPENS)
    def test_a_repeated_join_changes_nothing(self, ivy):
        client = guest_client(ivy)
        client.get(room(ivy))
        events = reverse("telemedicine:guest-call-event", args=[ivy.pk])
        client.post(events, {"event": "joined"})
        assert client.post(events, {"event": "joined"}).status_code == 204
        assert AccessEvent.objects.filter(action="call-joined", guest=ivy).count() == 1

    @freeze_time(OPENS)
    def test_a_withdrawn_guest_reports_nothing(self, ivy, doctor):
        client = guest_client(ivy)
        guests.revoke(ivy, by=doctor, request=None)
        response = client.post(reverse("telemedicine:guest-call-event", args=[ivy.pk]), {"event": "joined"})
        assert response.status_code == 404
        assert not AccessEvent.objects.filter(action="call-joined").exists()


@freeze_time(BEFORE)
def test_the_doctors_page_shows_the_guests_section(client_for, doctor, patient, visit, ivy):
    html = client_for(doctor).get(visit.get_absolute_url()).content.decode()
    assert 'id="guests"' in html
    assert "Ivy Interpreter" in html
    assert "Withdraw Ivy Interpreter's invitation" in html
    assert "The patient may invite guests too" in html
    patient_html = client_for(patient).get(visit.get_absolute_url()).content.decode()
    assert "Ivy Interpreter" in patient_html  # the patient sees who is invited to their visit
    assert "Invite a guest" not in patient_html
