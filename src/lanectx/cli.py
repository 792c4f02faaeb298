"""The ``lanectx`` command: render manifests from a lanes spec, write a local Envoy config.

    lanectx render k8s/lanes.yaml [--target gateway-api] [-o DIR]
    lanectx render lane pr-7 --service reviews --image reviews:pr-7 [--spec k8s/lanes.yaml]
    lanectx render routes reviews --spec k8s/lanes.yaml [--lane pr-8 ...]
    lanectx render lane-map k8s/lanes.yaml [--deployments FILE|-]   # ConfigMap lanectx-lanes
    lanectx mesh k8s/lanes.yaml --endpoint reviews/stable=127.0.0.1:9081 ... [-o envoy.json]
    lanectx report pr-7 traces.jsonl [-o DIR]
    lanectx receive -o traces.jsonl [--listen 127.0.0.1:4318]
    lanectx controller --spec lanes.yaml        (the Lane controller; docs/controller.md)
    lanectx lane create|delete|list|wait ...    (Lane objects in the cluster)

Errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cli_base import Parser, UsageError, run_command

__all__ = ["main"]


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="istio", choices=("istio", "gateway-api", "kubernetes"))
    parser.add_argument("-o", "--output", type=Path, help="write one file per kind into DIR")


def _spec_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", type=Path, help="lanes spec with the service (recommended)")
    parser.add_argument("--namespace", help="namespace (default: the spec's, else 'default')")
    parser.add_argument("--port", type=int, default=9080, help="service port without --spec")
    parser.add_argument("--protocol", default="http", choices=("http", "grpc"))
    parser.add_argument(
        "--lane",
        dest="lanes",
        action="append",
        default=[],
        metavar="LANE",
        help="another lane deployed for the service, kept in its routes",
    )


def _parsers() -> dict[str, argparse.ArgumentParser]:
    render = Parser(prog="lanectx render", description="Render every object of a lanes spec.")
    render.add_argument("spec", type=Path, help="lanes spec (YAML)")
    _output_options(render)

    lane = Parser(prog="lanectx render lane", description="Render one lane's objects + routes.")
    lane.add_argument("lane", help="lane id, such as pr-123")
    lane.add_argument("--service", required=True, help="the service the lane redeploys")
    lane.add_argument("--image", required=True, help="the lane's image of the service")
    lane.add_argument("--ttl", help="time to live recorded on the lane's objects (e.g. 72h)")
    _spec_source_options(lane)
    _output_options(lane)

    routes = Parser(prog="lanectx render routes", description="Render a service's routes.")
    routes.add_argument("service", help="the service")
    _spec_source_options(routes)
    _output_options(routes)

    lane_map = Parser(
        prog="lanectx render lane-map",
        description="Render the lane map ConfigMap (lanectx-lanes) for a spec.",
    )
    lane_map.add_argument("spec", type=Path, help="lanes spec (YAML)")
    lane_map.add_argument(
        "--deployments",
        metavar="FILE",
        help="also the lanes of `kubectl get deployments -l lanectx.dev/lane -o json` "
        "(- for stdin)",
    )

    mesh = Parser(prog="lanectx mesh", description="Write a local Envoy config for a spec.")
    mesh.add_argument("spec", type=Path, help="lanes spec (YAML)")
    mesh.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="SVC/SUBSET=HOST:PORT",
        help="where a version runs; repeat for every service and subset",
    )
    mesh.add_argument(
        "--proxy",
        action="append",
        default=[],
        metavar="KIND/NAMESPACE",
        help="a sidecar or gateway to configure as istiod would (one listener per port)",
    )
    mesh.add_argument("--listen", default="127.0.0.1:10000", metavar="HOST:PORT")
    mesh.add_argument("--admin", default="127.0.0.1:9901", metavar="HOST:PORT")
    mesh.add_argument("-o", "--output", type=Path, help="write the config to FILE")
    return {
        "render": render,
        "render lane": lane,
        "render routes": routes,
        "render lane-map": lane_map,
        "mesh": mesh,
    }


_USAGE = """usage: lanectx {render,mesh,report,receive,controller,lane} ...

commands:
  render SPEC                       every object of a lanes spec
  render lane LANE --service --image  one lane's objects plus its services' routes
  render routes SERVICE             a service's shared routing objects (after a lane goes)
  render lane-map SPEC [--deployments FILE]  the lane map ConfigMap (lanes in the cluster)
  render colouring RULES            the ingress gateway's colouring filter (EnvoyFilter)
  mesh SPEC --endpoint ...          a local Envoy config routing like the mesh
  report LANE FILE... [-o DIR]      which version served each hop (Markdown + HTML)
  receive -o FILE                   receive OTLP/HTTP traces into a file for `report`
  controller --spec SPEC            reconcile the Lane objects of a namespace
  lane create|delete|list|wait      manage Lane objects in the cluster
"""


def _emit(objects: list[dict[str, Any]], output: Path | None) -> None:
    from lanectx.routing import files_by_kind, to_yaml

    if output is None:
        sys.stdout.write(to_yaml(objects))
        return
    output.mkdir(parents=True, exist_ok=True)
    for name, text in files_by_kind(objects).items():
        (output / name).write_text(text, encoding="utf-8")


def _service_spec(args: argparse.Namespace, service: str) -> Any:
    """Return the spec for a single-service command: from --spec, or from the flags."""
    import dataclasses

    from lanectx.routing import Lane, check_lane_name, check_namespace, load_spec, parse_spec

    if args.spec is not None:
        spec = load_spec(args.spec)
        if service not in {item.name for item in spec.services}:
            known = ", ".join(item.name for item in spec.services)
            raise UsageError(f"unknown service {service!r} in {args.spec} (known: {known})")
        spec = spec.only_service(service)
        if args.namespace:
            spec = dataclasses.replace(spec, namespace=check_namespace(args.namespace))
    else:
        port = {"port": args.port, "protocol": args.protocol, "image": "unused"}
        spec = parse_spec({"namespace": args.namespace or "default", "services": {service: port}})
    for lane in args.lanes:
        spec = spec.with_lane(Lane(check_lane_name(lane, "--lane"), ((service, "deployed"),)))
    return spec


def _run(command: str, args: argparse.Namespace) -> None:
    from lanectx.routing import Lane, check_lane_name, load_spec, render, render_lane, render_routes

    if command == "render":
        _emit(render(load_spec(args.spec), args.target), args.output)
    elif command == "render lane":
        lane = check_lane_name(args.lane)
        spec = _service_spec(args, args.service)
        spec = spec.with_lane(Lane(lane, ((args.service, args.image),), args.ttl))
        _emit(render_lane(spec, lane, args.target), args.output)
    elif command == "render lane-map":
        _lane_map(args)
    elif command == "render routes":
        spec = _service_spec(args, args.service)
        _emit(render_routes(spec, spec.service(args.service), args.target), args.output)
    else:
        _mesh(args)


def _lane_map(args: argparse.Namespace) -> None:
    from lanectx.routing import lane_map_configmap, lanes_in_cluster, load_spec, to_yaml

    spec = load_spec(args.spec)
    found = None
    if args.deployments is not None:
        try:
            if args.deployments == "-":
                text = sys.stdin.read()
            else:
                text = Path(args.deployments).read_text(encoding="utf-8")
            listing = json.loads(text)
        except (OSError, ValueError) as err:
            raise UsageError(f"--deployments: {err}") from None
        found = lanes_in_cluster(spec, listing)
    sys.stdout.write(to_yaml([lane_map_configmap(spec, found)], "The lane map ConfigMap"))


def _address(text: str, flag: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"{flag}: expected HOST:PORT, got {text!r}")
    return host, int(port)


def _mesh(args: argparse.Namespace) -> None:
    from lanectx.localmesh import envoy_config, parse_endpoint, parse_proxy
    from lanectx.routing import load_spec, render

    endpoints = dict(parse_endpoint(text) for text in args.endpoint)
    proxies = [parse_proxy(text) for text in args.proxy] or None
    config = envoy_config(
        render(load_spec(args.spec), "istio"),
        endpoints,
        proxies=proxies,
        listen=_address(args.listen, "--listen"),
        admin=_address(args.admin, "--admin"),
    )
    text = json.dumps(config, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lanectx`` command with *argv* (default: ``sys.argv[1:]``); return the status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] in ("-h", "--help"):
        sys.stdout.write(_USAGE)
        return 0 if words else 2
    command = words[0]
    if command == "render" and len(words) > 1 and words[1] == "colouring":
        from lanectx.colouring._cli import main as colouring

        return colouring(words[2:])
    if command in ("report", "receive"):
        from lanectx.report._cli import main as report

        return report(command, words[1:])
    if command in ("controller", "lane"):
        from lanectx.controller._cli import controller_main, lane_main

        return (controller_main if command == "controller" else lane_main)(words[1:])
    if command == "render" and len(words) > 1 and words[1] in ("lane", "routes", "lane-map"):
        command = f"render {words[1]}"
    parsers = _parsers()

    def run() -> None:
        if command not in parsers:
            known = "render, mesh, report, receive"
            raise UsageError(f"unknown command {words[0]!r} (choose from: {known})")
        rest = words[len(command.split()) :]
        _run(command, parsers[command].parse_args(rest))

    return run_command(f"lanectx {command}", run)
