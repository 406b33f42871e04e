"""Real answers through the whole action: the output message must satisfy the out schema.

Sources: answers recorded from real servers (`tests/fixtures/recorded/`, see its README)
and the answer examples of the official OpenAPI document. Each answer is served over HTTP
to `send_request.process` (the real client, parser, stream assembler and `parsed`), and the
emitted body is validated as it is, nulls included: the out schema has to say where the
API sends null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from jsonschema import Draft202012Validator

from lib.actions import send_request
from lib.errors import OutputParseError
from lib.validation import load_schema, to_json_schema
from tests.support.action_support import (
    COMPLETIONS_URL,
    FakeSelf,
    cfg,
    run_process,
)
from tests.support.openapi_contract import document, validate

pytestmark = pytest.mark.usefixtures("fresh_clients")

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded"
OUT_SCHEMA = load_schema("sendRequest.out.json")
OUT = Draft202012Validator(to_json_schema(OUT_SCHEMA))


def resolve(value: Any, parts: dict[str, Any]) -> Any:
    """`{"$ref": name}` replaced by `parts[name]`, anywhere in `value`."""
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            return parts[value["$ref"]]
        return {key: resolve(item, parts) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, parts) for item in value]
    return value


def recorded_cases() -> Iterator[Any]:
    for manifest_path in sorted(RECORDED.glob("*/requests.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for name, case in manifest["answers"].items():
            body = (manifest_path.parent / name).read_bytes()
            config = {"model": manifest["model"], **manifest.get("config", {})}
            yield pytest.param(
                config, resolve(case["request"], manifest.get("parts", {})), body,
                name.endswith(".sse"), case.get("error"),
                id=f"{manifest_path.parent.name}/{name}",
            )


def document_examples() -> Iterator[Any]:
    """The answer examples of createChatCompletion in the official document."""
    operation = document()["paths"]["/chat/completions"]["post"]
    for example in operation["x-oaiMeta"]["examples"]:
        text = example["response"].strip()
        streamed = text.startswith('{"id"') and "chat.completion.chunk" in text.split("\n")[0]
        if streamed:  # one JSON chunk per line, with "...." for the elided middle
            events = [line for line in text.splitlines() if line.startswith("{")]
            body = "".join(f"data: {line}\n\n" for line in events) + "data: [DONE]\n\n"
            request = {"messages": [{"role": "user", "content": "Hello!"}], "stream": True}
        else:
            body = text
            request = {"messages": [{"role": "user", "content": "Hello!"}]}
            if json.loads(text)["choices"][0]["logprobs"]:
                request["logprobs"] = True
        yield pytest.param(
            {"model": "gpt-4o-mini"}, request, body.encode(), streamed, None,
            id=f"openapi/{example['title']}",
        )


def schema_problems(output: Any) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in OUT.iter_errors(output)]


def undescribed(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Paths of the output that the out schema does not describe (so the mapper hides them)."""
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{path}.{key}")
            else:
                found += undescribed(item, schema["properties"][key], f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for position, item in enumerate(value):
            found += undescribed(item, schema["items"], f"{path}[{position}]")
    return found


@responses.activate
@pytest.mark.parametrize(
    ("config", "request_body", "answer", "streamed", "error"),
    [*recorded_cases(), *document_examples()],
)
def test_real_answers_satisfy_the_out_schema(
    config: dict, request_body: dict, answer: bytes, streamed: bool, error: str | None,
) -> None:
    content_type = "text/event-stream" if streamed else "application/json"
    responses.add(responses.POST, COMPLETIONS_URL, body=answer, content_type=content_type)
    me = FakeSelf()
    message = {"id": "m1", "body": request_body}
    if error is not None:
        with pytest.raises(OutputParseError, match=re.escape(error)):
            run_process(send_request.process, me, message, cfg(**config), {})
        return
    result = run_process(send_request.process, me, message, cfg(**config), {})
    sent = json.loads(responses.calls[0].request.body)
    validate("CreateChatCompletionRequest", sent)
    output = result["body"]
    assert schema_problems(output) == []
    assert undescribed(output, OUT_SCHEMA) == []
    if not streamed:  # the answer is passed on whole: only `parsed` is added
        for choice in output["choices"]:
            choice["message"].pop("parsed", None)
        assert output == json.loads(answer)


def test_the_recorded_answers_carry_the_nulls_the_schema_must_allow() -> None:
    """The fixtures really exercise null where OpenAI sends it (else the test proves little)."""
    seen: set[str] = set()
    for path in RECORDED.glob("openai/*.json"):
        answer = json.loads(path.read_text(encoding="utf-8"))
        for choice in answer.get("choices", []):
            seen |= {f"message.{k}" for k, v in choice["message"].items() if v is None}
            seen |= {k for k, v in choice.items() if v is None}
    assert {"message.content", "message.refusal", "logprobs"} <= seen


def test_nullable_fields_use_the_input_schema_form() -> None:
    """`"type": [<type>, "null"]`, as sendRequest.in.json writes it; nothing else."""
    def types(schema: dict[str, Any]) -> Iterator[Any]:
        if "type" in schema:
            yield schema["type"]
        for sub in schema.get("properties", {}).values():
            yield from types(sub)
        if isinstance(schema.get("items"), dict):
            yield from types(schema["items"])

    nullable = [t for t in types(OUT_SCHEMA) if isinstance(t, list)]
    assert nullable, "the out schema allows null nowhere"
    for type_list in nullable:
        assert len(type_list) == 2, type_list
        assert type_list[1] == "null", type_list
        assert type_list[0] in {"string", "integer", "number", "object", "array"}, type_list
