"""Bad specs and bad arguments give one clear line on stderr and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanectx.cli import main

GOOD = """\
namespace: shop
services:
  cart: {port: 8080, image: cart:1}
  prices: {port: 50051, protocol: grpc, image: prices:1}
lanes:
  pr-1: {cart: cart:pr-1}
"""

SPEC_ERRORS = [
    (
        GOOD + "  pr-2: {basket: basket:pr-2}\n",
        "lanes.pr-2: unknown service 'basket' (known: cart, prices)",
    ),
    (GOOD + "  PR_2: {cart: cart:x}\n", "lanes.PR_2: invalid lane name 'PR_2'"),
    (GOOD + "  stable: {cart: cart:x}\n", "lane name 'stable' is reserved"),
    (GOOD + f"  {'l' * 41}: {{cart: x}}\n", "invalid lane name"),
    (
        GOOD.replace("prices:", "a-long-service-name-for-prices:", 1)
        + f"  {'l' * 40}: {{a-long-service-name-for-prices: x}}\n",
        f"lanes.{'l' * 40}: Deployment name 'a-long-service-name-for-prices-{'l' * 40}' is 71"
        " characters; Kubernetes allows at most 63",
    ),
    (
        GOOD.replace(
            "{port: 8080, image: cart:1}", "{image: cart:1, ports: [{port: 80}, {port: 80}]}"
        ),
        "services.cart.ports[1].port: duplicate port 80",
    ),
    (GOOD + "  pr-1: {prices: p}\n", "duplicate key 'pr-1'"),
    (GOOD.replace("grpc", "tcp"), "services.prices.protocol: expected one of grpc, http"),
    (GOOD.replace("port: 8080", "port: 80800"), "services.cart.port: expected a port number"),
    (GOOD.replace("namespace: shop", "namespace: Shop"), "namespace: invalid namespace 'Shop'"),
    (GOOD + "  pr-3: {services: {cart: c}, ttl: forever}\n", "lanes.pr-3.ttl: expected a duration"),
    (GOOD + "  pr-3: {}\n", "lanes.pr-3: a lane must redeploy at least one service"),
    (GOOD.replace("image: cart:1", "image: cart:1, replicas: 2"), "unknown key 'replicas'"),
    (
        GOOD.replace("image: cart:1", "image: cart:1, canary: {image: c:2, weight: 100}"),
        "canary.weight: expected a percentage 1-99",
    ),
    ("services: [cart]\n", "services: expected a mapping, got list"),
    (GOOD + "laneRouting: hash\n", "laneRouting: expected one of routes, table, got 'hash'"),
    ("namespace: [unclosed\n", "line 2"),
    (GOOD + "meshRootNamespace: Istio\n", "meshRootNamespace: invalid namespace 'Istio'"),
]


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize(("text", "message"), SPEC_ERRORS, ids=[m for _, m in SPEC_ERRORS])
def test_spec_error_is_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """Each invalid spec is reported in one line naming the spec file and the problem."""
    spec = tmp_path / "lanes.yaml"
    spec.write_text(text)
    err = _error(["render", str(spec)], capsys)
    assert message in err
    assert err.startswith(f"lanectx render: error: {spec}")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["render", "lane", "Bad!", "--service", "cart", "--image", "x"], "invalid lane name"),
        (["render", "lane", "pr-1", "--service", "cart"], "required: --image"),
        (["render", "lane", "pr-1", "--service", "Cart", "--image", "x"], "invalid service"),
        (["render", "lane", "pr-1", "--service", "c", "--image", "x", "--lane", "x_"], "--lane"),
        (["render", "lane", "pr-1", "--service", "c", "--image", "x", "--target", "k"], "target"),
        (["render", "/does/not/exist.yaml"], "cannot read the spec"),
        (["deploy"], "unknown command 'deploy'"),
        (["mesh", "/does/not/exist.yaml"], "cannot read the spec"),
    ],
)
def test_argument_error_is_one_line_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Bad arguments are reported in one line, never with a traceback or usage dump."""
    assert message in _error(argv, capsys)


def test_unknown_service_with_spec_names_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``render lane --spec`` for a service missing from the spec lists the known services."""
    spec = tmp_path / "lanes.yaml"
    spec.write_text(GOOD)
    argv = ["render", "lane", "pr-9", "--service", "basket", "--image", "b", "--spec", str(spec)]
    assert "unknown service 'basket'" in _error(argv, capsys)


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` prints usage and succeeds."""
    assert main(["--help"]) == 0
    assert "render lane" in capsys.readouterr().out
    assert main(["render", "lane", "--help"]) == 0
    assert "--service" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["gateway-api", "istio"])
def test_objects_that_would_share_a_name_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """Lane http-81 of a two-port service names its HTTPRoute like port 81's default
    route: refused (never one silently overwriting the other); Istio output has no clash."""
    spec = tmp_path / "lanes.yaml"
    spec.write_text(
        "services: {cart: {image: c:1, ports: [{port: 80}, {port: 81}]}}\n"
        "lanes: {http-81: {cart: c:x}}\n"
    )
    argv = ["render", str(spec), "--target", target]
    if target == "istio":
        assert main(argv) == 0
        return
    err = _error(argv, capsys)
    assert "two different HTTPRoute objects would be named 'cart-http-81'" in err
