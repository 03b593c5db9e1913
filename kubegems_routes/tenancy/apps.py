from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "kubegems_routes.tenancy"
    verbose_name = "Tenancy"
