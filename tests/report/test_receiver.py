"""The built-in OTLP/HTTP receiver: the stock exporter's protobuf, JSON, and bad requests."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

import lanectx
from lanectx import _hop
from lanectx.report import OtlpReceiver, read_files
from lanectx.telemetry import LaneSpanProcessor

from .otlp_json import export_line, span


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[OtlpReceiver]:
    """A running receiver writing to tmp_path/traces.jsonl."""
    with OtlpReceiver(tmp_path / "traces.jsonl") as running:
        yield running


def test_spans_from_the_stock_otlp_exporter(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spans the SDK exports as protobuf are written as OTLP/JSON the report reads back."""
    monkeypatch.setenv("LANE_ID", "pr-5")
    _hop.own_lane.cache_clear()
    try:
        resource = Resource.create({"service.name": "reviews", **lanectx.resource()})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(LaneSpanProcessor())
        exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("t")
        with (
            lanectx.use_lane("pr-5"),
            tracer.start_as_current_span("GET", kind=SpanKind.SERVER),
            tracer.start_as_current_span("call", kind=SpanKind.CLIENT),
        ):
            pass
        provider.shutdown()
    finally:
        _hop.own_lane.cache_clear()
    spans, skipped = read_files([receiver.output])
    assert skipped == 0
    server, client = sorted(spans, key=lambda s: s.kind)
    assert (server.service, server.service_lane, server.lane, server.hop) == (
        "reviews", "pr-5", "pr-5", "hit",
    )  # fmt: skip
    assert client.parent_id == server.span_id
    assert len(server.trace_id) == 32
    assert receiver.requests == 2


def test_json_and_gzip_bodies(receiver: OtlpReceiver) -> None:
    """OTLP/JSON, plain or gzip, is appended line by line, as the Collector's file exporter."""
    line = export_line([span("1", "1", None, "details", lane="pr-1")])
    plain = httpx.post(f"{receiver.endpoint}/v1/traces", content=line,
                       headers={"content-type": "application/json"})  # fmt: skip
    packed = httpx.post(
        f"{receiver.endpoint}/v1/traces",
        content=gzip.compress(line.encode()),
        headers={"content-type": "application/json; charset=utf-8", "content-encoding": "gzip"},
    )
    assert (plain.status_code, packed.status_code) == (200, 200)
    assert plain.json() == {}
    lines = receiver.output.read_text().splitlines()
    assert [json.loads(text) for text in lines] == [json.loads(line)] * 2


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        ("/v1/metrics", {"content-type": "application/json"}, b"{}", 404),
        ("/v1/traces", {"content-type": "application/json"}, b"{not json", 400),
        ("/v1/traces", {"content-type": "application/json"}, b"[1]", 400),
        ("/v1/traces", {"content-type": "text/plain"}, b"hello", 415),
        ("/v1/traces", {"content-type": "application/x-protobuf"}, b"\xff\xff\xff", 400),
        ("/v1/traces", {"content-type": "application/json", "content-encoding": "gzip"},
         b"not gzip", 400),
        ("/v1/traces", {"content-type": "application/json", "content-length": str(2**40)},
         b"", 413),
    ],
)  # fmt: skip
def test_bad_requests_are_answered_and_dropped(
    receiver: OtlpReceiver, path: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    """Each bad request gets its 4xx and writes nothing; the receiver keeps serving."""
    host, port = receiver.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("POST", path)
        headers = {"content-length": str(len(body)), **headers}
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        assert connection.getresponse().status == status
    finally:
        connection.close()
    assert receiver.output.read_text() == ""
    good = httpx.post(f"{receiver.endpoint}/v1/traces", content=b"{}",
                      headers={"content-type": "application/json"})  # fmt: skip
    assert good.status_code == 200


def test_receive_command_until_terminated(tmp_path: Path) -> None:
    """`lanectx receive -o FILE` serves until SIGTERM, then reports what it wrote and exits 0."""
    output = tmp_path / "out" / "traces.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "lanectx", "receive", "-o", str(output), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        endpoint = first.split(" at ")[1].split(" ")[0]
        line = export_line([span("1", "1", None, "details")])
        answer = httpx.post(endpoint, content=line, headers={"content-type": "application/json"})
        assert answer.status_code == 200
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "1 export requests written" in out
    assert json.loads(output.read_text()) == json.loads(line)
