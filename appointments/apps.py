from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .auth_backends import forget_cached_user
        from .roles import ensure_clinic_groups

        post_migrate.connect(ensure_clinic_groups, sender=self)
        # The cached logged-in user (auth_backends.py) goes stale the moment the user changes.
        post_save.connect(forget_cached_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="forget-saved-user")
        post_delete.connect(forget_cached_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="forget-deleted-user")
