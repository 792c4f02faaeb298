"""instrument() installs the queue integrations, and uninstrument() takes them all away."""

from __future__ import annotations

import confluent_kafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from celery import signals
from celery.app.task import Task
from kafka import KafkaConsumer, KafkaProducer

import lanectx

PATCHED = [
    (KafkaProducer, "send"),
    (KafkaConsumer, "__next__"),
    (KafkaConsumer, "poll"),
    (AIOKafkaProducer, "send"),
    (AIOKafkaConsumer, "getone"),
    (AIOKafkaConsumer, "getmany"),
    (Task, "start_strategy"),
]


def _receivers() -> int:
    hooks = (signals.before_task_publish, signals.task_prerun, signals.task_postrun)
    return sum(len(hook.receivers) for hook in (*hooks, signals.worker_init))


def test_instrument_patches_every_queue_client_and_uninstrument_restores_them() -> None:
    """Every produce/consume method and Celery signal is wrapped, then restored exactly."""
    originals = {(owner, name): vars(owner).get(name) for owner, name in PATCHED}
    producer_type, consumer_type = confluent_kafka.Producer, confluent_kafka.Consumer
    receivers = _receivers()
    assert lanectx.instrument()
    assert all(getattr(owner, name) is not originals[owner, name] for owner, name in PATCHED)
    assert issubclass(confluent_kafka.Producer, producer_type)
    assert confluent_kafka.Producer is not producer_type
    assert confluent_kafka.Consumer is not consumer_type
    assert _receivers() == receivers + 4
    lanectx.uninstrument()
    assert all(vars(owner).get(name) is originals[owner, name] for owner, name in PATCHED)
    assert (confluent_kafka.Producer, confluent_kafka.Consumer) == (producer_type, consumer_type)
    assert _receivers() == receivers
