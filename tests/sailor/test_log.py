"""log.py: bunyan record shape, formatting, levels, redaction
(docs/protocol.md#logging, docs/protocol.md#secrets)."""

from __future__ import annotations

import io
import json
import re
import threading

import pytest
from elasticio_sailor import log

ENV = {
    "ELASTICIO_FLOW_ID": "flow-1",
    "ELASTICIO_STEP_ID": "step_2",
    "ELASTICIO_API_USERNAME": "user@example.com",
    "ELASTICIO_API_KEY": "api-key-MARKER",
    "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": "crypto-MARKER",
    "ELASTICIO_AMQP_URI": "amqp://guest:amqp-pw-MARKER@127.0.0.1:5672/",
    "ELASTICIO_NOT_WHITELISTED": "x",
}


@pytest.fixture
def stream():
    out = io.StringIO()
    log.configure_logging("trace", out, ENV)
    yield out
    log.configure_logging("info", None, {})


def raised(error: Exception) -> Exception:
    """``error`` with a traceback, as a logger receives it in an ``except`` block."""

    def fail() -> None:
        raise error

    try:
        fail()
    except Exception as exc:
        return exc
    raise AssertionError


def records(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_record_has_bunyan_fields_and_context(stream):
    log.get_logger("sailor").info("Fully initialized and waiting for messages", deliveryTag=3)
    (record,) = records(stream)
    assert record["name"] == "sailor"
    assert isinstance(record["hostname"], str)
    assert isinstance(record["pid"], int)
    assert record["level"] == 30
    assert record["msg"] == "Fully initialized and waiting for messages"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    assert record["v"] == 0
    assert record["deliveryTag"] == 3
    assert record["ELASTICIO_FLOW_ID"] == "flow-1"
    assert record["ELASTICIO_STEP_ID"] == "step_2"
    assert record["ELASTICIO_API_USERNAME"] == "user@example.com"
    assert record["tag"] == "flow-1"
    assert "ELASTICIO_NOT_WHITELISTED" not in record
    assert "ELASTICIO_API_KEY" not in record


def test_levels_and_names(stream):
    logger = log.get_logger("component")
    for method in ("trace", "debug", "info", "warn", "warning", "error", "fatal"):
        getattr(logger, method)(method)
    assert [r["level"] for r in records(stream)] == [10, 20, 30, 40, 40, 50, 60]


@pytest.mark.parametrize(
    ("value", "level"),
    [("trace", 10), ("DEBUG", 20), ("warn", 40), ("50", 50), ("nonsense", 30), (None, 30)],
)
def test_parse_level(value, level):
    assert log.parse_level(value) == level


def test_disabled_level_writes_nothing_and_renders_nothing():
    out = io.StringIO()
    log.configure_logging("warn", out, {})

    class Exploding:
        def __str__(self):
            raise AssertionError("rendered although disabled")

    log.get_logger().info("x %s", Exploding())
    log.get_logger().debug("x", field=Exploding())
    assert out.getvalue() == ""
    log.configure_logging("info", None, {})


def test_printf_formatting():
    assert log.format_printf("a %s b %d c %j %%", ("x", 4.0, {"k": [1]})) == 'a x b 4 c {"k":[1]} %'
    assert log.format_printf("n=%d", ("abc",)) == "n=NaN"
    assert log.format_printf("left %s", ()) == "left %s"
    assert log.format_printf("x", ("y", 2)) == "x y 2"
    assert log.format_printf({"a": 1}, ()) == '{"a":1}'


def test_child_fields_and_core_fields_protected(stream):
    child = log.get_logger("component").child(threadId="T", messageId="M", parentMessageId="P")
    child.info("hello", level=99, name="evil", msg="evil")
    (record,) = records(stream)
    assert (record["threadId"], record["messageId"], record["parentMessageId"]) == ("T", "M", "P")
    assert (record["level"], record["name"], record["msg"]) == (30, "component", "hello")


def test_an_err_field_carries_name_message_and_traceback(stream):
    log.get_logger().error("failed", err=raised(TypeError("Failure on purpose")))
    (record,) = records(stream)
    assert record["err"]["name"] == "TypeError"
    assert record["err"]["message"] == "Failure on purpose"
    assert "Traceback" in record["err"]["stack"]


def test_environment_secrets_are_redacted_everywhere(stream):
    logger = log.get_logger("component")
    logger.trace("key %s", "api-key-MARKER")
    logger.info("uri", uri=ENV["ELASTICIO_AMQP_URI"], nested={"list": ["crypto-MARKER"]})
    logger.error("e", err=raised(ValueError("password amqp-pw-MARKER")))
    text = stream.getvalue()
    assert "MARKER" not in text
    assert text.count("***") >= 4
    for record in records(stream):
        assert record["v"] == 0


def test_register_secret_also_redacts_json_escaped_form(stream):
    log.register_secret('quote"secret')
    log.get_logger().info('value quote"secret here')
    assert "secret" not in stream.getvalue()


def test_register_secret_also_redacts_url_encoded_form(stream):
    log.register_secret("pass word/&=secret")
    log.get_logger().info("url", url="https://host/cb?token=pass%20word%2F%26%3Dsecret&x=1")
    assert "secret" not in stream.getvalue()
    assert "token=***&x=1" in stream.getvalue()


def test_lines_do_not_interleave_across_threads(stream):
    logger = log.get_logger("component")

    def spam(n: int) -> None:
        for i in range(200):
            logger.info("thread %d line %d %s", n, i, "x" * 500)

    threads = [threading.Thread(target=spam, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(records(stream)) == 800


def test_stdlib_records_are_bridged_and_redacted(stream):
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    log.install_stdlib_bridge()
    try:
        logging.getLogger("urllib3.test").warning("retrying with api-key-MARKER")
        logging.getLogger("urllib3.test").info("below the bridge level")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    (record,) = records(stream)
    assert (record["level"], record["logger"]) == (40, "urllib3.test")
    assert record["msg"] == "retrying with ***"


# --- redaction covers every value a record can carry ---------------------------


class Holder:
    def __str__(self) -> str:
        return "Holder(password=crypto-MARKER)"


def test_values_rendered_by_str_are_redacted(stream) -> None:
    logger = log.get_logger("component")
    logger.error("failed", error=ValueError("bad key crypto-MARKER"), obj=Holder(),
                 items={"crypto-MARKER"})
    logger.info("keyed", **{"crypto-MARKER": 1}, nested={"crypto-MARKER": "x"})
    text = stream.getvalue()
    assert "crypto-MARKER" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["error"] == "bad key ***"
    assert first["obj"] == "Holder(password=***)"
    assert second["nested"] == {"***": "x"}
