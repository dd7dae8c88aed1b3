from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self):
        from .roles import ensure_clinic_groups

        post_migrate.connect(ensure_clinic_groups, sender=self)
