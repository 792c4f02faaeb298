"""LaneConfig: validated at construction, from LANECTX_* variables, host allowlist."""

from __future__ import annotations

import pytest

from lanectx import ConfigurationError, LaneConfig


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lane_headers": "x-lane-id"},
        {"lane_headers": ("bad header",)},
        {"baggage_key": ""},
        {"baggage_key": "a=b"},
        {"outbound_header": "x lane"},
        {"allowed_hosts": ("http://x",)},
        {"pr_prefix": "PR_"},
        {"enabled": "yes"},
        {"lane_headers": ("baggage",)},
        {"routing": "sidecar"},
        {"routing": "CLIENT"},
        {"lane_map": ""},
    ],
)
def test_bad_values_raise_configuration_error(kwargs: dict[str, object]) -> None:
    """Every bad setting raises ConfigurationError (a ValueError) at construction."""
    with pytest.raises(ConfigurationError):
        LaneConfig(**kwargs)  # type: ignore[arg-type]


def test_config_is_frozen_and_normalised() -> None:
    """Header names are lowercased; the config cannot be changed after construction."""
    config = LaneConfig(lane_headers=["X-Lane"])  # type: ignore[arg-type]
    assert config.lane_headers == ("x-lane",)
    with pytest.raises(AttributeError):
        config.baggage_key = "x"  # type: ignore[misc]


def test_from_env_reads_every_variable() -> None:
    """LANECTX_* variables set every field; unset ones keep defaults."""
    config = LaneConfig.from_env(
        {
            "LANECTX_ENABLED": "false",
            "LANECTX_LANE_HEADERS": "X-Env, x-lane",
            "LANECTX_PR_HEADERS": "",
            "LANECTX_PR_PREFIX": "change-",
            "LANECTX_BAGGAGE_KEY": "env",
            "LANECTX_OUTBOUND_HEADER": "",
            "LANECTX_ALLOWED_HOSTS": "*.corp, <loopback>",
        }
    )
    assert config == LaneConfig(
        enabled=False,
        lane_headers=("x-env", "x-lane"),
        pr_headers=(),
        pr_prefix="change-",
        baggage_key="env",
        outbound_header=None,
        allowed_hosts=("*.corp", "<loopback>"),
    )
    assert LaneConfig.from_env({}) == LaneConfig()


@pytest.mark.parametrize("env", [{"LANECTX_ENABLED": "maybe"}, {"LANECTX_BAGGAGE_KEY": "a b"}])
def test_from_env_names_the_variable_in_errors(env: dict[str, str]) -> None:
    """A bad variable gives a ConfigurationError that names the environment."""
    with pytest.raises(ConfigurationError, match="LANECTX"):
        LaneConfig.from_env(env)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("reviews", True),
        ("reviews.default.svc", True),
        ("reviews.default.svc.cluster.local", True),
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("api.stripe.com", False),
        ("svc", True),
        ("evil-svc.com", False),
        ("10.0.0.1", False),
        ("", False),
        (None, False),
    ],
)
def test_default_allowlist(host: str | None, allowed: bool) -> None:
    """Short names, *.svc, *.svc.cluster.local, localhost and loopback are allowed by default."""
    assert LaneConfig().host_allowed(host) is allowed


def test_custom_allowlist_patterns() -> None:
    """'*' allows all; '*.suffix' matches subdomains only; exact names match exactly."""
    assert LaneConfig(allowed_hosts=("*",)).host_allowed("api.stripe.com")
    config = LaneConfig(allowed_hosts=("*.corp.example", "partner.example"))
    assert config.host_allowed("a.corp.example")
    assert not config.host_allowed("corp.example")
    assert config.host_allowed("PARTNER.example")
    assert not config.host_allowed("reviews")


@pytest.mark.parametrize("value", ["sidecar", "meshless", "1"])
def test_unknown_routing_mode_from_env_is_an_error(value: str) -> None:
    """LANECTX_ROUTING accepts mesh or client only."""
    with pytest.raises(ConfigurationError, match="routing"):
        LaneConfig.from_env({"LANECTX_ROUTING": value})


def test_routing_defaults_to_mesh_and_reads_env() -> None:
    """The default is mesh routing; LANECTX_ROUTING=client and LANECTX_LANE_MAP are read."""
    assert LaneConfig().routing == "mesh"
    assert LaneConfig().lane_map == "/etc/lanectx/lanes.json"
    config = LaneConfig.from_env({"LANECTX_ROUTING": "Client", "LANECTX_LANE_MAP": "/x.json"})
    assert (config.routing, config.lane_map) == ("client", "/x.json")
