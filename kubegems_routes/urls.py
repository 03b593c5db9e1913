from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kubegems_routes.workbench import views as workbench_views

urlpatterns = [
    path("", workbench_views.home, name="home"),
    path("healthz", workbench_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("workbench/", include("kubegems_routes.workbench.urls")),
    path("workbench/environments/<int:environment_id>/routes/", include("kubegems_routes.routes.urls")),
]
