from django.urls import path

from kubegems_routes.identity import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    # Before admin's own URLs (kubegems_routes/urls.py includes these first).
    path("admin/login/", views.admin_login),
    path("admin/logout/", views.logout),  # the provider's session ends from admin's Log out too
    path("oidc/authenticate/", views.StartSignIn.as_view(), name="oidc_authentication_init"),
    # The name mozilla-django-oidc reverses for its redirect_uri.
    path("oidc/callback/", views.FinishSignIn.as_view(), name="oidc_authentication_callback"),
]
