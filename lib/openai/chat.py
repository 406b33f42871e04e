"""The Chat Completions call, and the assembly of its streamed chunks into one completion.

`create_chat_completion` POSTs /chat/completions through the async client (Send
Request runs on the sailor's event loop); with `stream: true` the `chat.completion.chunk`
events are read by `ChatStreamReader` as they arrive, and `ChatCompletionAssembler` folds
them into the `chat.completion` shape a non-streamed call returns (pure functions over
the events).
Linear in the stream: every text (content, refusal, `reasoning_content` and other string
fields, tool call arguments) is kept as its pieces and joined once at the end, logprobs
are extended in place; what is kept is counted in the answer's budget
(``lib.openai.budget``), and at most MAX_CHOICES choices are taken.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.budget import AnswerBudget
from lib.openai.errors import NO_SECRETS, StreamError
from lib.openai.limits import DEFAULT_REQUEST_TIMEOUT_S, MAX_CHOICES, CallLimits
from lib.openai.paths import CHAT_COMPLETIONS_PATH
from lib.openai.sse import ServerSentEvent, parse_event
from lib.redaction import Redactor

CHAT_COMPLETION = "chat.completion"
# Delta keys with their own assembly rule; any other string field is concatenated
# (compatible servers' `reasoning_content`), any other value kept as last seen.
_ROLE, _CONTENT, _REFUSAL, _TOOL_CALLS, _FUNCTION_CALL = (
    "role", "content", "refusal", "tool_calls", "function_call")
_TOP_LEVEL_KEYS = ("id", "created", "model", "system_fingerprint", "service_tier")


async def create_chat_completion(
    client: AsyncOpenAIClient,
    body: Mapping[str, Any],
    *,
    timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    logger: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """POST /chat/completions; with `stream: true` the events are assembled into one
    `chat.completion`, read by the loop as they arrive. `timeout_s` is the longest wait
    for the answer to start and the longest silence between chunks; the whole call ends
    by its total deadline. `stop` is checked before every attempt and between chunks:
    once set, the call ends with `CallInterruptedError`."""
    if body.get("stream") is not True:
        return await client.request_json("POST", CHAT_COMPLETIONS_PATH, body,
                                         timeout_s=timeout_s, logger=logger, stop=stop)
    answer = await client.post_for_events(CHAT_COMPLETIONS_PATH, body, timeout_s=timeout_s,
                                          logger=logger, stop=stop)
    if isinstance(answer, dict):  # a compatible server that answered in one piece
        return answer
    async with answer:
        reader = ChatStreamReader(answer.request_id, answer.redactor, answer.budget())
        async for event in answer.events:
            if reader.add(event):
                break
        completion = reader.result()
        await answer.release()  # the connection back to the pool
        return completion


class _Texts:
    """Pieces of one text as they arrive, joined once at the end (linear: joining per
    piece is quadratic)."""

    __slots__ = ("pieces",)

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def text(self) -> str:
        return "".join(self.pieces)


class _FunctionCall:
    """A function call's name (its first) and arguments (the pieces, joined at the end)."""

    __slots__ = ("arguments", "name")

    def __init__(self) -> None:
        self.name = ""
        self.arguments = _Texts()

    def add(self, fragment: dict[str, Any], budget: AnswerBudget) -> None:
        name, arguments = fragment.get("name"), fragment.get("arguments")
        if isinstance(name, str) and name and not self.name:
            budget.keep(len(name))
            self.name = name
        if isinstance(arguments, str) and arguments:
            budget.keep(len(arguments))
            self.arguments.pieces.append(arguments)

    def result(self) -> dict[str, str]:
        return {"name": self.name, "arguments": self.arguments.text()}


class _ToolCall:
    __slots__ = ("function", "id", "type")

    def __init__(self, fragment: dict[str, Any]) -> None:
        self.id = fragment.get("id") or ""
        self.type = fragment.get("type") or "function"
        self.function = _FunctionCall()

    def result(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "function": self.function.result()}


class _ChoiceState:
    """What one choice has accumulated so far; every piece it keeps is counted in the
    answer's budget."""

    __slots__ = ("content", "extra", "finish_reason", "function_call", "index", "logprobs",
                 "refusal", "role", "texts", "tool_calls")

    def __init__(self, index: int) -> None:
        self.index = index
        self.role = "assistant"
        self.content: _Texts | None = None
        self.refusal: _Texts | None = None
        self.tool_calls: dict[Any, _ToolCall] = {}
        self.function_call: _FunctionCall | None = None
        self.logprobs: dict[str, list[Any] | None] | None = None
        self.finish_reason: str | None = None
        self.texts: dict[str, _Texts] = {}  # other string fields (`reasoning_content`)
        self.extra: dict[str, Any] = {}  # other fields: the last value seen

    def add(self, choice: dict[str, Any], data: str, budget: AnswerBudget) -> None:
        """Fold in one chunk's choice (`data`: the chunk's text, for what is kept whole)."""
        delta = choice.get("delta")
        for key, value in (delta.items() if isinstance(delta, dict) else ()):
            if key == _CONTENT:  # nearly every chunk: a piece of the text
                if value is not None:
                    self.content = _appended(self.content, value, budget)
            elif value is not None:
                self._add_field(key, value, budget)
        if choice.get("logprobs"):
            budget.keep_json(data)  # the chunk's text: more than its tokens take
            self._add_logprobs(choice["logprobs"])
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]

    def _add_field(self, key: str, value: Any, budget: AnswerBudget) -> None:
        if key == _ROLE:
            self.role = value
        elif key == _REFUSAL:
            self.refusal = _appended(self.refusal, value, budget)
        elif key == _TOOL_CALLS:
            for fragment in value if isinstance(value, list) else ():
                if isinstance(fragment, dict):
                    self._add_tool_call(fragment, budget)
        elif key == _FUNCTION_CALL and isinstance(value, dict):
            if self.function_call is None:
                self.function_call = _FunctionCall()
            self.function_call.add(value, budget)
        elif isinstance(value, str):
            self.extra.pop(key, None)
            self.texts[key] = _appended(self.texts.get(key), value, budget)
        else:
            self.texts.pop(key, None)
            self.extra[key] = value

    def _add_tool_call(self, fragment: dict[str, Any], budget: AnswerBudget) -> None:
        index = fragment.get("index", len(self.tool_calls))
        call = self.tool_calls.get(index)
        if call is None:
            budget.keep(0, 8)  # a call's own objects
            call = self.tool_calls[index] = _ToolCall(fragment)
        elif fragment.get("id") and not call.id:
            call.id = fragment["id"]
        function = fragment.get("function")
        if isinstance(function, dict):
            call.function.add(function, budget)

    def _add_logprobs(self, logprobs: Any) -> None:
        if not isinstance(logprobs, dict):
            return
        if self.logprobs is None:
            self.logprobs = {"content": None, "refusal": None}
        for key in ("content", "refusal"):
            tokens = logprobs.get(key)
            if isinstance(tokens, list) and tokens:
                kept = self.logprobs[key]
                if kept is None:
                    self.logprobs[key] = list(tokens)
                else:
                    kept.extend(tokens)

    def result(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role,
            "content": None if self.content is None else self.content.text(),
            "refusal": None if self.refusal is None else self.refusal.text(),
        }
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i].result()
                                     for i in sorted(self.tool_calls, key=_order)]
        if self.function_call is not None:
            message["function_call"] = self.function_call.result()
        message.update(self.extra)
        message.update({key: texts.text() for key, texts in self.texts.items()})
        return {
            "index": self.index,
            "message": message,
            "logprobs": self.logprobs,
            "finish_reason": self.finish_reason,
        }


def _appended(texts: _Texts | None, value: Any, budget: AnswerBudget) -> _Texts:
    texts = texts or _Texts()
    piece = value if isinstance(value, str) else str(value)
    budget.keep(len(piece))
    texts.pieces.append(piece)
    return texts


def _order(index: Any) -> tuple[int, str]:
    """Tool calls in index order (a server's index that is no number comes last)."""
    return (index, "") if isinstance(index, int) else (1 << 62, str(index))


class ChatCompletionAssembler:
    """Folds `chat.completion.chunk` objects into one `chat.completion` object, within
    `budget` (what it keeps) and MAX_CHOICES."""

    def __init__(self, budget: AnswerBudget | None = None) -> None:
        self._budget = budget or CallLimits().answer_budget()
        self._top: dict[str, Any] = {}
        self._choices: dict[int, _ChoiceState] = {}
        self._usage: dict[str, Any] | None = None
        self.chunk_count = 0

    def add(self, chunk: dict[str, Any], data: str = "") -> None:
        """Fold one chunk in (`data`: its text, counted for what is kept whole)."""
        self.chunk_count += 1
        for key in _TOP_LEVEL_KEYS:
            value = chunk.get(key)
            if value is not None:
                self._top[key] = value
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            state = self._choices.get(index)
            if state is None:
                if len(self._choices) >= MAX_CHOICES:
                    raise StreamError(f"The stream sent more than {MAX_CHOICES} choices; the "
                                      "answer is refused", request_id=self._budget.request_id)
                state = self._choices[index] = _ChoiceState(index)
            state.add(choice, data, self._budget)
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
            "choices": [self._choices[i].result() for i in sorted(self._choices, key=_order)],
        }
        for key in ("system_fingerprint", "service_tier"):
            if key in self._top:
                completion[key] = self._top[key]
        if self._usage is not None:
            completion["usage"] = self._usage
        return completion


class ChatStreamReader:
    """Reads `chat.completion.chunk` events, one at a time, up to `[DONE]`, into one
    completion (within `budget`: what it keeps)."""

    def __init__(self, request_id: str | None = None, redactor: Redactor = NO_SECRETS,
                 budget: AnswerBudget | None = None) -> None:
        self._request_id = request_id
        self._redactor = redactor
        self._assembler = ChatCompletionAssembler(
            budget or CallLimits().answer_budget(request_id))
        self.done = False

    def add(self, event: ServerSentEvent) -> bool:
        """Fold one event in; True once `[DONE]` came (read no further)."""
        chunk = parse_event(event, self._request_id, self._redactor)
        if chunk is None:
            self.done = True
        else:
            self._assembler.add(chunk, event.data)
        return self.done

    def result(self) -> dict[str, Any]:
        """The completion; a stream that ended before it finished is a `StreamError`."""
        if not self.done and not self._assembler.finished:
            raise StreamError(
                f"The stream ended before the completion was finished "
                f"({self._assembler.chunk_count} chunks received)",
                request_id=self._request_id,
            )
        return self._assembler.result()
