"""Real brokers for tests: redis-server, a RabbitMQ node of our own, librdkafka's mock Kafka."""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


class BrokerUnavailable(RuntimeError):
    """The broker cannot run on this machine (not installed, or it did not start)."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, process: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerUnavailable(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise BrokerUnavailable(f"{what} did not listen on port {port} within {timeout:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """Run redis-server on a free loopback port; yield its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BrokerUnavailable("redis-server is not installed (scripts/bootstrap.sh installs it)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    process = subprocess.Popen(
        [*args, "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, process, 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


@contextmanager
def rabbitmq_server(workdir: Path) -> Iterator[str]:
    """Run a RabbitMQ node of our own (as this user, free ports); yield its ``amqp://`` URL."""
    if not os.access(RABBITMQ_SERVER, os.X_OK):
        raise BrokerUnavailable(f"{RABBITMQ_SERVER} is missing (scripts/bootstrap.sh installs it)")
    port, dist, epmd = free_port(), free_port(), free_port()
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    (workdir / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = 127.0.0.1:{port}\nloopback_users = none\n"
    )
    (workdir / "enabled_plugins").write_text("[].\n")
    env = {
        **os.environ,
        "HOME": str(home),
        "RABBITMQ_NODENAME": f"lanectx-test-{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
        "RABBITMQ_LOG_BASE": str(workdir / "log"),
        "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
        "RABBITMQ_FEATURE_FLAGS_FILE": str(workdir / "feature_flags"),
        "RABBITMQ_PID_FILE": str(workdir / "rabbitmq.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        # a port mapper daemon of our own (the node starts it), stopped with the node
        "ERL_EPMD_PORT": str(epmd),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
    }
    log = (workdir / "rabbitmq.out").open("wb")
    process = subprocess.Popen([RABBITMQ_SERVER], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, process, 60, "rabbitmq-server")
        yield f"amqp://guest:guest@127.0.0.1:{port}//"
    finally:
        _stop(process)
        log.close()
        epmd_binary = shutil.which("epmd")
        if epmd_binary:
            subprocess.run(
                [epmd_binary, "-port", str(epmd), "-kill"], env=env, capture_output=True, timeout=10
            )


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: queue.Queue[str] = queue.Queue()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.put(record.getMessage())


@contextmanager
def kafka_mock_cluster(brokers: int = 1) -> Iterator[str]:
    """Start librdkafka's mock Kafka cluster (it lives with one client); yield its bootstrap."""
    try:
        import confluent_kafka
    except ImportError as err:
        raise BrokerUnavailable(f"confluent-kafka is not installed ({err})") from None
    handler = _Lines()
    logger = logging.getLogger(f"tests.kafka-mock.{id(handler)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    config: dict[str, Any] = {"test.mock.num.brokers": brokers, "logger": logger}
    holder = confluent_kafka.Producer(config)
    deadline = time.monotonic() + 10
    bootstrap = None
    while bootstrap is None and time.monotonic() < deadline:
        holder.poll(0.1)
        while not handler.lines.empty():
            found = re.search(r"replaced with (\S+)", handler.lines.get())
            if found:
                bootstrap = found.group(1)
    if bootstrap is None:
        raise BrokerUnavailable("the librdkafka mock cluster did not report its address")
    try:
        yield bootstrap
    finally:
        holder.flush(5)
        del holder
        logger.removeHandler(handler)
