from django.urls import path

from kubegems_routes.identity import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("oidc/authenticate/", views.StartSignIn.as_view(), name="oidc_authentication_init"),
    # The name mozilla-django-oidc reverses for its redirect_uri.
    path("oidc/callback/", views.FinishSignIn.as_view(), name="oidc_authentication_callback"),
]
