from .conf import integration_enabled


def telemedicine(request):
    return {"telemedicine_enabled": integration_enabled()}
