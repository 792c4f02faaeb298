"""``lanectx render colouring RULES``: the gateway EnvoyFilter for a colouring rules file.

    lanectx render colouring colouring.yaml [--namespace istio-system] [--skip-unsupported]

Errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .._cli_base import Parser, run_command

__all__ = ["main"]

_PROG = "lanectx render colouring"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog=_PROG, description="Render colouring rules for the ingress gateway.")
    parser.add_argument("rules", type=Path, help="colouring rules file (YAML)")
    parser.add_argument("--namespace", default="istio-system", help="the gateway's namespace")
    parser.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="leave out rules the gateway cannot run (regex, query, jwt) instead of failing",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the YAML to FILE")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run ``lanectx render colouring`` with *argv*; return the exit status."""

    def run() -> None:
        args = _parser().parse_args(list(argv))
        from lanectx._config import LaneConfig
        from lanectx.routing._colour_lua import render_colouring
        from lanectx.routing._yaml import dump_documents

        from ._rules import load_rules

        objects = render_colouring(
            load_rules(args.rules),
            LaneConfig.from_env(),
            namespace=args.namespace,
            skip_unsupported=args.skip_unsupported,
        )
        header = (
            f"# Lane colouring at the ingress gateway, from {args.rules.name}.\n"
            "# Apply with: kubectl apply -f <this file>\n"
        )
        text = dump_documents(objects, header)
        if args.output is None:
            sys.stdout.write(text)
        else:
            args.output.write_text(text, encoding="utf-8")

    return run_command(_PROG, run)
