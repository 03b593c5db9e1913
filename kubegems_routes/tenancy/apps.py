from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "kubegems_routes.tenancy"
    verbose_name = _("Tenancy")

    def ready(self) -> None:
        from kubegems_routes.kube.cache import stop_cache
        from kubegems_routes.tenancy.models import Cluster

        def stop_its_cache(sender: type[Cluster], instance: Cluster, **kwargs: object) -> None:
            stop_cache(instance.pk)  # in this process; other workers' stop with their process

        # weak=False: the receiver is local to ready() and would be collected at once.
        post_delete.connect(stop_its_cache, sender=Cluster, weak=False, dispatch_uid="tenancy.stop_cluster_cache")
