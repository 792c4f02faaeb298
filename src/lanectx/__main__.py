"""``python -m lanectx``: the lanectx command line (see `lanectx.cli`)."""

from __future__ import annotations

import sys

from lanectx.cli import main

if __name__ == "__main__":
    sys.exit(main())
