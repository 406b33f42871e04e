"""Server-sent events and the assembly of chat-completion chunks into one completion.

`SseDecoder` turns lines into events, `read_events` adds the idle timeout between data
events, and `ChatCompletionAssembler` folds `chat.completion.chunk` objects into the
`chat.completion` shape a non-streamed call returns. All pure apart from the given clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lib.openai.errors import NO_SECRETS, APITimeoutError, StreamError, error_from_event
from lib.openai.limits import MAX_SSE_LINE_BYTES
from lib.redaction import Redactor

DONE = "[DONE]"
ERROR_EVENT = "error"
CHAT_COMPLETION = "chat.completion"
# Delta keys with their own assembly rule; any other string field is concatenated
# (compatible servers' `reasoning_content`), any other value kept as last seen.
_ROLE, _CONTENT, _REFUSAL, _TOOL_CALLS, _FUNCTION_CALL = (
    "role", "content", "refusal", "tool_calls", "function_call")
_TOP_LEVEL_KEYS = ("id", "created", "model", "system_fingerprint", "service_tier")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its `event` name (None for the default) and `data` text."""

    event: str | None
    data: str


class SseDecoder:
    """Feeds SSE lines one at a time; returns an event when a blank line dispatches one."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self.pending_chars = 0  # the data of the event not yet dispatched

    def feed(self, line: str) -> ServerSentEvent | None:
        """Process one line (without its line ending)."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None  # a comment, e.g. a keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
            self.pending_chars += len(value) + 1
        elif field == "event":
            self._event = value
        return None

    def flush(self) -> ServerSentEvent | None:
        """Dispatch the pending event, if any (also used at the end of the stream)."""
        if not self._data:
            self._event = None
            return None
        event = ServerSentEvent(self._event, "\n".join(self._data))
        self._event, self._data, self.pending_chars = None, [], 0
        return event


def iter_lines(chunks: Iterable[bytes], max_line_bytes: int = MAX_SSE_LINE_BYTES) -> Iterator[str]:
    """Lines of a byte stream, split on LF, CRLF tolerated; a line may span chunks.

    Linear in the stream's size (each byte is searched and copied once); a line longer
    than `max_line_bytes` is a `StreamError` before more of it is buffered.
    """
    pending = bytearray()
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if pending:
                pending += chunk[start:end]
                line = bytes(pending)
                pending.clear()
            else:
                line = chunk[start:end]
            yield _utf8_line(_checked_length(line, max_line_bytes))
            start = end + 1
        pending += memoryview(chunk)[start:]
        _checked_length(pending, max_line_bytes)
    if pending:
        yield _utf8_line(bytes(pending))


def _checked_length(line: bytes | bytearray, max_line_bytes: int) -> bytes | bytearray:
    if len(line) > max_line_bytes:
        raise StreamError(
            f"The stream sent a line longer than {max_line_bytes} bytes; the answer is refused")
    return line


def _utf8_line(line: bytes | bytearray) -> str:
    try:
        return line.removesuffix(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        raise StreamError("The stream sent bytes that are not UTF-8 text") from None


def read_events(
    chunks: Iterable[bytes],
    *,
    idle_timeout_s: float,
    monotonic: Callable[[], float],
    max_line_bytes: int = MAX_SSE_LINE_BYTES,
) -> Iterator[ServerSentEvent]:
    """Events of a byte stream; raises `APITimeoutError` when data stops for too long.

    Comments (keep-alives) do not count as data: a stream that only pings times out too.
    A silent socket is caught by the read timeout the caller set on the connection.
    """
    decoder = SseDecoder()
    last_data_at = monotonic()
    for line in iter_lines(chunks, max_line_bytes):
        now = monotonic()
        if now - last_data_at > idle_timeout_s:
            raise APITimeoutError(
                f"The stream sent no data for more than {idle_timeout_s:g} s (the idle timeout "
                "between chunks, set by the step's Request timeout)")
        event = decoder.feed(line)
        if event is not None:
            last_data_at = now
            yield event
        elif decoder.pending_chars > max_line_bytes:  # many lines, each under the cap
            raise StreamError(f"The stream sent an event longer than {max_line_bytes} "
                              "characters; the answer is refused")
    event = decoder.flush()
    if event is not None:
        yield event


def parse_event(
    event: ServerSentEvent, request_id: str | None, redactor: Redactor = NO_SECRETS
) -> dict[str, Any] | None:
    """The chunk an event carries; None for `[DONE]`; raises `StreamError` on error events."""
    if event.data == DONE:
        return None
    try:
        data = json.loads(event.data)
    except (ValueError, RecursionError):
        raise StreamError(
            "The stream sent data that is not JSON: "
            f"{redactor.text(event.data, 80, join_lines=True)!r}",
            request_id=request_id,
        ) from None
    if event.event == ERROR_EVENT or (isinstance(data, dict) and "error" in data):
        raise error_from_event(data, request_id, redactor)
    if not isinstance(data, dict):
        raise StreamError("The stream sent a chunk that is not an object", request_id=request_id)
    return data


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
