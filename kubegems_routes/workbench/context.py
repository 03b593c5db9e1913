from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def console_settings(request: HttpRequest) -> dict[str, object]:
    """Switches the templates read."""
    return {"secret_picker": settings.SECRET_PICKER}
