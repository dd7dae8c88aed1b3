from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission

        from . import checks  # noqa: F401  (registers the system checks)
        from .auth_backends import forget_cached_members, forget_cached_roles, forget_cached_user
        from .roles import ensure_clinic_groups

        post_migrate.connect(ensure_clinic_groups, sender=self)
        # The cached logged-in user (auth_backends.py) goes stale the moment the user changes.
        post_save.connect(forget_cached_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="forget-saved-user")
        post_delete.connect(forget_cached_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="forget-deleted-user")
        # And when what it knows of their roles changes: their groups and permissions, or a group's.
        user = get_user_model()
        for relation in ("groups", "user_permissions"):
            through = getattr(user, relation).through
            m2m_changed.connect(forget_cached_members, sender=through, dispatch_uid=f"forget-members-{relation}")
        m2m_changed.connect(forget_cached_roles, sender=Group.permissions.through, dispatch_uid="forget-group-perms")
        for model in (Group, Permission):
            post_save.connect(forget_cached_roles, sender=model, dispatch_uid=f"forget-saved-{model.__name__}")
            post_delete.connect(forget_cached_roles, sender=model, dispatch_uid=f"forget-deleted-{model.__name__}")
