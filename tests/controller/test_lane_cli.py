"""``lanectx lane create|delete|list|wait`` against the mock API server, in process."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from lanectx.cli import main

from .conftest import Running, lane_object
from .helpers import lane_status, mark_ready, put_lane, wait_for
from .kube_mock import KubeMock


@pytest.fixture
def lane(kubeconfig: Path) -> Callable[..., int]:
    """Run ``lanectx lane ...`` against the mock's namespace ``shop``."""

    def run(*words: str) -> int:
        return main(["lane", words[0], *words[1:], "--kubeconfig", str(kubeconfig), "-n", "shop"])

    return run


def test_create_applies_a_lane_and_a_second_create_updates_it(
    lane: Callable[..., int], mock: KubeMock, capsys: pytest.CaptureFixture[str]
) -> None:
    """create is a server-side apply as lanectx-cli; a new image is generation 2."""
    assert lane("create", "pr-7", "--service", "reviews=reviews:pr-7", "--ttl", "72h") == 0
    assert "lane pr-7 applied (generation 1)" in capsys.readouterr().out
    stored = mock.objects("lanes")["pr-7"]
    assert stored["spec"] == {
        "services": [{"name": "reviews", "image": "reviews:pr-7"}],
        "ttl": "72h",
    }
    (_, _, query, content_type, _) = mock.requests[-1]
    assert (query["fieldManager"], content_type) == (
        ["lanectx-cli"],
        "application/apply-patch+yaml",
    )
    assert lane("create", "pr-7", "--service", "reviews=reviews:pr-7b", "--ttl", "72h") == 0
    assert "(generation 2)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("words", "needle"),
    [
        (("create", "PR_7", "--service", "reviews=img"), "invalid lane name"),
        (("create", "pr-7", "--service", "reviews"), "expected SERVICE=IMAGE"),
        (("create", "pr-7"), "--service"),
        (("delete", "pr-404"), "not found"),
        (("wait", "pr-1", "--timeout", "nan-ish"), "invalid float"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    lane: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    words: tuple[str, ...],
    needle: str,
) -> None:
    """Usage errors and a missing Lane: one line on stderr, exit status 2."""
    assert lane(*words) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1


def test_an_unreachable_api_server_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kubeconfig pointing at a closed port: exit 2, one line, no traceback."""
    with KubeMock() as gone:
        path = gone.kubeconfig(tmp_path)
    assert main(["lane", "list", "--kubeconfig", str(path), "-n", "shop"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lanectx lane list: error: cannot reach the API server")
    assert err.count("\n") == 1


def test_delete_removes_the_lane_and_ignore_not_found_forgives(
    lane: Callable[..., int], mock: KubeMock
) -> None:
    """delete removes the Lane; a second delete fails unless --ignore-not-found."""
    assert lane("create", "pr-7", "--service", "reviews=img:1") == 0
    assert lane("delete", "pr-7") == 0
    assert "pr-7" not in mock.objects("lanes")
    assert lane("delete", "pr-7") == 2
    assert lane("delete", "pr-7", "--ignore-not-found") == 0


def test_list_shows_phase_expiry_and_services(
    lane: Callable[..., int],
    start_controller: Callable[..., Running],
    mock: KubeMock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """list prints one row per Lane with the phase the controller wrote."""
    start_controller()
    assert lane("create", "pr-1", "--service", "reviews=r:1", "--service", "ratings=g:1") == 0
    assert lane("create", "pr-2", "--service", "nosuch=x:1") == 0
    wait_for(lambda: lane_status(mock, "pr-2").get("phase") == "Failed", what="Failed")
    wait_for(lambda: lane_status(mock, "pr-1").get("phase") == "Pending", what="Pending")
    capsys.readouterr()
    assert lane("list") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows == [
        ["NAME", "PHASE", "EXPIRES", "SERVICES"],
        ["pr-1", "Pending", "-", "reviews,ratings"],
        ["pr-2", "Failed", "-", "nosuch"],
    ]


def test_wait_returns_when_the_lane_is_ready(
    lane: Callable[..., int],
    start_controller: Callable[..., Running],
    mock: KubeMock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """wait blocks while Pending and exits 0 once the controller reports Ready."""
    start_controller()
    assert lane("create", "pr-3", "--service", "reviews=r:3") == 0
    result: list[int] = []
    waiter = threading.Thread(
        target=lambda: result.append(lane("wait", "pr-3", "--timeout", "20", "--interval", "0.1"))
    )
    waiter.start()
    wait_for(lambda: "reviews-pr-3" in mock.objects("deployments"), what="the Deployment")
    assert waiter.is_alive()
    mark_ready(mock, "reviews-pr-3")
    waiter.join(timeout=30)
    assert result == [0]
    assert "lane pr-3 is Ready" in capsys.readouterr().out


def test_wait_fails_fast_on_a_failed_lane_and_times_out_otherwise(
    lane: Callable[..., int],
    start_controller: Callable[..., Running],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """wait exits 1 with the reason on Failed, and 1 after --timeout while Pending."""
    start_controller()
    assert lane("create", "pr-4", "--service", "nosuch=x:1") == 0
    assert lane("wait", "pr-4", "--timeout", "20", "--interval", "0.1") == 1
    assert "unknown service 'nosuch'" in capsys.readouterr().err
    assert lane("create", "pr-5", "--service", "reviews=r:5") == 0
    assert lane("wait", "pr-5", "--timeout", "0.5", "--interval", "0.1") == 1
    assert "timed out; lane pr-5 is" in capsys.readouterr().err


def test_the_controller_command_runs_until_sigterm(
    mock: KubeMock, kubeconfig: Path, base_spec: Path
) -> None:
    """`lanectx controller` reconciles a Lane, then exits 0 on SIGTERM."""
    put_lane(mock, lane_object("pr-1", {"reviews": "reviews:pr-1"}))
    command = [sys.executable, "-m", "lanectx", "controller", "--spec", str(base_spec)]
    command += ["--kubeconfig", str(kubeconfig), "-n", "shop", "--metrics-port", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: lane_status(mock, "pr-1").get("phase") == "Pending", what="Pending")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=90)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_the_controller_command_refuses_an_unknown_target(
    base_spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown --target is one line on stderr and exit status 2."""
    assert main(["controller", "--spec", str(base_spec), "--target", "nginx"]) == 2
    assert "--target: choose from istio, gateway-api" in capsys.readouterr().err


def test_the_controller_command_refuses_a_bad_gateway_namespace(
    base_spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --gateway-namespace that is no DNS label is one line on stderr and exit status 2."""
    argv = ["controller", "--spec", str(base_spec), "--gateway-namespace", "Istio_System"]
    assert main(argv) == 2
    assert "--gateway-namespace: invalid namespace 'Istio_System'" in capsys.readouterr().err
