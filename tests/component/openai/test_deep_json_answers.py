"""A server (or a model) that answers JSON nested deeper than Python's parser goes fails the
message with the usual error of a malformed answer, never with a bare RecursionError."""

from __future__ import annotations

import pytest

from lib.chat.output import build_output
from lib.errors import OutputParseError
from lib.openai.errors import OpenAIError, StreamError
from lib.openai.sse import ServerSentEvent, parse_event
from lib.openai.wire import decode_json_object
from lib.responses.output import parsed_of

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deep_json_answer_is_an_api_error() -> None:
    with pytest.raises(OpenAIError, match="not a JSON object"):
        decode_json_object(DEEP.encode(), 200, "req_1")


def test_a_deep_stream_event_is_a_stream_error() -> None:
    with pytest.raises(StreamError, match="not JSON"):
        parse_event(ServerSentEvent(None, DEEP), "req_1")


def test_a_deep_chat_answer_in_json_mode_is_an_output_parse_error() -> None:
    request = {"messages": [], "response_format": {"type": "json_object"}}
    response = {"choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": DEEP}}]}
    with pytest.raises(OutputParseError):
        build_output(request, response)


def test_a_deep_response_output_text_is_an_output_parse_error() -> None:
    with pytest.raises(OutputParseError, match="not valid JSON"):
        parsed_of({"id": "resp_1", "status": "completed"}, DEEP)
