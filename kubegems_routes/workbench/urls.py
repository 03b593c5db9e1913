from django.urls import path

from kubegems_routes.workbench import views

app_name = "workbench"
urlpatterns = [
    path("", views.environments, name="environments"),
    path("environments/<int:environment_id>/", views.environment, name="environment"),
]
