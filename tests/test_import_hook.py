"""instrument() imports no client or framework; each is patched when the app imports it."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import lanectx
from lanectx._import_hook import when_imported

LIBRARIES = ["httpx", "requests", "urllib3", "grpc", "aiohttp", "starlette", "flask", "django"]
LIBRARIES.append("opentelemetry.sdk")  # imported only when an SDK provider is configured

_PROBE = """
import json, sys
import lanectx
lanectx.instrument()
loaded = [name for name in {libraries!r} if name in sys.modules]
import requests, urllib3, aiohttp.web, httpx
patched = [hasattr(f, "__lanectx_patch__") for f in (
    requests.Session.send, urllib3.connectionpool.HTTPConnectionPool.urlopen,
    aiohttp.ClientRequest.send, aiohttp.web.Application.pre_freeze,
    httpx.Client._send_single_request)]
print(json.dumps({{"loaded": loaded, "patched": patched}}))
"""


def test_instrument_imports_no_library_and_patches_on_import() -> None:
    """In a fresh interpreter instrument() loads none of them; importing one later patches it."""
    code = _PROBE.format(libraries=LIBRARIES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"loaded": [], "patched": [True] * 5}


def test_hook_runs_at_once_for_a_loaded_module() -> None:
    """A module already imported gets its hook called immediately."""
    seen: list[str] = []
    when_imported("json", lambda module: seen.append(module.__name__))
    assert seen == ["json"]


def test_hook_runs_once_after_first_import_and_can_be_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook runs once the module has been executed; a forgotten one never runs."""
    folder = str(tmp_path)
    (tmp_path / "lanectx_probe_a.py").write_text("VALUE = 1\n")
    (tmp_path / "lanectx_probe_b.py").write_text("VALUE = 2\n")
    monkeypatch.syspath_prepend(folder)
    seen: list[int] = []
    when_imported("lanectx_probe_a", lambda module: seen.append(module.VALUE))
    forget = when_imported("lanectx_probe_b", lambda module: seen.append(module.VALUE))
    forget()
    try:
        import lanectx_probe_a  # type: ignore[import-not-found]
        import lanectx_probe_b  # type: ignore[import-not-found]

        assert (lanectx_probe_a.VALUE, lanectx_probe_b.VALUE) == (1, 2)
        assert isinstance(lanectx_probe_a, types.ModuleType)
        assert seen == [1]
        assert lanectx_probe_a.__spec__.loader.__class__.__name__ == "SourceFileLoader"
    finally:
        sys.modules.pop("lanectx_probe_a", None)
        sys.modules.pop("lanectx_probe_b", None)


def test_failing_hook_is_logged_not_raised(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hook that raises does not break the application's import."""
    (tmp_path / "lanectx_probe_c.py").write_text("VALUE = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def broken(module: types.ModuleType) -> None:
        raise RuntimeError("boom")

    when_imported("lanectx_probe_c", broken)
    try:
        import lanectx_probe_c  # type: ignore[import-not-found]

        assert lanectx_probe_c.VALUE == 3
        assert "could not instrument lanectx_probe_c" in caplog.text
    finally:
        sys.modules.pop("lanectx_probe_c", None)


def test_uninstrument_before_import_leaves_the_library_alone() -> None:
    """instrument() then uninstrument() before the import: the library is not patched."""
    code = (
        "import lanectx; lanectx.instrument(); lanectx.uninstrument(); import urllib3;"
        "print(hasattr(urllib3.connectionpool.HTTPConnectionPool.urlopen, '__lanectx_patch__'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert lanectx.is_instrumented() is False
