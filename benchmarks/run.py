"""Run every benchmark in this folder and collect their tables.

    python benchmarks/run.py            # full runs, tables written to docs/benchmarks.md
    python benchmarks/run.py --quick    # every script, small sizes: checks they still run

Nothing here asserts a speed; each script prints ratios measured side by side.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
# script -> (quick arguments, full arguments)
SCRIPTS = {
    "server_inprocess.py": (["--quick"], []),  # 1. per request, ASGI/WSGI app called directly
    "server_loopback.py": (["--quick"], []),  # 1. per request, uvicorn + wrk over loopback
    "client_overhead.py": (["--quick"], []),  # 2. per outbound call: every patched client
    "hop_marking.py": (["--quick"], []),  # 2b. a server span's hop marking, SDK meter
    "grpc_overhead.py": (["--quick"], []),  # 3. per RPC, sync and aio servers
    "routing_scale.py": (["--quick"], []),  # 4. Envoy with 0..1000 lanes
    "startup.py": (["--quick"], []),  # 5. import + instrument() time
    "report.py": (["--quick"], []),  # 6. lanectx report over 10,000 spans
    "controller_scale.py": (["--quick"], []),  # 7. one controller round over 0..300 Lanes
    "hostile_input.py": (["--quick"], []),  # 8. lanectx's cost on hostile requests
    "queues.py": (["--quick"], []),  # 9. per-message queue hooks, mixed-lane isolation
}


def machine() -> str:
    """Return the CPU model, core count and load tool versions, for the report's header."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    tools = []
    for tool, flag in (("wrk", "-v"), ("hey", "-h"), ("envoy", "--version")):
        found = shutil.which(tool) or (
            str(HERE.parent / ".venv/bin/envoy") if tool == "envoy" else None
        )
        if found and Path(found).exists():
            out = subprocess.run([found, flag], capture_output=True, text=True).stdout
            tools.append(f"{tool} {' '.join(out.split()[:2]) if tool == 'wrk' else 'present'}")
        else:
            tools.append(f"{tool} missing")
    deps = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "opentelemetry-sdk",
            "opentelemetry-instrumentation-asgi",
            "starlette",
            "uvicorn",
            "httpx",
            "requests",
            "grpcio",
        )
    )
    return f"{model} x{os.cpu_count()}, {deps}; {', '.join(tools)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; nothing written")
    parser.add_argument("--output", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    sections = []
    failed = []
    started_all = time.monotonic()
    for script, (quick, full) in SCRIPTS.items():
        path = HERE / script
        if not path.exists():
            continue
        started = time.monotonic()
        cmd = [sys.executable, str(path), *(quick if args.quick else full)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        took = time.monotonic() - started
        print(f"== {script} ({took:.0f} s, exit {result.returncode})")
        print(result.stdout)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            failed.append(script)
        shown = " ".join([f"python benchmarks/{script}", *(quick if args.quick else full)])
        sections.append(f"## {script}\n\n```\n$ {shown}\n```\n\n{result.stdout}")
    if not args.quick:
        head = (
            "# Benchmarks\n\n"
            f"Run {datetime.date.today()} on {platform.machine()}, {platform.system()}, "
            f"Python {platform.python_version()}, opentelemetry-api {version('opentelemetry-api')}"
            f", lanectx {version('lanectx')}, {machine()}. Regenerate: `make bench`.\n\n"
            "Targets are marked *met* or **missed** in each table. The machine is shared\n"
            "(2 cores, noisy neighbours): every case runs beside its baseline round by round,\n"
            "and every ratio is against a baseline measured in the same run.\n\n"
        )
        args.output.write_text(head + "\n".join(sections))
    print(f"total {time.monotonic() - started_all:.0f} s")
    print(f"{len(SCRIPTS) - len(failed)} ran, {len(failed)} failed: {failed}" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
