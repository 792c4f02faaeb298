"""Where the controller's objects may be: the kinds it applies and the lists pruning reads.

    scopes = prune_scopes(plan.objects, "istio", "shop", gateway_namespace="istio-system")
    for api_version, kind, namespace, selector in scopes:
        items, _ = kube.list(api_version, kind, namespace, selector)

Every list is by label: the controller never deletes what it did not make.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._colouring import LANES_NAMESPACE
from ._reconcile import MANAGED_BY, MANAGER

__all__ = ["MANAGED_KINDS", "SELECTOR", "prune_scopes"]

SELECTOR = f"{MANAGED_BY}={MANAGER}"
# Kinds the controller may have applied, per target: listed (by label) for pruning. Kinds
# rendered for a target not named here are pruned once the plan holds one of them.
_COMMON_KINDS = (("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap"))
_FILTER_KIND = ("networking.istio.io/v1alpha3", "EnvoyFilter")
MANAGED_KINDS = {
    "istio": (
        *_COMMON_KINDS,
        ("networking.istio.io/v1", "DestinationRule"),
        ("networking.istio.io/v1", "VirtualService"),
        _FILTER_KIND,
    ),
    "gateway-api": (*_COMMON_KINDS, ("gateway.networking.k8s.io/v1", "HTTPRoute")),
}


def prune_scopes(
    objects: Iterable[Mapping[str, Any]], target: str, namespace: str, gateway_namespace: str
) -> list[tuple[str, str, str, str]]:
    """Return (apiVersion, kind, namespace, label selector) of every list pruning reads.

    Every managed kind of *target* and of *objects* in the Lanes' *namespace*; and, for
    Istio, the colouring EnvoyFilter of these Lanes (only) in *gateway_namespace*.
    """
    kinds = dict.fromkeys(MANAGED_KINDS.get(target, _COMMON_KINDS))
    kinds.update(dict.fromkeys((str(obj["apiVersion"]), str(obj["kind"])) for obj in objects))
    scopes = [(api_version, kind, namespace, SELECTOR) for api_version, kind in kinds]
    if gateway_namespace != namespace and target == "istio":
        mine = f"{SELECTOR},{LANES_NAMESPACE}={namespace}"  # not another namespace's filter
        scopes.append((*_FILTER_KIND, gateway_namespace, mine))
    return scopes
