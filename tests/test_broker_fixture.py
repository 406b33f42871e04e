import socket

import pytest


@pytest.mark.broker
def test_broker_listens_on_loopback_and_answers_rabbitmqctl(broker):
    socket.create_connection(("127.0.0.1", broker.port), timeout=5).close()
    assert "Status of node" in broker.ctl("status") or broker.ctl("status")
    assert broker.url.startswith("amqp://guest:guest@127.0.0.1:")
