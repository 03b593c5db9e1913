from django.apps import AppConfig


class RoutesConfig(AppConfig):
    name = "kubegems_routes.routes"
    verbose_name = "Routes"
