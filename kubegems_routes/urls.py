from django.contrib import admin
from django.urls import include, path

from kubegems_routes.workbench import health
from kubegems_routes.workbench import views as workbench_views

urlpatterns = [
    path("", workbench_views.home, name="home"),
    # Answered by ProbeMiddleware before host checks; listed so reverse() and the URL map show them.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("kubegems_routes.identity.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("workbench/", include("kubegems_routes.workbench.urls")),
    path("workbench/environments/<int:environment_id>/routes/", include("kubegems_routes.routes.urls")),
]
