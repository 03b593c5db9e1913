"""Test settings: the real settings, with a throwaway secret and an in-memory-ish database."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")  # the test client speaks plain HTTP
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")  # so does the browser against the live server
os.environ.setdefault("DJANGO_LOG_FORMAT", "text")  # readable in pytest's captured output

from kubegems_routes.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Static files come from finders in tests; no collected STATIC_ROOT is needed.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
AXES_VERBOSE = False  # keep test output readable
# Watch-fed cluster caches start threads; tests that use them turn them on with
# the kube_cache fixture, which stops them afterwards.
KUBE_CACHE = False
# No test resolves a host through the machine's resolver: those that check DNS turn it on against their
# own loopback DNS server (tests/dns_server.py).
DNS_CHECK = False
