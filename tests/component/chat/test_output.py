"""`parsed` of answers that carry no JSON text."""

from __future__ import annotations

import pytest

from lib.chat.output import build_output

REQUEST = {"response_format": {"type": "json_object"}, "messages": []}
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize("message", [
    # compatible servers (Ollama, vLLM) send "" rather than null with tool calls
    {"role": "assistant", "content": "", "tool_calls": [CALL]},
    # a streamed refusal can come with an empty content string
    {"role": "assistant", "content": "", "refusal": "I can't help with that."},
])
def test_empty_content_with_tool_calls_or_refusal_is_parsed_null(message: dict) -> None:
    response = {"choices": [{"index": 0, "finish_reason": "stop", "message": message}]}
    [choice] = build_output(REQUEST, response)["choices"]
    assert choice["message"]["parsed"] is None
