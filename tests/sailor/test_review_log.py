"""Review findings in log.py: redaction must cover every value a record can carry."""

from __future__ import annotations

import io
import json

import pytest
from elasticio_sailor import log

ENV = {"ELASTICIO_MESSAGE_CRYPTO_PASSWORD": "crypto-MARKER"}


@pytest.fixture
def stream():
    out = io.StringIO()
    log.configure_logging("trace", out, ENV)
    yield out
    log.configure_logging("info", None, {})


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
