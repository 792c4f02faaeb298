"""The package: public names, and `import lanectx` with only opentelemetry-api."""

from __future__ import annotations

import subprocess
import sys

import lanectx

BLOCKED = ["httpx", "requests", "grpc", "starlette", "yaml", "opentelemetry.sdk"]
BLOCKED += ["aiohttp", "urllib3", "flask", "django", "fastapi"]


def test_all_matches_public_names() -> None:
    """__all__ lists exactly the public names the package exposes."""
    public = {name for name in dir(lanectx) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(lanectx, name)).__name__ == "module"}
    assert set(lanectx.__all__) - {"__version__"} == public - modules


def test_import_needs_only_the_api() -> None:
    """With every optional library unimportable, import lanectx and use_lane still work."""
    code = (
        "import sys\n"
        f"for name in {BLOCKED!r}: sys.modules[name] = None\n"
        "import lanectx\n"
        "with lanectx.use_lane('pr-1'): print(lanectx.current_lane())\n"
        "print(lanectx.instrument())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pr-1", "True"]


def test_version_is_a_string() -> None:
    """The version lives in one place and is exported."""
    from lanectx._version import __version__

    assert lanectx.__version__ == __version__
    assert __version__.count(".") >= 2
