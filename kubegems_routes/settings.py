"""Settings, read from the environment and parsed strictly.

Embedded defaults run the console on SQLite with DEBUG on only when asked
(DJANGO_DEBUG=1); with DEBUG off a DJANGO_SECRET_KEY is required. Every secret
can also be read from NAME_FILE, which suits Kubernetes Secrets mounted as files.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# Generic Django classes (ModelForm[Route], QuerySet[Gateway]) at runtime, as the type checker sees them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path}: {exc.strerror}") from exc
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = (env(name, default) or "").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envfloat(name: str, default: str) -> float:
    raw = env(name, default) or default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from exc


def envint(name: str, default: str) -> int:
    raw = env(name, default) or default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


def parse_nameservers(items: list[str]) -> list[tuple[str, int]]:
    """(IP, port) pairs from "IP", "IP:port", "[IPv6]" or "[IPv6]:port"."""
    found = []
    for item in items:
        host, port = item, "53"
        if item.startswith("["):
            host, _bracket, rest = item[1:].partition("]")
            port = rest.removeprefix(":") or "53"
        elif item.count(":") == 1:
            host, port = item.split(":")
        try:
            ipaddress.ip_address(host)
            number = int(port)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"KGR_DNS_NAMESERVERS: {item!r} is not an IP address with an optional port"
            ) from exc
        if not 0 < number < 65536:
            raise ImproperlyConfigured(f"KGR_DNS_NAMESERVERS: {item!r} has no valid port")
        found.append((host, number))
    return found


DEBUG = envbool("DJANGO_DEBUG", "false")

SECRET_KEY = env("DJANGO_SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"  # noqa: S105
if SECRET_KEY == "change-me" and not DEBUG:  # noqa: S105 - refusing the placeholder, not using it
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is still the placeholder from deploy/base/secret.yaml")

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "template_partials",
    "kubegems_routes.lib.axes_app.LoginLockoutConfig",  # django-axes, with a translated name
    "kubegems_routes.tenancy",
    "kubegems_routes.identity",
    "kubegems_routes.gateways",
    "kubegems_routes.routes",
    "kubegems_routes.workbench",
    "kubegems_routes.demo",
]

MIDDLEWARE = [
    "kubegems_routes.lib.logs.RequestIdMiddleware",
    # Before SecurityMiddleware and host checks: kubelet probes come over plain
    # HTTP with the pod's IP as Host.
    "kubegems_routes.workbench.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check: an unreadable body answers 400, not 500.
    "kubegems_routes.lib.requests.RejectUnreadableRequestMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kubegems_routes.lib.middleware.HtmxVaryMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "kubegems_routes.identity.backend.ProviderBackend",
]

ROOT_URLCONF = "kubegems_routes.urls"
WSGI_APPLICATION = "kubegems_routes.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kubegems_routes.workbench.context.console_settings",
            ],
        },
    }
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
            conn_max_age=60,
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers write at once: wait for the lock instead of
    # failing, take it at BEGIN (no deadlocking lock upgrades), and let readers
    # read while one writer writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workbench:environments"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT") or BASE_DIR / "var" / "staticfiles")
# Hashed, compressed copies made by `collectstatic`, served by WhiteNoise with
# far-future cache headers.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Sessions read from the cache, written through to the database: one query less per request.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", "false" if DEBUG else "true")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", "false" if DEBUG else "true")
SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", "false" if DEBUG else "true")
if envbool("DJANGO_BEHIND_TLS_PROXY", "false"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Sign-in through the organisation's OpenID Connect provider (docs/sign-in.md), on when KGR_OIDC_ISSUER is set:
# the authorization code flow with PKCE, state and nonce (mozilla-django-oidc), endpoints from the issuer's
# /.well-known/openid-configuration. Local log-in stays for a break-glass admin unless KGR_LOCAL_LOGIN=false.
OIDC_ISSUER = (env("KGR_OIDC_ISSUER") or "").rstrip("/")
OIDC_RP_CLIENT_ID = env("KGR_OIDC_CLIENT_ID") or ""
OIDC_RP_CLIENT_SECRET = env("KGR_OIDC_CLIENT_SECRET") or ""
if OIDC_ISSUER and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "KGR_OIDC_ISSUER needs KGR_OIDC_CLIENT_ID and KGR_OIDC_CLIENT_SECRET (or KGR_OIDC_CLIENT_SECRET_FILE)"
    )
if OIDC_ISSUER and not OIDC_ISSUER.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"KGR_OIDC_ISSUER must be an http(s) URL, not {OIDC_ISSUER!r}")
OIDC_RP_SCOPES = " ".join(envlist("KGR_OIDC_SCOPES", "openid,email,profile"))
if "openid" not in OIDC_RP_SCOPES.split():
    raise ImproperlyConfigured("KGR_OIDC_SCOPES must include openid")
OIDC_GROUPS_CLAIM = env("KGR_OIDC_GROUPS_CLAIM", "groups") or "groups"
OIDC_PROVIDER_NAME = env("KGR_OIDC_PROVIDER_NAME", "single sign-on") or "single sign-on"
OIDC_TIMEOUT = envfloat("KGR_OIDC_TIMEOUT", "5")
LOCAL_LOGIN = envbool("KGR_LOCAL_LOGIN", "true")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of the provider's log-out
OIDC_RP_SIGN_ALGO = "RS256"

# Only the console's own scripts and styles: no inline script or style, no
# eval (htmx needs none: no hx-on, no trigger filters, indicator styles off).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # Log-out posts a form that redirects to the provider's end_session_endpoint (RP-initiated log-out).
        "form-action": [SELF, *([urlsplit(OIDC_ISSUER)._replace(path="", query="").geturl()] if OIDC_ISSUER else [])],
        "frame-ancestors": [NONE],
    }
}

# Login attempts: 5 failures for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Keys that encrypt stored cluster credentials; the first encrypts, all decrypt.
# Without them a key is derived from DJANGO_SECRET_KEY.
CREDENTIALS_KEYS = envlist("KGR_CREDENTIALS_KEYS")

# Cluster calls never hang a request: (connect, read) seconds for every call.
KUBE_CONNECT_TIMEOUT = envfloat("KGR_KUBE_CONNECT_TIMEOUT", "3")
KUBE_READ_TIMEOUT = envfloat("KGR_KUBE_READ_TIMEOUT", "10")

# Clusters registered with in-cluster credentials use the pod's ServiceAccount
# (KUBERNETES_SERVICE_HOST/PORT and these files, which kubelet mounts).
KUBE_IN_CLUSTER_TOKEN_FILE = env("KGR_IN_CLUSTER_TOKEN_FILE") or "/var/run/secrets/kubernetes.io/serviceaccount/token"
KUBE_IN_CLUSTER_CA_FILE = env("KGR_IN_CLUSTER_CA_FILE") or "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

# The TLS secret picker lists Secret names (metadata only), which needs the
# `list secrets` permission, and RBAC cannot grant names without data. Off,
# users type the secret's name and the console never lists Secrets.
SECRET_PICKER = envbool("KGR_SECRET_PICKER", "true")

# A watch-fed cache of each cluster's Ingresses and Services per process
# (kubegems_routes/kube/cache.py); off, every read goes to the API server.
KUBE_CACHE = envbool("KGR_KUBE_CACHE", "true")
# A watch with no byte (not even the API server's minutely bookmark) for this
# long is taken for stalled and reconnected.
KUBE_CACHE_STALL_TIMEOUT = envfloat("KGR_KUBE_CACHE_STALL_TIMEOUT", "90")
# After its own write, how long a save waits for the cache to see that write
# before it checks host ownership against the API server instead.
KUBE_CACHE_WRITE_WAIT = envfloat("KGR_KUBE_CACHE_WRITE_WAIT", "2")

# `make run` as root also starts the NGINX data plane for the demo gateway; 0 keeps it off.
DEMO_DATA_PLANE = envbool("KGR_DEMO_DATA_PLANE", "true")
# `KGR_DEMO_OIDC=1 make run` also starts a demo Keycloak and signs in through it (docs/sign-in.md).
DEMO_OIDC = envbool("KGR_DEMO_OIDC", "false")

# How many times a user may press a route's Test button per minute (each sends one request through the
# route's gateway); past that the button answers 429.
ROUTE_TESTS_PER_MINUTE = envint("KGR_ROUTE_TESTS_PER_MINUTE", "5")

# A route's page resolves its own host (A, AAAA, CNAME) and compares it with the gateway's address.
# KGR_DNS_NAMESERVERS: comma-separated IPs, each with an optional port (192.0.2.53:5353, [2001:db8::53]:53);
# empty, the system's resolver (/etc/resolv.conf). Each lookup takes at most KGR_DNS_TIMEOUT seconds and
# its answer is kept KGR_DNS_CACHE_SECONDS. KGR_DNS_CHECK=false resolves nothing.
DNS_CHECK = envbool("KGR_DNS_CHECK", "true")
DNS_NAMESERVERS = parse_nameservers(envlist("KGR_DNS_NAMESERVERS"))
DNS_TIMEOUT = envfloat("KGR_DNS_TIMEOUT", "2")
DNS_CACHE_SECONDS = envfloat("KGR_DNS_CACHE_SECONDS", "30")

# How many versions of each route the console keeps for its History (older ones are dropped; the audit
# log keeps its entries regardless).
ROUTE_VERSIONS_KEPT = envint("KGR_ROUTE_VERSIONS_KEPT", "50")
if ROUTE_VERSIONS_KEPT < 1:
    raise ImproperlyConfigured(f"KGR_ROUTE_VERSIONS_KEPT must be 1 or more, not {ROUTE_VERSIONS_KEPT}")

# The domain the per-cluster default gateway hands out random hosts from.
# A move to Gateway API waits at most this long for the controller to accept the new route (status.parents)
# before it takes the new route back and keeps the Ingress.
MOVE_ACCEPT_SECONDS = envfloat("KGR_MOVE_ACCEPT_SECONDS", "30")

DEFAULT_GATEWAY_DOMAIN = env("KGR_DEFAULT_GATEWAY_DOMAIN", "*.kubegems.io") or "*.kubegems.io"

# Seconds each cluster may take to answer the readiness probe.
READY_CLUSTER_TIMEOUT = envfloat("KGR_READY_CLUSTER_TIMEOUT", "2")

# JSON lines on stdout (with the request id) unless DJANGO_LOG_FORMAT=text.
LOG_FORMAT = env("DJANGO_LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kubegems_routes.lib.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "kubegems_routes.lib.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    # The kubernetes client logs request bodies at DEBUG, which would put
    # credentials and manifests in logs; keep it quiet whatever the root level.
    "loggers": {"kubernetes": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}
