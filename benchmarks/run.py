"""Run every benchmark in this folder and collect their tables.

    python benchmarks/run.py            # full runs, tables written to docs/benchmarks.md
    python benchmarks/run.py --quick    # every script, small sizes: checks they still run

Nothing here asserts a speed; each script prints ratios measured side by side.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
# script -> (quick arguments, full arguments)
SCRIPTS = {
    "asgi_lift.py": (["--quick"], []),
    "grpc_overhead.py": (["--quick"], []),
    "routing_fast_path.py": (["--lanes", "1", "20", "--requests", "200"], []),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; nothing written")
    parser.add_argument("--output", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    sections = []
    failed = []
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
        sections.append(f"## {script}\n\n```\n$ {' '.join(cmd[1:])}\n```\n\n{result.stdout}")
    if not args.quick:
        head = (
            "# Benchmarks\n\n"
            f"Run {datetime.date.today()} on {platform.machine()}, {platform.system()}, "
            f"Python {platform.python_version()}, opentelemetry-api {version('opentelemetry-api')}"
            f", lanectx {version('lanectx')}. Regenerate: `make bench`.\n\n"
        )
        args.output.write_text(head + "\n".join(sections))
    print(f"{len(SCRIPTS) - len(failed)} ran, {len(failed)} failed: {failed}" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
