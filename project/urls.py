from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from appointments import views as appointment_views

from . import health

urlpatterns = [
    path("", appointment_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("appointments/", include("appointments.urls")),
    path("telemedicine/", include("telemedicine.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

if settings.BENCH:
    # `make bench` only (DJANGO_BENCH=1): the do-nothing views it measures as ceilings.
    from bench.views import noop, noop_logged_in

    urlpatterns += [
        path("bench/noop/", noop, name="bench-noop"),
        path("bench/noop-logged-in/", noop_logged_in, name="bench-noop-logged-in"),
    ]

handler400 = "project.errors.bad_request"
handler403 = "project.errors.permission_denied"
handler404 = "project.errors.page_not_found"
handler500 = "project.errors.server_error"
