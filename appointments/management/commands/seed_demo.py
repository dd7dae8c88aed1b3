"""
Demo clinic for `make run`: one doctor, two patients, a clinic manager, an
administrator (the only one who may export the audit trail), and
appointments in every state, placed relative to now. Safe to run again: it
refreshes the demo appointments instead of piling up new ones.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

from appointments.clinic_time import clinic_now
from appointments.models import Appointment, Notification
from appointments.notifications import notify
from appointments.roles import DOCTORS_GROUP, PATIENTS_GROUP, ensure_clinic_groups

DEMO_PASSWORD = "demo-pass-2026"
PEOPLE = [
    # username, first, last, group, is_staff
    ("dr.grey", "Meredith", "Grey", DOCTORS_GROUP, False),
    ("alice", "Alice", "Patient", PATIENTS_GROUP, False),
    ("bob", "Bob", "Patient", PATIENTS_GROUP, False),
    ("manager", "Morgan", "Manager", None, True),
    ("admin", "Ada", "Admin", None, True),
]
MARKER = "[demo]"


def _rounded(moment):
    return moment.replace(second=0, microsecond=0)


class Command(BaseCommand):
    help = "Create (or refresh) the demo doctor, patients and appointments, and print the logins."

    @transaction.atomic
    def handle(self, *args, **options):
        ensure_clinic_groups()
        users = {}
        for username, first, last, group, is_staff in PEOPLE:
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.first_name, user.last_name, user.is_staff = first, last, is_staff
            user.email = f"{username}@example.org"
            user.set_password(DEMO_PASSWORD)
            user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
            users[username] = user
        users["admin"].is_superuser = True
        users["admin"].save(update_fields=["is_superuser"])
        users["manager"].user_permissions.add(
            *Permission.objects.filter(content_type__app_label="appointments", codename__endswith="_appointment")
        )

        doctor, alice, bob = users["dr.grey"], users["alice"], users["bob"]
        Appointment.objects.filter(doctor=doctor, description__startswith=MARKER).delete()
        now = _rounded(clinic_now())
        plan = [
            # when, patient, video, status, what
            (now + timedelta(minutes=2), alice, True, "confirmed", "call open now"),
            (now + timedelta(minutes=15), bob, True, "scheduled", "call opens in a few minutes"),
            (now + timedelta(hours=3), alice, True, "scheduled", "later today"),
            (now + timedelta(days=1, hours=1), bob, False, "scheduled", "in-person, tomorrow"),
            (now - timedelta(days=2), alice, True, "completed", "past visit"),
            (now + timedelta(days=2), alice, True, "cancelled", "cancelled visit"),
            (now - timedelta(hours=2), bob, True, "scheduled", "call window closed"),
        ]
        invited = 0
        for when, patient, video, status, what in plan:
            appointment = Appointment.objects.create(
                doctor=doctor,
                patient=patient,
                date=when.date(),
                time=when.time(),
                is_telemedicine=video,
                status=status,
                description=f"{MARKER} {what}",
                # What a patient reads of a cancellation (issue 17): the clinic's note, never the reason.
                cancellation_note="Dr Grey is away that day. We will call you to book another time."
                if status == "cancelled"
                else "",
            )
            if not appointment.is_closed and when > now:
                # The worker (make run starts it) sends each invitation, with its calendar file and sign-in link.
                notify(appointment, Notification.Kind.INVITATION)
                invited += 1

        self.stdout.write(self.style.SUCCESS(f"Demo clinic ready ({len(plan)} appointments, times relative to now)."))
        self.stdout.write(f"{invited} invitation emails queued: the worker prints them on its console.")
        self.stdout.write(
            f"Log in at {settings.SITE_URL}{reverse('login')} with any of these (password for all: {DEMO_PASSWORD}):"
        )
        for username, first, last, group, _is_staff in PEOPLE:
            role = group or ("administrator" if username == "admin" else "clinic staff")
            self.stdout.write(f"  {username:<10} {first} {last} ({role})")
