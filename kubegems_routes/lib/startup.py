"""Load the settings before anything else, and refuse to start with one clear line if they are wrong.

manage.py, the WSGI module and gunicorn's configuration call this first, so a
missing DJANGO_SECRET_KEY or a malformed value stops the process with one line
on stderr and exit status 2, not a traceback from deep inside Django or gunicorn.
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured


def load_settings_or_exit() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kubegems_routes.settings")
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - importing the settings module is the check
    except (ImproperlyConfigured, ValueError, OSError) as exc:
        message = " ".join(str(exc).split())
        sys.stderr.write(f"kubegems-routes: refusing to start: {message}\n")
        sys.stderr.flush()
        raise SystemExit(2) from None
