from django.apps import AppConfig


class TelemedicineConfig(AppConfig):
    name = "telemedicine"
    verbose_name = "Telemedicine"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
