"""Lanes spec -> Istio / Gateway API / Kubernetes manifests, and a local Envoy config.

Needs PyYAML (the ``render`` extra) to read specs and write YAML::

    from lanectx.routing import load_spec, render, to_yaml

    spec = load_spec("k8s/lanes.yaml")
    print(to_yaml(render(spec, "istio")))

`lanectx.localmesh` (a model of istiod) turns the rendered Istio routes into an Envoy bootstrap.
"""

from __future__ import annotations

from ._colour_lua import gateway_unsupported, render_colouring
from ._errors import SpecError, UnsupportedRouteError
from ._lanemap import lane_map_configmap, lanes_in_cluster
from ._match import any_member_regex, baggage_regex
from ._model import Canary, Headers, Ingress, Lane, LanesSpec, Port, Service
from ._render import TARGETS, files_by_kind, render, render_lane, render_routes, to_yaml
from ._spec import check_lane_name, check_namespace, load_spec, parse_spec

__all__ = [
    "TARGETS",
    "Canary",
    "Headers",
    "Ingress",
    "Lane",
    "LanesSpec",
    "Port",
    "Service",
    "SpecError",
    "UnsupportedRouteError",
    "any_member_regex",
    "baggage_regex",
    "check_lane_name",
    "check_namespace",
    "files_by_kind",
    "gateway_unsupported",
    "lane_map_configmap",
    "lanes_in_cluster",
    "load_spec",
    "parse_spec",
    "render",
    "render_colouring",
    "render_lane",
    "render_routes",
    "to_yaml",
]
