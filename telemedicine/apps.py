from django.apps import AppConfig


class TelemedicineConfig(AppConfig):
    name = "telemedicine"
    verbose_name = "Telemedicine"

    def ready(self):
        from appointments.listing import add_column

        from . import checks  # noqa: F401  (registers the system checks)
        from .status import video_column

        # The dashboard asks for its video column by name; this app fills it.
        add_column("video", video_column)
