"""
Issue 17, point 4: each refusal page says what happened and what to do, in context, once;
none says "It belongs to someone else's appointment" where that is not what happened.
"""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.urls import reverse

from project.errors import Refused, permission_denied

OLD_WORDS = "It belongs to someone else"


def test_a_patient_opening_the_scheduling_form_is_told_whom_to_call(client_for, patient):
    response = client_for(patient).get(reverse("appointments:schedule"))
    html = response.content.decode()
    assert response.status_code == 403
    assert '<h1 class="h4">Only the clinic books appointments</h1>' in html
    assert "To book a visit, or to change or cancel one, please call Riverside Clinic on 020 7946 0000." in html
    assert OLD_WORDS not in html


def test_staff_opening_the_audit_trail_are_told_whose_it_is_and_whom_to_ask(client_for, staff):
    response = client_for(staff).get(reverse("admin:telemedicine_accessevent_changelist"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "The audit trail is for the clinic&#x27;s administrators" in html
    assert "ask the clinic&#x27;s administrator for the “Can view access event” permission" in html
    assert OLD_WORDS not in html


def test_staff_who_may_read_the_trail_but_not_export_it_are_told_so(client_for, staff):
    staff.user_permissions.add(Permission.objects.get(codename="view_accessevent"))
    response = client_for(staff).get(reverse("admin:telemedicine_accessevent_export"))
    assert response.status_code == 403
    assert "Only the clinic&#x27;s administrators export the audit trail" in response.content.decode()


def test_other_admin_pages_say_it_is_a_permission_of_the_administration(client_for, staff):
    response = client_for(staff).get(reverse("admin:appointments_notification_changelist"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "This part of the clinic&#x27;s administration is not open to your account" in html


def test_a_refusal_without_words_of_its_own_gets_general_ones():
    request = RequestFactory().get("/somewhere/")
    html = permission_denied(request, PermissionDenied("internal detail: rule 7b")).content.decode()
    assert "Your account cannot open this page" in html
    assert "rule 7b" not in html  # a message not written for the reader is never shown
    assert "please call Riverside Clinic on 020 7946 0000" in html


def test_a_refusal_with_its_own_words_is_shown_as_written():
    request = RequestFactory().get("/")
    response = permission_denied(request, Refused("Not now", "Come back tomorrow."))
    assert "Not now" in response.content.decode()
    assert "Come back tomorrow." in response.content.decode()


def test_htmx_gets_the_same_words_as_a_partial(client_for, patient):
    response = client_for(patient).get(reverse("appointments:schedule"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 403
    assert html.startswith('<div class="alert alert-warning" role="alert"><strong>Only the clinic books appointments.')


def test_not_found_says_what_may_have_happened_and_what_to_do(client_for, patient):
    html = client_for(patient).get("/telemedicine/appointment/987654/detail/").content.decode()
    assert "We cannot find this page" in html
    assert "an appointment&#x27;s page is shown only to its doctor and its patient" in html
    assert OLD_WORDS not in html


@pytest.mark.django_db
def test_a_form_too_old_for_its_token_is_explained(patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient)
    response = client.post(reverse("password_change"), {})
    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html
    assert "Please go back, reload the page and try again." in html
    assert "CSRF verification failed" not in html  # Django's own page names the mechanism, not what to do
