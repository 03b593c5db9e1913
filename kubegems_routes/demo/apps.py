from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kubegems_routes.demo"
    verbose_name = "Demo data"
