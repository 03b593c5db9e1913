from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


class RoutesConfig(AppConfig):
    name = "kubegems_routes.routes"
    verbose_name = _("Routes")

    def ready(self) -> None:
        from kubegems_routes.routes.claims import release_unused
        from kubegems_routes.routes.models import Route

        def release_claims(sender: type[Route], instance: Route, **kwargs: object) -> None:
            environment = instance.environment
            release_unused(environment.cluster_id, environment.project.tenant_id)

        # weak=False: the receiver is local to ready() and would be collected at once.
        post_delete.connect(release_claims, sender=Route, weak=False, dispatch_uid="routes.release_claims")
