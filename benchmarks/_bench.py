"""Helpers shared by the benchmark scripts: interleaved rounds, statistics, tables, load.

    from _bench import interleave, summary, load, pinned

Nothing here asserts a speed. `load` drives a URL with ``wrk`` (else ``hey``, else a
small Python keep-alive loop, labelled as such) for a bounded number of seconds, and
raises when any response is not 2xx (a benchmark of error pages measures nothing);
`pinned` prefixes a command with ``taskset -c <core>`` when there are two cores.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

SERVER_CORE, LOAD_CORE = 0, 1


def interleave(
    cases: Sequence[str], rounds: int, run: Callable[[str], float]
) -> dict[str, list[float]]:
    """Run every case once per round, in a rotating order; return the samples per case."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(run(name))
    return samples


def paired(
    pairs: Sequence[tuple[str, str]], rounds: int, run: Callable[[str], float]
) -> dict[str, list[float]]:
    """Run each (baseline, case) pair back to back once per round, alternating which goes
    first, the pairs in a rotating order; return the samples per name, aligned by round.

    A ratio of the two samples of one round compares runs seconds apart, which is what
    keeps a shared machine's drift out of the comparison.
    """
    samples: dict[str, list[float]] = {name: [] for pair in pairs for name in pair}
    order = list(pairs)
    for number in range(rounds):
        shift = number % len(order)
        for base, case in order[shift:] + order[:shift]:
            for name in (base, case) if number % 2 == 0 else (case, base):
                samples[name].append(run(name))
    return samples


def summary(values: Sequence[float]) -> tuple[float, float, float]:
    """Return (median, min, max) of *values*."""
    return statistics.median(values), min(values), max(values)


def spread(values: Sequence[float]) -> str:
    """Return the min-max range of *values* as a table cell."""
    return f"{min(values):.2f}-{max(values):.2f}"


def verdict(ok: bool) -> str:
    """Return the table word for a target."""
    return "met" if ok else "**missed**"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:*port*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def pinned(core: int, command: Sequence[str]) -> list[str]:
    """Return *command* pinned to *core* with taskset, when there are two cores and taskset."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core), *command]
    return list(command)


def load_tool() -> str:
    """Return the load generator `load` uses: ``wrk``, ``hey`` or ``python loop``."""
    for tool in ("wrk", "hey"):
        if shutil.which(tool):
            return tool
    return "python loop"


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _wrk(url: str, headers: Sequence[str], seconds: float, connections: int) -> tuple[float, ...]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(
        pinned(LOAD_CORE, [*command, url]), capture_output=True, text=True, timeout=60, check=True
    ).stdout
    failed = re.search(r"Non-2xx or 3xx responses: \d+", out)
    if failed:
        raise RuntimeError(f"wrk {url}: {failed.group(0)}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {
        p: float(v) * _UNITS[u] for p, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)\b", out)
    }
    return rps, lat["50"], lat["99"]


def _hey(url: str, headers: Sequence[str], seconds: float, connections: int) -> tuple[float, ...]:
    command = ["hey", "-z", f"{seconds}s", "-c", str(connections)]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(
        pinned(LOAD_CORE, [*command, url]), capture_output=True, text=True, timeout=60, check=True
    ).stdout
    statuses = re.findall(r"\[(\d{3})\]\s+\d+ responses", out)
    if any(not status.startswith("2") for status in statuses) or "Error distribution" in out:
        raise RuntimeError(f"hey {url}: not every response was 2xx: {statuses}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"(50|99)% in ([\d.]+) secs", out))
    return rps, float(lat["50"]) * 1e3, float(lat["99"]) * 1e3


def _python(url: str, headers: Sequence[str], seconds: float) -> tuple[float, ...]:
    parts = urlsplit(url)
    sent = dict(h.split(": ", 1) for h in headers)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    try:
        while (start := time.perf_counter()) < deadline:
            connection.request("GET", parts.path or "/", headers=sent)
            response = connection.getresponse()
            response.read()
            if not 200 <= response.status < 300:
                raise RuntimeError(f"GET {url}: status {response.status}")
            times.append(time.perf_counter() - start)
    finally:
        connection.close()
    times.sort()
    return len(times) / seconds, times[len(times) // 2] * 1e3, times[int(len(times) * 0.99)] * 1e3


def load(
    url: str, headers: Sequence[str] = (), seconds: float = 3.0, connections: int = 8
) -> tuple[float, float, float]:
    """Drive *url* for *seconds*; return (requests/s, p50 ms, p99 ms).

    *headers* are ``"name: value"`` strings. The load runs on `LOAD_CORE`.
    """
    tool = load_tool()
    if tool == "wrk":
        rps, p50, p99 = _wrk(url, headers, seconds, connections)
    elif tool == "hey":
        rps, p50, p99 = _hey(url, headers, seconds, connections)
    else:
        rps, p50, p99 = _python(url, headers, seconds)
    return rps, p50, p99


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate *process* (one we started), killing it if it does not exit."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
