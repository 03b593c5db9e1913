from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "kubegems_routes.workbench"
    verbose_name = "Workbench"
