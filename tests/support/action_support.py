"""Shared by the component's action tests: a fake `self`, bodies of the OpenAI API.

OpenAI is faked at the HTTP level (`responses`); the real client runs underneath. Only
the client's retry policy is replaced (the `fresh_clients` fixture of
tests/conftest.py), so that retries do not sleep.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import json
from collections.abc import Callable
from typing import Any

from elasticio_sailor.log import format_printf

from lib.openai.async_client import close_async_clients

API_KEY = "sk-proj-TESTKEY0123456789abcdefSECRET"
BASE_URL = "https://api.openai.com/v1"
COMPLETIONS_URL = f"{BASE_URL}/chat/completions"
MODELS_URL = f"{BASE_URL}/models"


class RecordingLogger:
    """Records `(level, line)`; lines are formatted as the sailor's logger does."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _record(self, level: str, msg: object, *args: Any, **fields: Any) -> None:
        line = format_printf(msg, args)
        if fields:
            line += " " + json.dumps(fields, default=str)
        self.lines.append((level, line))

    def __getattr__(self, level: str) -> Any:
        if level in {"trace", "debug", "info", "warn", "warning", "error", "fatal"}:
            return functools.partial(self._record, level)
        raise AttributeError(level)

    def text(self) -> str:
        return "\n".join(line for _level, line in self.lines)


class FakeSelf:
    """The `self` a component function gets: `emit` records, `logger` records."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any]] = []
        self.logger = RecordingLogger()

    def emit(self, event: str, payload: Any = None) -> None:
        self.emitted.append((event, payload))


def run_process(process: Callable[..., Any], *args: Any) -> Any:
    """`process(*args)` as the sailor calls it: an ``async def`` one runs on an event loop
    of its own (its async clients closed at the end), a sync one is called."""
    result = process(*args)
    if not inspect.isawaitable(result):
        return result

    async def until_done() -> Any:
        try:
            return await result
        finally:
            await close_async_clients()

    return asyncio.run(until_done())


def cfg(**overrides: Any) -> dict[str, Any]:
    """A step configuration: credentials fields and the action's fields together."""
    values: dict[str, Any] = {"apiKey": API_KEY, "model": "gpt-4o-mini"}
    values.update(overrides)
    return values


def completion(
    content: str | None = "Hello!",
    *,
    finish_reason: str = "stop",
    model: str = "gpt-4o-mini-2024-07-18",
    **message_fields: Any,
) -> dict[str, Any]:
    """A chat.completion as the API sends it (validated against the official schema)."""
    message = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    message.update(message_fields)
    return copy.deepcopy({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 10,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
    })


def api_error(message: str, *, error_type: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def model_entry(model_id: str, created: int = 1700000000, **extra: Any) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "system", **extra}


STORAGE_TOKEN = "storage-TOKEN-actions-0123456789"  # the object_storage fixture's


class FakeSelfWithFiles(FakeSelf):
    """A `self` with the sailor's attachment store on `storage_url` (the object storage
    stand-in), as the sailor gives it in task mode."""

    def __init__(self, storage_url: str, token: str) -> None:
        super().__init__()
        from elasticio_sailor.attachments import Attachments
        from elasticio_sailor.object_storage import ObjectStorage

        self.attachments = Attachments(ObjectStorage(storage_url, token, retry_delays_s=()))
