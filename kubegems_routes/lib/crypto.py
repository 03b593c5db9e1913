"""Encryption at rest for cluster credentials.

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``; MultiFernet lets a
new key be put first while old keys still decrypt (rotation). Keys come from
the KGR_CREDENTIALS_KEYS setting; without it a key is derived from
SECRET_KEY, so a database copied without the settings stays unreadable.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc:v1:"


def _fernet_key(raw: str) -> bytes:
    try:
        Fernet(raw.encode())
    except (ValueError, TypeError):
        # Any passphrase works: stretch it to a 32-byte key.
        return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())
    return raw.encode()


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def _keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, "CREDENTIALS_KEYS", ()) or ())
    return keys or (f"derived-from-secret-key:{settings.SECRET_KEY}",)


def encrypt(plain: str) -> str:
    return PREFIX + _fernet(_keys()).encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption existed; re-encrypted on next save
    try:
        return _fernet(_keys()).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "Stored cluster credentials cannot be decrypted with KGR_CREDENTIALS_KEYS; was the key changed?"
        ) from exc


class EncryptedTextField(models.TextField):
    """A TextField stored encrypted; Python code sees plain text."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
