from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "kubegems_routes.gateways"
    verbose_name = "Gateways"

    def ready(self) -> None:
        from kubegems_routes.gateways import signals  # noqa: F401
