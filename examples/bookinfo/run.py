#!/usr/bin/env python3
"""Run bookinfo on this machine: four lane-aware services behind a real Envoy.

    python examples/bookinfo/run.py demo
    python examples/bookinfo/run.py up --port 8080 --lane pr-7=reviews,ratings

See README.md beside this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

try:
    from runner.cli import main
except ImportError as err:  # not the development install
    sys.exit(
        f"run.py: {err.name} is missing: run `make setup`, then "
        f"`.venv/bin/python {sys.argv[0]} ...` (or pip install -e '.[dev]')"
    )

if __name__ == "__main__":
    sys.exit(main())
