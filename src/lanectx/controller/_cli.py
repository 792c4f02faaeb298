"""``lanectx controller`` and ``lanectx lane create|delete|list|wait``.

    lanectx controller --spec /etc/lanectx-controller/lanes.yaml --metrics-port 9090
    lanectx lane create pr-7 --service reviews=ghcr.io/acme/reviews:pr-7 --ttl 72h -n shop
    lanectx lane wait pr-7 -n shop --timeout 300      # exit 0 Ready, 1 Failed/Expired/timeout
    lanectx lane list -n shop
    lanectx lane delete pr-7 -n shop

The commands talk to the API server of the kubeconfig (``--kubeconfig``, ``--context``),
or of the service account inside a pod. Errors: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lanectx._cli_base import Parser, UsageError, run_command

__all__ = ["controller_main", "lane_main"]

FIELD_MANAGER = "lanectx-cli"
_SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, ~/.kube)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("-n", "--namespace", help="namespace of the Lanes")


def _namespace(args: argparse.Namespace) -> str:
    from lanectx.routing import check_namespace

    if args.namespace:
        return check_namespace(args.namespace, "--namespace")
    try:
        return _SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip()
    except OSError:
        return "default"


def _guarded(prog: str, action: Callable[[], int]) -> int:
    """Run *action* like `run_command`, mapping API and connection errors to one line."""
    status = 0

    def run() -> None:
        nonlocal status
        try:
            import urllib3

            from ._kube import KubeError
        except ImportError as err:
            raise UsageError(f"{err.name} is needed: pip install 'lanectx[controller]'") from None
        try:
            status = action()
        except KubeError as err:
            raise UsageError(f"the API server refused: {err}") from None
        except urllib3.exceptions.HTTPError as err:
            raise UsageError(f"cannot reach the API server: {err}") from None

    code = run_command(prog, run)
    return code or status


def _kube(args: argparse.Namespace) -> Any:
    from kubernetes.config import ConfigException

    from ._kube import connect

    try:
        return connect(args.kubeconfig, args.context)
    except (ConfigException, OSError) as err:
        raise UsageError(f"no usable kubeconfig: {err}") from None


def controller_main(argv: Sequence[str]) -> int:
    """Run ``lanectx controller`` with *argv*; returns when SIGTERM or SIGINT arrives."""
    parser = Parser(prog="lanectx controller", description="Reconcile the Lanes of a namespace.")
    parser.add_argument("--spec", type=Path, required=True, help="base spec of stable services")
    parser.add_argument("--target", default="istio", help="render target (as lanectx render)")
    parser.add_argument("--metrics-port", type=int, default=9090, help="0: no metrics server")
    parser.add_argument("--resync", type=float, default=300.0, help="seconds between full syncs")
    parser.add_argument(
        "--gateway-namespace", help="namespace of the ingress gateway (default: the Lanes')"
    )
    _connection_options(parser)

    def action() -> int:
        from lanectx.routing import TARGETS, SpecError, check_namespace

        from ._controller import LaneController
        from ._metrics import Metrics

        args = parser.parse_args(argv)
        if args.target not in TARGETS:
            raise UsageError(f"--target: choose from {', '.join(TARGETS)}, not {args.target!r}")
        if args.gateway_namespace is not None:
            try:
                check_namespace(args.gateway_namespace, "--gateway-namespace")
            except SpecError as err:
                raise UsageError(str(err)) from None
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        metrics = Metrics()
        server = metrics.serve(args.metrics_port) if args.metrics_port else None
        controller = LaneController(
            _kube(args),
            _namespace(args),
            args.spec,
            args.target,
            metrics,
            args.resync,
            gateway_namespace=args.gateway_namespace,
        )
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        try:
            controller.run(stop)
        finally:
            if server is not None:
                server.shutdown()
        return 0

    return _guarded("lanectx controller", action)


def _lane_object(args: argparse.Namespace, namespace: str) -> dict[str, Any]:
    from lanectx.routing import check_lane_name

    services = []
    for text in args.services:
        name, sep, image = text.partition("=")
        if not sep or not name or not image:
            raise UsageError(f"--service: expected SERVICE=IMAGE, got {text!r}")
        services.append({"name": name, "image": image})
    spec: dict[str, Any] = {"services": services}
    if args.ttl:
        spec["ttl"] = args.ttl
    return {
        "apiVersion": "lanectx.dev/v1alpha1",
        "kind": "Lane",
        "metadata": {"name": check_lane_name(args.lane), "namespace": namespace},
        "spec": spec,
    }


def _lane_parsers() -> dict[str, argparse.ArgumentParser]:
    create = Parser(prog="lanectx lane create", description="Create or update a Lane.")
    create.add_argument("lane", help="lane id, such as pr-123")
    create.add_argument(
        "--service", dest="services", action="append", required=True, metavar="SERVICE=IMAGE"
    )
    create.add_argument("--ttl", help="time to live from the last change (30m, 12h, 7d)")
    delete = Parser(prog="lanectx lane delete", description="Delete a Lane and its objects.")
    delete.add_argument("lane")
    delete.add_argument("--ignore-not-found", action="store_true")
    listing = Parser(prog="lanectx lane list", description="List the Lanes of a namespace.")
    wait = Parser(prog="lanectx lane wait", description="Wait until a Lane reaches a phase.")
    wait.add_argument("lane")
    wait.add_argument("--for", dest="phase", default="Ready", choices=("Ready", "Expired"))
    wait.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    wait.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    parsers: dict[str, argparse.ArgumentParser] = {
        "create": create,
        "delete": delete,
        "list": listing,
        "wait": wait,
    }
    for parser in parsers.values():
        _connection_options(parser)
    return parsers


def _wait(kube: Any, args: argparse.Namespace, namespace: str) -> int:
    from ._kube import KubeError
    from ._lanes import API_VERSION, KIND

    deadline = time.monotonic() + args.timeout
    last = "not found"
    while True:
        try:
            lane = kube.get(API_VERSION, KIND, namespace, args.lane)
        except KubeError as err:
            if err.status != 404:
                raise
            lane = None
        if lane is not None:
            status = lane.get("status") or {}
            current = status.get("observedGeneration") == lane["metadata"].get("generation")
            phase = status.get("phase") if current else None
            ready: dict[str, Any] = next(
                (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
            )
            last = f"{phase or 'not reconciled yet'}: {ready.get('message', '')}".rstrip(": ")
            if phase == args.phase:
                sys.stdout.write(f"lane {args.lane} is {phase}\n")
                return 0
            if phase in ("Failed", "Expired"):
                sys.stderr.write(f"lanectx lane wait: lane {args.lane} is {last}\n")
                return 1
        if time.monotonic() >= deadline:
            sys.stderr.write(f"lanectx lane wait: timed out; lane {args.lane} is {last}\n")
            return 1
        time.sleep(args.interval)


def _run_lane(command: str, args: argparse.Namespace) -> int:
    from ._lanes import API_VERSION, KIND

    namespace = _namespace(args)
    if command == "create":
        obj = _lane_object(args, namespace)
        answer = _kube(args).apply(obj, FIELD_MANAGER)
        generation = answer.get("metadata", {}).get("generation", "?")
        sys.stdout.write(f"lane {args.lane} applied (generation {generation})\n")
        return 0
    kube = _kube(args)
    if command == "delete":
        meta = {"name": args.lane, "namespace": namespace}
        target = {"apiVersion": API_VERSION, "kind": KIND, "metadata": meta}
        if not kube.delete(target) and not args.ignore_not_found:
            raise UsageError(f"lane {args.lane!r} not found in namespace {namespace!r}")
        sys.stdout.write(f"lane {args.lane} deleted\n")
        return 0
    if command == "list":
        lanes, _ = kube.list(API_VERSION, KIND, namespace)
        rows: list[tuple[str, ...]] = [("NAME", "PHASE", "EXPIRES", "SERVICES")]
        for lane in lanes:
            status = lane.get("status") or {}
            services = ",".join(str(item.get("name")) for item in lane["spec"].get("services", []))
            rows.append(
                (
                    lane["metadata"]["name"],
                    status.get("phase", "-"),
                    status.get("expiresAt", "-"),
                    services,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
            sys.stdout.write("   ".join([*cells, row[3]]) + "\n")
        return 0
    return _wait(kube, args, namespace)


def lane_main(argv: Sequence[str]) -> int:
    """Run ``lanectx lane <command>`` with *argv*; return the exit status."""
    parsers = _lane_parsers()
    words = list(argv)
    if not words or words[0] not in parsers:
        sys.stderr.write("usage: lanectx lane {create,delete,list,wait} ...\n")
        return 2
    command = words[0]
    return _guarded(
        f"lanectx lane {command}",
        lambda: _run_lane(command, parsers[command].parse_args(words[1:])),
    )
