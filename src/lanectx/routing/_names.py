"""Kubernetes object names: built in one place and checked against the length rules.

deployment = object_name("Deployment", "reviews", "pr-7")  # 'reviews-pr-7'
"""

from __future__ import annotations

import re

from ._errors import SpecError

__all__ = ["DNS_LABEL", "check_name", "object_name"]

DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

# Services are DNS-1035 labels; a Deployment's name becomes its pods' name prefix and
# hostname, so it is held to the same 63 characters. Everything else is a DNS subdomain.
_LABEL_KINDS = {"Service": 63, "Deployment": 63}
_SUBDOMAIN_MAX = 253


def check_name(kind: str, name: str, where: str = "") -> str:
    """Return *name* if it is a valid name for a *kind* object, else raise `SpecError`."""
    at = f"{where}: " if where else ""
    limit = _LABEL_KINDS.get(kind, _SUBDOMAIN_MAX)
    if len(name) > limit:
        raise SpecError(
            f"{at}{kind} name {name!r} is {len(name)} characters; Kubernetes allows at most "
            f"{limit}: shorten the service or lane name"
        )
    pattern = DNS_LABEL if kind in _LABEL_KINDS else _SUBDOMAIN
    if pattern.fullmatch(name) is None:
        raise SpecError(f"{at}{kind} name {name!r} is not a valid Kubernetes name")
    return name


def object_name(kind: str, *parts: str, where: str = "") -> str:
    """Join *parts* with ``-`` and check the result as a *kind* name."""
    return check_name(kind, "-".join(parts), where)
