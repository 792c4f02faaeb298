"""Session-wide real brokers: each starts once, and a test skips only if one cannot start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from .brokers import BrokerUnavailable, kafka_mock_cluster, rabbitmq_server, redis_server


def _start(manager: AbstractContextManager[str]) -> Iterator[str]:
    try:
        url = manager.__enter__()
    except BrokerUnavailable as err:
        pytest.skip(f"broker unavailable: {err}")
    try:
        yield url
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this test session."""
    yield from _start(redis_server(tmp_path_factory.mktemp("redis")))


@pytest.fixture(scope="session")
def rabbitmq_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A RabbitMQ node of this test session (takes 10-20 s to start)."""
    yield from _start(rabbitmq_server(tmp_path_factory.mktemp("rabbitmq")))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The bootstrap address of a librdkafka mock Kafka cluster of this session."""
    yield from _start(kafka_mock_cluster())
