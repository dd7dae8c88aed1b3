from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from appointments import views as appointment_views
from appointments.forms import ClinicPasswordResetForm

from . import health, login

urlpatterns = [
    path("", appointment_views.home, name="home"),
    path("login/", login.LoginView.as_view(), name="login"),
    path("logout/", login.LogoutView.as_view(), name="logout"),
    # Passwords, with Django's own views in the clinic's look; the reset email goes through the worker.
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(form_class=ClinicPasswordResetForm),
        name="password_reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(post_reset_login=False),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password/change/", appointment_views.change_password, name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
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
