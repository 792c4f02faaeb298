"""Measure what requests without a lane pay for the number of lanes, on a real Envoy.

For each lane count, renders a spec, starts Envoy with one echo backend per subset and
times keep-alive requests: without a lane (with the stable fast path, and with it
removed), and with the last lane's baggage (the slowest lane match). Usage::

    python benchmarks/routing_fast_path.py [--lanes 1 50 200] [--requests 3000]
"""

from __future__ import annotations

import argparse
import http.client
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lanectx.routing import parse_spec, render
from lanectx.routing.envoy import EnvoyProcess, envoy_config

HEADERS = [("user-agent", "bench"), ("accept", "*/*"), ("x-request-id", "0" * 32)]


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return


def _time(port: int, headers: list[tuple[str, str]], count: int) -> float:
    """Return the mean microseconds per request over one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(200):  # warm up
        connection.request("GET", "/", headers=dict([("host", "svc"), *headers]))
        connection.getresponse().read()
    start = time.perf_counter()
    for _ in range(count):
        connection.request("GET", "/", headers=dict([("host", "svc"), *headers]))
        connection.getresponse().read()
    connection.close()
    return (time.perf_counter() - start) / count * 1e6


def run(lanes: int, count: int, fast_path: bool) -> dict[str, float]:
    """Start Envoy for *lanes* lanes and time the request kinds."""
    spec = parse_spec(
        {
            "services": {"svc": {"port": 80, "image": "svc:1"}},
            "lanes": {f"pr-{n}": {"svc": f"svc:pr-{n}"} for n in range(1, lanes + 1)},
        }
    )
    objects = render(spec)
    if not fast_path:
        for obj in objects:
            if obj["kind"] == "VirtualService":
                obj["spec"]["http"] = [
                    r for r in obj["spec"]["http"] if r["name"] != "stable-fast-path"
                ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = ("127.0.0.1", server.server_address[1])
    endpoints = {("svc", s): address for s in ["stable", *(lane.name for lane in spec.lanes)]}
    config = envoy_config(objects, endpoints, route_header=None)
    with tempfile.TemporaryDirectory() as workdir, EnvoyProcess(config, Path(workdir)) as envoy:
        port = envoy.listener_port()
        result = {
            "no lane": _time(port, HEADERS, count),
            "other baggage": _time(port, [*HEADERS, ("baggage", "a=1,b=2")], count),
            "last lane (baggage)": _time(
                port, [*HEADERS, ("baggage", f"a=1,lane=pr-{lanes}")], count
            ),
        }
    server.shutdown()
    server.server_close()
    return result


def main() -> None:
    """Print a table of mean request times per lane count, with and without the fast path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    columns = f"{'no lane':>9} {'other baggage':>14} {'last lane':>10}"
    print(f"{'lanes':>5} {'fast path':>9}  {columns}  (us/request)")
    for lanes in args.lanes:
        for fast_path in (True, False):
            r = run(lanes, args.requests, fast_path)
            print(
                f"{lanes:>5} {'on' if fast_path else 'off':>9}  {r['no lane']:>9.1f} "
                f"{r['other baggage']:>14.1f} {r['last lane (baggage)']:>10.1f}"
            )


if __name__ == "__main__":
    main()
