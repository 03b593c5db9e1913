from django.urls import path

from kubegems_routes.routes import download_views, history_views, views

app_name = "routes"
# Console pages live under "-/": no route name (a DNS name) can start with "-".
urlpatterns = [
    path("", views.route_list, name="list"),
    path("-/new/", views.route_create, name="create"),
    path("-/new/<slug:action>/", views.route_create_action, name="create-action"),
    path("-/secrets/", views.tls_secrets, name="secrets"),
    path("-/import/", views.ingress_import, name="import"),
    path("-/audit/", views.audit_log, name="audit"),
    path("<str:name>/", views.route_detail, name="detail"),
    path("<str:name>/edit/", views.route_edit, name="edit"),
    path("<str:name>/manifest.yaml", download_views.route_manifest, name="manifest"),
    path("<str:name>/edit/<slug:action>/", views.route_edit_action, name="edit-action"),
    path("<str:name>/delete/", views.route_delete, name="delete"),
    path("<str:name>/reapply/", views.route_reapply, name="reapply"),
    path("<str:name>/takeover/", views.route_take_over, name="takeover"),
    path("<str:name>/test/", views.route_test, name="test"),
    path("<str:name>/gateway-api/", views.route_as_gateway_api, name="as-gateway-api"),
    path("<str:name>/gateway-api/move/", views.route_move, name="move"),
    path("<str:name>/gateway-api/move/status/", views.route_move_status, name="move-status"),
    path("<str:name>/history/", history_views.route_history, name="history"),
    path("<str:name>/history/<int:number>/manifest.yaml", download_views.version_manifest, name="version-manifest"),
    path("<str:name>/history/<int:number>/revert/", history_views.route_revert, name="revert"),
]
