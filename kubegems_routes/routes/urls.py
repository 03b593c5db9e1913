from django.urls import path

from kubegems_routes.routes import views

app_name = "routes"
urlpatterns = [
    path("", views.route_list, name="list"),
    path("new/", views.route_create, name="create"),
    path("ports/", views.service_ports, name="ports"),
    path("secrets/", views.tls_secrets, name="secrets"),
    path("<str:name>/", views.route_detail, name="detail"),
    path("<str:name>/edit/", views.route_edit, name="edit"),
    path("<str:name>/delete/", views.route_delete, name="delete"),
]
