#!/usr/bin/env bash
# Create .venv and install lanectx with every extra and the dev tools (idempotent).
# Also installs kubectl (for `kubectl kustomize` tests) and wrk + hey (benchmark load)
# from Debian when they are missing, chromium (the report's headless rendering test), and
# redis-server + rabbitmq-server for the queue tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -U pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    touch "$stamp"
fi
if ! command -v kubectl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq kubernetes-client >/dev/null) \
        || echo "bootstrap: kubectl not installed; kustomize tests will be skipped" >&2
fi
if { ! command -v wrk >/dev/null 2>&1 || ! command -v hey >/dev/null 2>&1; } \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq wrk hey >/dev/null) \
        || echo "bootstrap: wrk/hey not installed; benchmarks fall back to a Python load loop" >&2
fi
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
        || echo "bootstrap: chromium not installed; the report rendering test will be skipped" >&2
fi
# Brokers for the queue tests (Celery on Redis and RabbitMQ); Kafka needs none (the
# tests use the mock cluster built into confluent-kafka).
if { ! command -v redis-server >/dev/null 2>&1 || [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; } \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends redis-server rabbitmq-server >/dev/null \
        && { systemctl disable --now rabbitmq-server redis-server >/dev/null 2>&1 || true; }) \
        || echo "bootstrap: redis-server/rabbitmq-server not installed; queue tests will skip" >&2
fi
