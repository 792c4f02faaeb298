"""``lanectx report`` and ``lanectx receive``.

    lanectx report pr-7 traces.jsonl [more.jsonl ...] [-o DIR] [--summary FILE]
    lanectx receive -o traces.jsonl [--listen 127.0.0.1:4318]

``report`` prints the Markdown report, or with ``-o`` writes ``DIR/report.md`` and
``DIR/report.html``; ``--summary`` also writes the summary alone (for a PR comment).
``receive`` takes OTLP/HTTP until interrupted and writes what the Collector's file
exporter would. Errors: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from .._cli_base import Parser, UsageError, run_command
from .._lane import is_valid_lane

__all__ = ["main"]


def _report_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lanectx report", description="Which version served each hop of a lane.")
    parser.add_argument("lane", help="the lane, such as pr-7")
    parser.add_argument("files", nargs="+", type=Path, help="OTLP/JSON files (one request a line)")
    parser.add_argument("-o", "--output", type=Path, help="write report.md and report.html here")
    parser.add_argument("--summary", type=Path, help="also write the summary alone to FILE")
    parser.add_argument("--min-samples", type=int, default=20, help="hops a side for a verdict")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level")
    parser.add_argument("--traces", type=int, default=50, help="hop trees in the Markdown")
    return parser


def _receive_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lanectx receive", description="Receive OTLP/HTTP traces into a file.")
    parser.add_argument("-o", "--output", type=Path, required=True, help="file to append to")
    parser.add_argument("--listen", default="127.0.0.1:4318", metavar="HOST:PORT")
    return parser


def _report(args: argparse.Namespace) -> None:
    from . import build_report, html_page, markdown, read_files

    if not is_valid_lane(args.lane):
        raise UsageError(f"{args.lane!r} is not a valid lane id")
    if args.min_samples < 1 or not 0 < args.alpha < 1:
        raise UsageError("--min-samples must be at least 1 and --alpha between 0 and 1")
    spans, skipped = read_files(args.files)
    report = build_report(spans, args.lane, args.min_samples, args.alpha, skipped)
    text = markdown(report, args.traces)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "report.md").write_text(text, encoding="utf-8")
        (args.output / "report.html").write_text(html_page(report), encoding="utf-8")
        print(f"{len(report.traces)} traces of {args.lane}: {args.output / 'report.html'}")
    if args.summary is not None:
        args.summary.write_text(markdown(report, traces=0), encoding="utf-8")


def _receive(args: argparse.Namespace) -> None:
    from ._receiver import OtlpReceiver

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen: expected HOST:PORT, got {args.listen!r}")
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with OtlpReceiver(args.output, host.strip("[]"), int(port)) as receiver:
            print(f"receiving OTLP/HTTP at {receiver.endpoint}/v1/traces into {args.output}")
            sys.stdout.flush()
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
            print(f"{receiver.requests} export requests written to {args.output}")
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(command: str, argv: Sequence[str]) -> int:
    """Run ``lanectx <command>`` (``report`` or ``receive``) with *argv*; return the status."""
    if command == "report":
        return run_command("lanectx report", lambda: _report(_report_parser().parse_args(argv)))
    return run_command("lanectx receive", lambda: _receive(_receive_parser().parse_args(argv)))
