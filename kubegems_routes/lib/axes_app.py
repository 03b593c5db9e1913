"""django-axes in the user's language: its AppConfig names the admin section "Axes" and its
models name themselves with English f-strings (the titles of their admin pages)."""

from __future__ import annotations

from datetime import datetime

from axes.apps import AppConfig
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class LoginLockoutConfig(AppConfig):
    verbose_name = _("Log-in lock-out")

    def ready(self) -> None:
        super().ready()
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        def when(moment: datetime | None) -> str:
            return formats.localize(timezone.localtime(moment)) if moment else ""

        AccessAttempt.__str__ = lambda self: (
            gettext("Log-in attempts by %(user)s, %(when)s")
            % {
                "user": self.username,
                "when": when(self.attempt_time),
            }
        )
        AccessFailureLog.__str__ = lambda self: (
            gettext("Failed log-in by %(user)s, %(when)s")
            % {
                "user": self.username,
                "when": when(self.attempt_time),
            }
        )
        AccessLog.__str__ = lambda self: (
            gettext("Log-in by %(user)s, %(when)s")
            % {
                "user": self.username,
                "when": when(self.attempt_time),
            }
        )
