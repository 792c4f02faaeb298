"""The per-PR workflow's Lane path: its `lanectx lane` commands, run against the mock."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from lanectx.cli import main

from .conftest import ROOT, Running
from .helpers import mark_ready, routed_lanes, wait_for
from .kube_mock import KubeMock

WORKFLOW = ROOT / ".github" / "workflows" / "lane.yaml"


def _steps(job: str) -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return list(workflow["jobs"][job]["steps"])


def _lane_commands(job: str) -> list[list[str]]:
    """The `lanectx lane` lines of *job*'s Lane-path steps, with the shell values filled in."""
    values = {
        "$LANE": "pr-31",
        "$NAMESPACE": "shop",
        "$args": "--service reviews=ghcr.io/acme/bookinfo-reviews:pr-31",
    }
    commands = []
    for step in _steps(job):
        if "vars.LANECTX_LANES != 'shell'" not in str(step.get("if", "")):
            continue
        for line in str(step["run"]).splitlines():
            line = line.strip()
            if line.startswith("lanectx lane "):
                for name, value in values.items():
                    line = line.replace(f'"{name}"', value).replace(name, value)
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_shell_path_is_kept_behind_a_variable() -> None:
    """Every CI-shell step and the expiry job run only with LANECTX_LANES=shell."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert "vars.LANECTX_LANES == 'shell'" in workflow["jobs"]["expire"]["if"]
    for job in ("deploy", "cleanup"):
        shell = [step for step in _steps(job) if "CI shell" in str(step.get("name"))]
        assert shell
        assert all("vars.LANECTX_LANES == 'shell'" in step["if"] for step in shell)


def test_the_workflow_commands_create_wait_for_and_delete_a_lane(
    mock: KubeMock,
    kubeconfig: Path,
    start_controller: Callable[..., Running],
) -> None:
    """deploy's create + wait return 0 once the lane is Ready; cleanup's delete removes it."""
    deploy, cleanup = _lane_commands("deploy"), _lane_commands("cleanup")
    assert [words[1] for words in deploy] == ["create", "wait"]
    assert [words[1] for words in cleanup] == ["delete"]
    start_controller()
    config = ["--kubeconfig", str(kubeconfig)]
    assert main([*deploy[0], *config]) == 0
    result: list[int] = []
    waiter = threading.Thread(target=lambda: result.append(main([*deploy[1], *config])))
    waiter.start()
    wait_for(lambda: "reviews-pr-31" in mock.objects("deployments"), what="the Deployment")
    mark_ready(mock, "reviews-pr-31")
    waiter.join(timeout=30)
    assert result == [0]
    assert mock.objects("lanes")["pr-31"]["spec"]["ttl"] == "168h"
    assert routed_lanes(mock, "reviews") == {"pr-31"}
    assert main([*cleanup[0], *config]) == 0
    wait_for(lambda: routed_lanes(mock, "reviews") == set(), what="routes without the lane")
