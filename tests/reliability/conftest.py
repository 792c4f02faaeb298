"""Reliability figures: shown in the terminal summary, written as JSON when asked."""

from __future__ import annotations

import json

import pytest

from . import report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what the reliability tests measured (requests, fuzz cases, faults, leaks)."""
    figures = report.summary()
    if not figures:
        return
    terminalreporter.section("lanectx reliability figures")
    for name, values in figures.items():
        terminalreporter.write_line(f"{name}: {json.dumps(values)}")
    report.write()
