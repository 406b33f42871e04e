"""Rebounding a message whose request the server asked to retry much later."""

from __future__ import annotations

from typing import Any

from lib.openai.errors import RetryLaterError


def rebound_later(context: Any, err: RetryLaterError) -> None:
    """Send the message back to the queue (the platform retries it with growing delays)
    instead of sleeping through a long Retry-After in the step."""
    context.logger.warning(
        "The server asked to wait %d s; the message is rebounded to be retried later",
        round(err.retry_after_s),
    )
    context.emit("rebound", err)
