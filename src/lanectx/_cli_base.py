"""What every ``lanectx`` subcommand shares: argument errors raised, not printed, and
one-line error reports with exit status 2.

    return run_command("lanectx render", lambda: render(args))
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

__all__ = ["Parser", "UsageError", "run_command"]


class UsageError(Exception):
    """A command-line problem, reported in one line."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are raised as `UsageError`, not printed with the usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def run_command(prog: str, action: Callable[[], None]) -> int:
    """Run *action*; return 0, or 2 after one line on stderr for any expected error."""
    try:
        action()
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except ImportError as err:
        sys.stderr.write(f"{prog}: error: {err.name} is needed: pip install 'lanectx[render]'\n")
        return 2
    except (UsageError, ValueError, OSError) as err:
        message = " ".join(str(err).split())
        sys.stderr.write(f"{prog}: error: {message}\n")
        return 2
    return 0
