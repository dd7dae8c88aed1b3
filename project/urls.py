from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from appointments import views as appointment_views

urlpatterns = [
    path("", appointment_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("appointments/", include("appointments.urls")),
    path("telemedicine/", include("telemedicine.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "project.errors.bad_request"
handler403 = "project.errors.permission_denied"
handler404 = "project.errors.page_not_found"
handler500 = "project.errors.server_error"
