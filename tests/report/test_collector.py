"""The shipped collector writes what `lanectx report` reads, where CI can copy it from."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from lanectx.report import SpanReader

from .otlp_json import export_request, span

yaml = pytest.importorskip("yaml")

TELEMETRY = Path(__file__).resolve().parents[2] / "k8s" / "telemetry"


def test_traces_pipeline_writes_otlp_json_files_to_a_shared_volume() -> None:
    """A json file exporter in the traces pipeline, into a volume the report-files container reads."""
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
