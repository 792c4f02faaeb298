"""The shipped collector writes what `lanectx report` reads, where CI can copy it from."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from lanectx.report import SpanReader

from .otlp_json import export_request, span

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
TELEMETRY = ROOT / "k8s" / "telemetry"


def test_traces_pipeline_writes_otlp_json_files_to_a_shared_volume() -> None:
    """A json file exporter in the traces pipeline writes to a volume report-files reads."""
    config = yaml.safe_load((TELEMETRY / "collector.yaml").read_text())
    (name,) = [n for n in config["service"]["pipelines"]["traces"]["exporters"] if "file" in n]
    exporter = config["exporters"][name]
    assert exporter["format"] == "json"
    folder = PurePosixPath(exporter["path"]).parent
    (deployment, _) = yaml.safe_load_all((TELEMETRY / "collector-deployment.yaml").read_text())
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    for container in ("collector", "report-files"):
        mounts = {m["mountPath"]: m["name"] for m in containers[container]["volumeMounts"]}
        assert mounts.get(str(folder)) == "lanes", container
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["lanes"]


def test_stable_named_by_the_collector_is_stable() -> None:
    """The collector sets service.lane=stable on stable resources; the report reads no lane."""
    request = export_request([span("1", "1", None, "details", lane="pr-7")])
    attributes = request["resourceSpans"][0]["resource"]["attributes"]
    attributes.append({"key": "service.lane", "value": {"stringValue": "stable"}})
    (read,) = SpanReader().spans(request)
    assert read.service_lane is None
    assert read.version == "stable"


def test_ci_workflow_reports_uploads_and_posts_the_summary() -> None:
    """The deploy job copies the collector's traces, runs lanectx report, uploads and posts."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "lane.yaml").read_text())
    steps = workflow["jobs"]["deploy"]["steps"]
    (report,) = [s for s in steps if "lanectx report" in s.get("run", "")]
    config = yaml.safe_load((TELEMETRY / "collector.yaml").read_text())
    folder = str(PurePosixPath(config["exporters"]["file/lanes"]["path"]).parent)
    assert f"{folder}/traces*.jsonl" in report["run"]
    assert "-c report-files" in report["run"]
    assert "--summary lane-report/summary.md" in report["run"]
    assert "GITHUB_STEP_SUMMARY" in report["run"]
    (upload,) = [s for s in steps if "upload-artifact" in s.get("uses", "")]
    assert upload["with"]["path"] == "lane-report/"
    (post,) = [s for s in steps if "gh pr comment" in s.get("run", "")]
    assert "lane-report/summary.md" in post["run"]
    assert workflow["permissions"]["pull-requests"] == "write"
    for step in (report, upload, post):
        assert step["if"].startswith("always()")  # a failed test run still gets its report
