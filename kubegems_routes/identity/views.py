"""Log-in page, provider sign-in (start and return), and log-out that also ends the provider's session."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from kubegems_routes.identity.backend import SignInRefused
from kubegems_routes.identity.provider import ProviderUnavailable, discover, enabled


class LoginView(auth_views.LoginView):
    """Django's log-in, with "Sign in with <provider>" first; local log-in can be switched off."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["local_login"] = settings.LOCAL_LOGIN or not enabled()
        context["provider_name"] = settings.OIDC_PROVIDER_NAME
        context["provider_enabled"] = enabled()
        context["provider_problem"] = None
        if enabled():
            try:
                discover()
            except ProviderUnavailable as exc:
                context["provider_problem"] = str(exc)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if enabled() and not settings.LOCAL_LOGIN:
            return self.render_to_response(self.get_context_data(), status=403)
        return super().post(request, *args, **kwargs)


class StartSignIn(OIDCAuthenticationRequestView):
    """Off to the provider, with state, nonce and a PKCE challenge kept in the session."""

    def __init__(self, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not enabled():
            return redirect(settings.LOGIN_URL)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discover().authorization_endpoint
        except ProviderUnavailable as exc:
            return refused(request, _("The sign-in provider cannot be reached: %(why)s") % {"why": exc}, status=503)
        response: HttpResponseBase = super().get(request)
        return response


class FinishSignIn(OIDCAuthenticationCallbackView):
    """Back from the provider: the code exchanged and the ID token checked, or a page saying why not."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not enabled():
            return redirect(settings.LOGIN_URL)
        if request.GET.get("error"):
            super().get(request)  # forgets the state
            return refused(
                request, _("The provider did not sign you in (%(error)s).") % {"error": request.GET["error"]}
            )
        try:
            response: HttpResponseBase = super().get(request)
        except SignInRefused as exc:
            return refused(request, exc.message)
        except SuspiciousOperation:
            return refused(request, _("This sign-in was already used or was not started here. Please sign in again."))
        return response

    def login_failure(self) -> HttpResponseBase:
        if "code" not in self.request.GET or "state" not in self.request.GET:
            return refused(self.request, _("The provider's answer lacks the sign-in code."))
        if getattr(self, "user", None) is not None and not self.user.is_active:
            return refused(self.request, _("Your account in the console is disabled."))
        return refused(self.request, _("This sign-in was already used or was not started here. Please sign in again."))

    def login_success(self) -> HttpResponseBase:
        response: HttpResponseBase = super().login_success()
        if getattr(self.request, "sign_in_without_groups", False):
            messages.warning(
                self.request,
                _(
                    "The provider sent no groups (the %(claim)s claim), so you have no roles here. "
                    "Ask your administrator to add the groups to the console's client."
                )
                % {"claim": settings.OIDC_GROUPS_CLAIM},
            )
        return response


def admin_login(request: HttpRequest) -> HttpResponseBase:
    """With a provider, admin's own log-in form gives way to the console's (which offers the provider, and
    local log-in only while KGR_LOCAL_LOGIN allows it)."""
    from django.contrib import admin

    if not enabled():
        return admin.site.login(request)
    query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
    return HttpResponseRedirect(f"{reverse('login')}?{query}")


def refused(request: HttpRequest, reason: str, *, status: int = 403) -> HttpResponse:
    return render(
        request,
        "identity/refused.html",
        {"reason": reason, "provider_name": settings.OIDC_PROVIDER_NAME},
        status=status,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponseBase:
    """End the console's session, and the provider's too when the user signed in there (RP-initiated)."""
    id_token = request.session.get("oidc_id_token")
    auth.logout(request)
    after = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
    if id_token and enabled():
        try:
            end_session = discover().end_session_endpoint
        except ProviderUnavailable:
            end_session = None
        if end_session:
            query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": after})
            return HttpResponseRedirect(f"{end_session}?{query}")
    return HttpResponseRedirect(after)
