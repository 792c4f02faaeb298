"""A small OTLP/HTTP trace receiver for local runs, writing what the Collector's file
exporter writes: one OTLP/JSON export request per line.

    with OtlpReceiver(Path("traces.jsonl")) as receiver:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        ...
    spans, skipped = read_files([Path("traces.jsonl")])

``POST /v1/traces`` takes ``application/json`` and, with ``opentelemetry-proto``
installed, ``application/x-protobuf`` (what the stock OTLP/HTTP exporters send);
gzip bodies too. Bad requests get a 4xx answer and are dropped; nothing else is
served.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["MAX_BODY", "OtlpReceiver", "protobuf_to_json"]

logger = logging.getLogger("lanectx")
MAX_BODY = 32 * 1024 * 1024
_ID_KEYS = frozenset(("traceId", "spanId", "parentSpanId"))


def _hex_ids(node: Any) -> Any:
    """Turn the base64 ids protobuf's JSON mapping writes into OTLP/JSON's hex, in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
    return node


def protobuf_to_json(body: bytes) -> dict[str, Any]:
    """Decode a protobuf ``ExportTraceServiceRequest`` into its OTLP/JSON form."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    decoded: dict[str, Any] = _hex_ids(MessageToDict(request, use_integers_for_enums=True))
    return decoded


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type == "application/json":
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            raise _BadRequest(400, "body is not JSON") from None
        if not isinstance(request, dict):
            raise _BadRequest(400, "body is not an OTLP/JSON export request")
        return request
    if content_type == "application/x-protobuf":
        try:
            return protobuf_to_json(body)
        except ImportError:
            raise _BadRequest(415, "protobuf needs opentelemetry-proto; send JSON") from None
        except Exception as err:  # protobuf's DecodeError, a bad id: the body is bad
            raise _BadRequest(400, f"not an export request: {type(err).__name__}") from None
    raise _BadRequest(415, "send application/json or application/x-protobuf")


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint (a thread) appending requests to *output*; a context manager.

    *on_request*, when given, is called with each decoded request as well.
    """

    def __init__(
        self,
        output: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        on_request: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.output = output
        self._on_request = on_request
        self._lock = threading.Lock()
        output.parent.mkdir(parents=True, exist_ok=True)
        self._file = output.open("a", encoding="utf-8")
        self.requests = 0
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler())
        except OSError:
            self._file.close()
            raise
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The base URL to put in ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        host, port = self._server.server_address[:2]
        name = host if isinstance(host, str) else host.decode()
        return f"http://{name}:{port}"

    def add(self, request: dict[str, Any]) -> None:
        """Write one decoded export request (and hand it to *on_request*)."""
        line = json.dumps(request, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            self.requests += 1
        if self._on_request is not None:
            self._on_request(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                try:
                    receiver.add(self._request())
                except _BadRequest as err:
                    self._answer(err.status, json.dumps({"message": str(err)}).encode())
                    return
                self._answer(200, b"" if self._protobuf else b"{}")

            @property
            def _protobuf(self) -> bool:
                return self._content_type == "application/x-protobuf"

            @property
            def _content_type(self) -> str:
                return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

            def _request(self) -> dict[str, Any]:
                if self.path.split("?")[0] != "/v1/traces":
                    raise _BadRequest(404, "only /v1/traces is served")
                length = self.headers.get("content-length", "")
                if not length.isdigit():
                    raise _BadRequest(411, "content-length is required")
                if int(length) > MAX_BODY:
                    raise _BadRequest(413, f"bodies are limited to {MAX_BODY} bytes")
                body = self.rfile.read(int(length))
                if self.headers.get("content-encoding", "").lower() == "gzip":
                    try:
                        body = gzip.decompress(body)
                    except (OSError, EOFError, zlib.error):
                        raise _BadRequest(400, "body is not gzip") from None
                return _decode(body, self._content_type)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                kind = "application/x-protobuf" if self._protobuf and status == 200 else None
                self.send_header("content-type", kind or "application/json")
                self.send_header("content-length", str(len(body)))
                if status >= 400:
                    self.send_header("connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(405, b'{"message": "POST OTLP to /v1/traces"}')

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and close the output file."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        with self._lock:
            self._file.close()
