from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewaysConfig(AppConfig):
    name = "kubegems_routes.gateways"
    verbose_name = _("Gateways")

    def ready(self) -> None:
        from kubegems_routes.gateways import signals  # noqa: F401
