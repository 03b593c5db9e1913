from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutesConfig(AppConfig):
    name = "kubegems_routes.routes"
    verbose_name = _("Routes")
