"""Hosts of a gateway's domain: random ones, and whether a host lies under a domain."""

from __future__ import annotations

import random
import re
import string


def random_host(default_domain: str, rng: random.Random | None = None) -> str:
    """Replace each label that is exactly '*' with 5 random lowercase letters."""
    choice = (rng or random.SystemRandom()).choice
    return ".".join(
        "".join(choice(string.ascii_lowercase) for _ in range(5)) if label == "*" else label
        for label in default_domain.split(".")
    )


def is_random_host_of(host: str, default_domain: str) -> bool:
    """Whether random_host(default_domain) could have made this host."""
    labels, pattern = host.split("."), default_domain.split(".")
    return len(labels) == len(pattern) and all(
        label == p if p != "*" else re.fullmatch("[a-z]{5}", label) is not None
        for p, label in zip(pattern, labels, strict=True)
    )


def in_domain(host: str, domain: str) -> bool:
    """Whether the host lies under the domain: each '*' label of the domain matches one label of the host.

    ``*.kubegems.io`` covers ``shop.kubegems.io`` and ``*.kubegems.io`` itself, not ``a.b.kubegems.io``.
    """
    labels, pattern = host.split("."), domain.split(".")
    return len(labels) == len(pattern) and all(p in ("*", label) for p, label in zip(pattern, labels, strict=True))
