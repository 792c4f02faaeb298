"""The lane map file stays current: changes noticed within an interval, never read per call."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from lanectx import LaneConfig, lanemap
from lanectx.lanemap import _source
from lanectx.lanemap._source import LaneMapSource


def _write(path: Path, services: dict[str, list[str]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"services": services}))
    os.replace(tmp, path)


def _wait_for(source: LaneMapSource, service: str, lanes: set[str], limit: float = 3.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if source.current().lanes(service) == lanes:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"map did not show {service}={lanes} within {limit} s")


def test_missing_file_is_no_lanes(tmp_path: Path) -> None:
    """A lane map that does not exist means no lanes anywhere."""
    assert LaneMapSource(str(tmp_path / "none.json")).current() == lanemap.EMPTY


def test_created_replaced_and_rewritten_files_are_noticed(tmp_path: Path) -> None:
    """A new file, an atomic replace and an in-place rewrite each show within about a second."""
    path = tmp_path / "lanes.json"
    source = LaneMapSource(str(path), interval=0.2)
    assert source.current() == lanemap.EMPTY
    _write(path, {"reviews": ["pr-1"]})
    assert _wait_for(source, "reviews", {"pr-1"}) < 1.0
    _write(path, {"reviews": ["pr-1", "pr-2"]})
    assert _wait_for(source, "reviews", {"pr-1", "pr-2"}) < 1.0
    with open(path, "w") as file:  # rewritten in place, same inode
        json.dump({"services": {"reviews": ["pr-3"]}}, file)
    assert _wait_for(source, "reviews", {"pr-3"}) < 1.0
    path.unlink()
    assert _wait_for(source, "reviews", set()) < 1.0


def test_configmap_symlink_swap_is_noticed(tmp_path: Path) -> None:
    """A Kubernetes ConfigMap volume's ..data symlink swap is a change."""
    first, second = tmp_path / "..2026_1", tmp_path / "..2026_2"
    for folder, lanes in ((first, ["pr-1"]), (second, ["pr-2"])):
        folder.mkdir()
        (folder / "lanes.json").write_text(json.dumps({"services": {"worker": lanes}}))
    (tmp_path / "..data").symlink_to(first.name)
    (tmp_path / "lanes.json").symlink_to("..data/lanes.json")
    source = LaneMapSource(str(tmp_path / "lanes.json"), interval=0.2)
    assert source.current().lanes("worker") == {"pr-1"}
    (tmp_path / "..data_tmp").symlink_to(second.name)
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
    assert _wait_for(source, "worker", {"pr-2"}) < 1.0


def test_malformed_file_keeps_last_good_map_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken file keeps the last good map, with one WARNING however often it is checked."""
    path = tmp_path / "lanes.json"
    _write(path, {"reviews": ["pr-1"]})
    source = LaneMapSource(str(path), interval=0.0)
    assert source.current().lanes("reviews") == {"pr-1"}
    path.write_text('{"services": ')
    with caplog.at_level("WARNING", logger="lanectx"):
        for _ in range(20):
            assert source.current().lanes("reviews") == {"pr-1"}
    assert len([r for r in caplog.records if "keeping the last good" in r.message]) == 1
    _write(path, {"reviews": ["pr-2"]})
    assert source.current().lanes("reviews") == {"pr-2"}


def test_no_file_access_between_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within one interval, any number of lookups touch the file system not once."""
    path = tmp_path / "lanes.json"
    _write(path, {"reviews": ["pr-1"]})
    source = LaneMapSource(str(path), interval=60.0)
    source.current()
    calls: list[str] = []
    real_stat = os.stat

    def counting_stat(target: str) -> os.stat_result:
        calls.append(target)
        return real_stat(target)

    monkeypatch.setattr(_source.os, "stat", counting_stat)
    for _ in range(10_000):
        source.current()
    assert calls == []


def test_lane_map_follows_the_config_path(tmp_path: Path) -> None:
    """lanemap.lane_map() reads the file the config names (LANECTX_LANE_MAP)."""
    path = tmp_path / "lanes.json"
    _write(path, {"reviews": ["pr-9"]})
    config = LaneConfig.from_env({"LANECTX_LANE_MAP": str(path), "LANECTX_ROUTING": "client"})
    assert config.routing == "client"
    assert lanemap.lane_map(config).lanes("reviews") == {"pr-9"}


def test_this_process() -> None:
    """The process's service comes from LANECTX_SERVICE, else OTEL_SERVICE_NAME."""
    from lanectx._resource import process_service

    assert process_service({"LANECTX_SERVICE": "Worker", "OTEL_SERVICE_NAME": "x"}) == "worker"
    assert process_service({"OTEL_SERVICE_NAME": "reviews"}) == "reviews"
    assert process_service({}) is None
