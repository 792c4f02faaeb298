"""Rendered output matches the reviewed golden files and passes the strict validator.

Regenerate after an intended change: ``LANECTX_UPDATE_GOLDEN=1 pytest tests/routing``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lanectx.cli import main

GOLDEN = Path(__file__).parent / "golden"
SPEC = str(GOLDEN / "lanes.yaml")
MESHLESS = str(GOLDEN / "lanes-meshless.yaml")
LANE = ["render", "lane", "pr-42", "--service", "cart", "--image", "registry.example/cart:pr-42"]

CASES = {
    "istio.yaml": ["render", SPEC],
    "gateway-api.yaml": ["render", SPEC, "--target", "gateway-api"],
    "lane-istio.yaml": [*LANE, "--spec", SPEC],
    "lane-gateway-api.yaml": [*LANE, "--spec", SPEC, "--target", "gateway-api"],
    "lane-without-spec.yaml": [
        "render",
        "lane",
        "pr-7",
        "--service",
        "search",
        "--image",
        "search:pr-7",
        "--namespace",
        "shop",
        "--lane",
        "pr-6",
    ],
    "routes-cart.yaml": ["render", "routes", "cart", "--spec", SPEC],
    "istio-table.yaml": ["render", str(GOLDEN / "lanes-table.yaml")],
    "multiport-istio-table.yaml": ["render", str(GOLDEN / "lanes-multiport.yaml")],
    "multiport-gateway-api.yaml": [
        "render",
        str(GOLDEN / "lanes-multiport.yaml"),
        "--target",
        "gateway-api",
    ],
    "kubernetes.yaml": ["render", MESHLESS, "--target", "kubernetes"],
    "lane-kubernetes.yaml": [
        *LANE[:6],
        "registry.example/cart:pr-50",
        "--spec",
        MESHLESS,
        "--target",
        "kubernetes",
    ],
    "lane-map.yaml": [
        "render",
        "lane-map",
        MESHLESS,
        "--deployments",
        str(GOLDEN / "deployments-listing.json"),
    ],
}


def _render(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_output_matches_golden_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each CLI form prints exactly the reviewed golden YAML."""
    text = _render(CASES[name], capsys)
    golden = GOLDEN / name
    if os.environ.get("LANECTX_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_output_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    """Rendering twice gives byte-identical output."""
    assert _render(["render", SPEC], capsys) == _render(["render", SPEC], capsys)


def test_output_directory_holds_one_file_per_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o DIR`` writes one commented file per kind holding the same objects as stdout."""
    import yaml

    assert main(["render", SPEC, "-o", str(tmp_path)]) == 0
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [
        "configmaps.yaml",
        "deployments.yaml",
        "destinationrules.yaml",
        "serviceaccounts.yaml",
        "services.yaml",
        "virtualservices.yaml",
    ]
    from_files = []
    for name in names:
        text = (tmp_path / name).read_text()
        assert text.startswith("# ")
        documents = list(yaml.safe_load_all(text))
        assert {doc["kind"].lower() + "s.yaml" for doc in documents} == {name}
        from_files += documents
    from_stdout = list(yaml.safe_load_all(_render(["render", SPEC], capsys)))
    key = lambda doc: (doc["kind"], doc["metadata"]["name"])  # noqa: E731
    assert sorted(from_files, key=key) == sorted(from_stdout, key=key)


def test_golden_files_pass_the_strict_validator(validator: Path) -> None:
    """Every golden manifest validates against the Kubernetes, Istio and Gateway API schemas."""
    files = sorted(str(p) for p in GOLDEN.glob("*.yaml") if not p.name.startswith("lanes"))
    result = subprocess.run(
        [sys.executable, str(validator), *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("OK ") >= 40
