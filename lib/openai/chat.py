"""The Chat Completions call, and the assembly of its streamed chunks into one completion.

`create_chat_completion` POSTs /chat/completions through the client; with `stream: true`
the `chat.completion.chunk` events are folded by `ChatCompletionAssembler` into the
`chat.completion` shape a non-streamed call returns (pure functions over the events).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from lib.openai.client import OpenAIClient
from lib.openai.errors import NO_SECRETS, StreamError
from lib.openai.limits import DEFAULT_REQUEST_TIMEOUT_S
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.sse import ServerSentEvent, parse_event
from lib.redaction import Redactor

CHAT_COMPLETION = "chat.completion"
# Delta keys with their own assembly rule; any other string field is concatenated
# (compatible servers' `reasoning_content`), any other value kept as last seen.
_ROLE, _CONTENT, _REFUSAL, _TOOL_CALLS, _FUNCTION_CALL = (
    "role", "content", "refusal", "tool_calls", "function_call")
_TOP_LEVEL_KEYS = ("id", "created", "model", "system_fingerprint", "service_tier")


def create_chat_completion(
    client: OpenAIClient,
    body: Mapping[str, Any],
    *,
    timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    logger: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """POST /chat/completions; with `stream: true` the events are assembled into one
    `chat.completion`. `timeout_s` is the longest wait for the answer to start and the
    longest silence between chunks; the whole call ends by its total deadline.

    `stop` is checked before every attempt and between chunks: once set, the call ends
    with `CallInterruptedError`."""
    if body.get("stream") is not True:
        return client.request_json("POST", CHAT_COMPLETIONS_PATH, body, timeout_s=timeout_s,
                                   logger=logger, stop=stop)
    answer = client.post_for_events(CHAT_COMPLETIONS_PATH, body, timeout_s=timeout_s,
                                    logger=logger, stop=stop)
    if isinstance(answer, dict):  # a compatible server that answered in one piece
        return answer
    with answer:
        completion = assemble_chat_completion(answer.events, answer.request_id,
                                              answer.redactor)
        answer.release()  # the connection back to the pool
        return completion


class _ChoiceState:
    """What one choice has accumulated so far."""

    __slots__ = ("content", "extra", "finish_reason", "function_call", "index", "logprobs",
                 "refusal", "role", "tool_calls")

    def __init__(self, index: int) -> None:
        self.index = index
        self.role = "assistant"
        self.content: list[str] | None = None
        self.refusal: list[str] | None = None
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.function_call: dict[str, str] | None = None
        self.logprobs: dict[str, list[Any] | None] | None = None
        self.finish_reason: str | None = None
        self.extra: dict[str, Any] = {}

    def add(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        for key, value in delta.items():
            if value is None:
                continue
            if key == _ROLE:
                self.role = value
            elif key == _CONTENT:
                self.content = _appended(self.content, value)
            elif key == _REFUSAL:
                self.refusal = _appended(self.refusal, value)
            elif key == _TOOL_CALLS:
                for fragment in value:
                    self._add_tool_call(fragment)
            elif key == _FUNCTION_CALL:
                self.function_call = _merged_function(self.function_call, value)
            elif isinstance(value, str) and isinstance(self.extra.get(key, ""), str):
                self.extra[key] = self.extra.get(key, "") + value
            else:
                self.extra[key] = value
        if choice.get("logprobs"):
            self._add_logprobs(choice["logprobs"])
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]

    def _add_tool_call(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index", len(self.tool_calls))
        call = self.tool_calls.get(index)
        if call is None:
            call = self.tool_calls[index] = {
                "id": fragment.get("id") or "",
                "type": fragment.get("type") or "function",
                "function": {"name": "", "arguments": ""},
            }
        elif fragment.get("id") and not call["id"]:
            call["id"] = fragment["id"]
        if fragment.get("function"):
            call["function"] = _merged_function(call["function"], fragment["function"])

    def _add_logprobs(self, logprobs: dict[str, Any]) -> None:
        if self.logprobs is None:
            self.logprobs = {"content": None, "refusal": None}
        for key in ("content", "refusal"):
            tokens = logprobs.get(key)
            if tokens:
                self.logprobs[key] = (self.logprobs[key] or []) + tokens

    def result(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role,
            "content": None if self.content is None else "".join(self.content),
            "refusal": None if self.refusal is None else "".join(self.refusal),
        }
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        if self.function_call is not None:
            message["function_call"] = self.function_call
        message.update(self.extra)
        return {
            "index": self.index,
            "message": message,
            "logprobs": self.logprobs,
            "finish_reason": self.finish_reason,
        }


def _appended(parts: list[str] | None, value: str) -> list[str]:
    if parts is None:
        return [value]
    parts.append(value)
    return parts


def _merged_function(current: dict[str, str] | None, fragment: dict[str, Any]) -> dict[str, str]:
    merged = dict(current or {"name": "", "arguments": ""})
    if fragment.get("name") and not merged.get("name"):
        merged["name"] = fragment["name"]
    if fragment.get("arguments"):
        merged["arguments"] = merged.get("arguments", "") + fragment["arguments"]
    return merged


class ChatCompletionAssembler:
    """Folds `chat.completion.chunk` objects into one `chat.completion` object."""

    def __init__(self) -> None:
        self._top: dict[str, Any] = {}
        self._choices: dict[int, _ChoiceState] = {}
        self._usage: dict[str, Any] | None = None
        self.chunk_count = 0

    def add(self, chunk: dict[str, Any]) -> None:
        """Fold one chunk in."""
        self.chunk_count += 1
        for key in _TOP_LEVEL_KEYS:
            value = chunk.get(key)
            if value is not None:
                self._top[key] = value
        for choice in chunk.get("choices") or ():
            index = choice.get("index", 0)
            state = self._choices.get(index)
            if state is None:
                state = self._choices[index] = _ChoiceState(index)
            state.add(choice)
        if chunk.get("usage"):
            self._usage = chunk["usage"]

    @property
    def finished(self) -> bool:
        """Every choice seen has a finish_reason."""
        return bool(self._choices) and all(c.finish_reason for c in self._choices.values())

    def result(self) -> dict[str, Any]:
        """The assembled completion (same shape as a non-streamed answer)."""
        completion: dict[str, Any] = {
            "id": self._top.get("id", ""),
            "object": CHAT_COMPLETION,
            "created": self._top.get("created", 0),
            "model": self._top.get("model", ""),
            "choices": [self._choices[i].result() for i in sorted(self._choices)],
        }
        for key in ("system_fingerprint", "service_tier"):
            if key in self._top:
                completion[key] = self._top[key]
        if self._usage is not None:
            completion["usage"] = self._usage
        return completion


def assemble_chat_completion(
    events: Iterable[ServerSentEvent], request_id: str | None = None,
    redactor: Redactor = NO_SECRETS,
) -> dict[str, Any]:
    """Read events up to `[DONE]` and return the assembled completion."""
    assembler = ChatCompletionAssembler()
    done = False
    for event in events:
        chunk = parse_event(event, request_id, redactor)
        if chunk is None:
            done = True
            break
        assembler.add(chunk)
    if not done and not assembler.finished:
        raise StreamError(
            f"The stream ended before the completion was finished "
            f"({assembler.chunk_count} chunks received)",
            request_id=request_id,
        )
    return assembler.result()
