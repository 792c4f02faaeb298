"""Configure the OTel SDK globally before or after lanectx.instrument(); print what was recorded.

Usage: python telemetry_script.py before|after   (LANE_ID may be set)
"""

import json
import logging
import sys

from opentelemetry import _logs, trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import lanectx

spans = InMemorySpanExporter()
logs = InMemoryLogRecordExporter()


def configure() -> None:
    resource = Resource.create({"service.name": "script"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    _logs.set_logger_provider(logger_provider)
    logging.getLogger("app").addHandler(LoggingHandler(logger_provider=logger_provider))


if sys.argv[1] == "before":
    lanectx.instrument()
    configure()
else:
    configure()
    lanectx.instrument()

log = logging.getLogger("app")
log.setLevel(logging.INFO)
tracer = trace.get_tracer("script")
with lanectx.use_lane("pr-5"), tracer.start_as_current_span("in-lane"):
    log.info("in lane")
with tracer.start_as_current_span("no-lane"):
    log.info("no lane")

print(
    json.dumps(
        {
            "spans": {s.name: dict(s.attributes or {}) for s in spans.get_finished_spans()},
            "resource": dict(trace.get_tracer_provider().resource.attributes),
            "logs": {
                str(r.log_record.body): dict(r.log_record.attributes or {})
                for r in logs.get_finished_logs()
            },
        }
    )
)
