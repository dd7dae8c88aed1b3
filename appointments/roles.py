"""Who is who in the clinic. Doctors and patients are groups; no profile model is needed."""

from django.contrib.auth import get_user_model

DOCTORS_GROUP = "Doctors"
PATIENTS_GROUP = "Patients"


def doctors():
    return get_user_model().objects.filter(groups__name=DOCTORS_GROUP, is_active=True).order_by("last_name", "username")


def patients():
    return (
        get_user_model().objects.filter(groups__name=PATIENTS_GROUP, is_active=True).order_by("last_name", "username")
    )


def display_name(user) -> str:
    """How the clinic names a person: on lists, and in the video call and its token."""
    return user.get_full_name() or user.get_username()


def doctor_name(user) -> str:
    """How patients are told who their doctor is: "Dr Meredith Grey"."""
    return f"Dr {display_name(user)}"


def can_schedule(user) -> bool:
    return user.has_perm("appointments.add_appointment")


def can_manage_any(user) -> bool:
    """Clinic staff who may cancel or complete any appointment (the admin's change permission)."""
    return user.is_staff and user.has_perm("appointments.change_appointment")


def can_close(user, appointment) -> bool:
    return user.pk == appointment.doctor_id or can_manage_any(user)


def is_doctor(user) -> bool:
    """Kept on the user object for the rest of the request: the dashboard and its panels both ask."""
    known = getattr(user, "_is_doctor", None)
    if known is None:
        known = user._is_doctor = user.groups.filter(name=DOCTORS_GROUP).exists()
    return known


def ensure_clinic_groups(using="default", **kwargs):
    """
    Create the Doctors and Patients groups after every migrate (permissions only exist
    once migrate has run, so a data migration would be too early). Doctors may schedule.
    """
    from django.contrib.auth.models import Group, Permission

    doctors_group, _ = Group.objects.using(using).get_or_create(name=DOCTORS_GROUP)
    Group.objects.using(using).get_or_create(name=PATIENTS_GROUP)
    doctors_group.permissions.add(
        *Permission.objects.using(using).filter(
            content_type__app_label="appointments", codename__in=["add_appointment", "view_appointment"]
        )
    )
