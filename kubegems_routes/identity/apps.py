from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "kubegems_routes.identity"
    verbose_name = _("Sign-in")
    default_auto_field = "django.db.models.BigAutoField"
