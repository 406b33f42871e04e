"""An OpenAI-compatible stand-in on 127.0.0.1 for end-to-end tests and local tries.

It answers ``POST /v1/chat/completions``, ``GET /v1/models`` and the Responses API
(``POST /v1/responses``, plain, streamed or in the background; ``GET /v1/responses/{id}``;
``POST /v1/responses/{id}/cancel``) like the real API: scripted replies first (rate
limits, errors, streams, failed or incomplete responses), then a default answer built
from the request. A background job answers ``in_progress`` to its first
``background_polls`` polls, then its result (or forever, for ``background_polls=None``);
streamed, it sends only its first event and ends the stream, as a dropped connection
would, so that the client has to poll it.
The audio, file and image endpoints (``/v1/audio/*``, ``/v1/files``,
``/v1/vector_stores/*``, ``/v1/images/*``) are answered by ``openai_audio_routes``,
``openai_files_routes`` and ``openai_images_routes`` (``audio``, ``files`` and ``images``
here: their state and scripts), multipart forms included, and the images it answers with
as links are served without a key, as a signed link is; ``/v1/embeddings`` and
``/v1/moderations`` by ``openai_embeddings_routes`` and ``openai_moderations_routes``
(``json_routes`` here).
Every request is checked by an injected validator (the official OpenAPI document's
``CreateChatCompletionRequest``, ``CreateResponse``, ...); a request that does not
conform is recorded as a violation and answered with a 400 ``invalid_request_error``.

Run it by hand to try the component without an OpenAI account (the README's Quick start;
``examples/cfg-standin.json`` points at its default port):
    .venv/bin/python -m tests.support.openai_standin --port 8098
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.multipart_form import read_body
from tests.support.openai_audio_routes import AudioRoutes
from tests.support.openai_embeddings_routes import EMBEDDINGS_ROUTE
from tests.support.openai_files_routes import FilesRoutes
from tests.support.openai_images_routes import ImagesRoutes
from tests.support.openai_json_routes import JsonRoutes
from tests.support.openai_moderations_routes import MODERATIONS_ROUTE
from tests.support.openai_replies import (
    Reply,
    Validator,
    contract_refusal,
    error_body,
    not_json_object,
)

# Not 8099: examples/cfg-local.json and the README's llama.cpp example use that one.
DEFAULT_PORT = 8098
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-5-mini", "o4-mini", "text-embedding-3-small", "whisper-1")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def rate_limited(retry_after_s: int) -> Reply:
    return Reply(429, error_body("Rate limit reached for requests", "requests",
                                 "rate_limit_exceeded"),
                 headers={"retry-after": str(retry_after_s)})


def completion(model: str, content: str | None, *, tool_calls: list[dict] | None = None,
               finish_reason: str = "stop") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None,
                               "annotations": []}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
        "service_tier": "default",
    }


def stream_chunks(answer: dict[str, Any], *, include_usage: bool) -> list[dict[str, Any]]:
    """Split a chat.completion into chunks the way the API streams it."""
    base = {k: answer[k] for k in ("id", "created", "model")} | {
        "object": "chat.completion.chunk", "service_tier": answer.get("service_tier")}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return base | {"choices": [{"index": 0, "delta": delta, "logprobs": None,
                                    "finish_reason": finish_reason}]}

    message = answer["choices"][0]["message"]
    text = message.get("content") or ""
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": text[i:i + 5]}) for i in range(0, len(text), 5)]
    for index, call in enumerate(message.get("tool_calls") or []):
        arguments = call["function"]["arguments"]
        chunks.append(chunk({"tool_calls": [{
            "index": index, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""}}]}))
        chunks += [chunk({"tool_calls": [{"index": index,
                                          "function": {"arguments": arguments[i:i + 4]}}]})
                   for i in range(0, len(arguments), 4)]
    chunks.append(chunk({}, answer["choices"][0]["finish_reason"]))
    if include_usage:
        for item in chunks:
            item["usage"] = None
        chunks.append(base | {"choices": [], "usage": answer["usage"]})
    return chunks


def default_answer(request: dict[str, Any]) -> dict[str, Any]:
    """A plausible answer: JSON for JSON modes, an echo of the last user text otherwise."""
    last_user = next((m for m in reversed(request.get("messages", []))
                      if m.get("role") == "user"), {})
    content = last_user.get("content", "")
    if isinstance(content, list):
        content = " ".join(p.get("text", f"[{p.get('type')}]") for p in content)
    kind = (request.get("response_format") or {}).get("type")
    if kind in {"json_object", "json_schema"}:
        return completion(request["model"], json.dumps({"answer": content}))
    return completion(request["model"], f"You said: {content}")


def _words_of(request: dict[str, Any]) -> str:
    """The text of the last user input of a Responses request."""
    value = request.get("input", "")
    if isinstance(value, list):
        users = [item for item in value if isinstance(item, dict) and item.get("role") == "user"]
        content = users[-1].get("content", "") if users else ""
        if isinstance(content, list):
            content = " ".join(p.get("text", f"[{p.get('type')}]") for p in content)
        value = content
    return str(value)


def response_object(model: str, text: str | None, *, status: str = "completed",
                    background: bool = False, output: list[dict[str, Any]] | None = None,
                    error: dict[str, Any] | None = None,
                    incomplete_reason: str | None = None,
                    response_id: str | None = None) -> dict[str, Any]:
    """A Response as the API sends it (every required field; usage once it ended)."""
    now = int(time.time())
    if output is None:
        output = [] if text is None else [{
            "type": "message", "id": f"msg_{uuid.uuid4().hex}", "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [],
                         "logprobs": []}]}]
    running = status in {"queued", "in_progress"}
    answer = {
        "id": response_id or f"resp_{uuid.uuid4().hex}", "object": "response",
        "created_at": now, "status": status, "background": background,
        "completed_at": now if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": None, "max_output_tokens": None, "model": model,
        "output": [] if running else output,
        "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "store": True, "temperature": 1.0,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
        "top_p": 1.0, "truncation": "disabled", "metadata": {},
    }
    if not running and status != "cancelled":  # no usage yet (the schema has no null)
        answer["usage"] = {
            "input_tokens": 9, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 16}
    return answer


def in_state(final: dict[str, Any], status: str) -> dict[str, Any]:
    """`final` as it looked (or looks) while `queued`/`in_progress`, or once `cancelled`."""
    return {key: value for key, value in final.items() if key != "usage"} | {
        "status": status, "output": [], "completed_at": None}


def default_response(request: dict[str, Any]) -> dict[str, Any]:
    """JSON for JSON formats, an echo of the last user text otherwise."""
    words = _words_of(request)
    text_format = ((request.get("text") or {}).get("format") or {}).get("type")
    text = json.dumps({"answer": words}) if text_format in {"json_object", "json_schema"} \
        else f"You said: {words}"
    answer = response_object(request["model"], text,
                             background=bool(request.get("background")))
    answer["text"] = request.get("text") or answer["text"]
    return answer


def response_events(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The events the API streams for a Response whose output is messages (or nothing)."""
    start = in_state(answer, "in_progress") | {"incomplete_details": None, "error": None}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": start},
                                    {"type": "response.in_progress", "response": start}]
    for index, item in enumerate(answer["output"]):
        events.append({"type": "response.output_item.added", "output_index": index,
                       "item": item | {"status": "in_progress", "content": []}})
        for part_index, part in enumerate(item.get("content", [])):
            ids = {"item_id": item["id"], "output_index": index, "content_index": part_index}
            text = part.get("text", "")
            events.append({"type": "response.content_part.added", **ids,
                           "part": part | {"text": ""}})
            events += [{"type": "response.output_text.delta", **ids, "delta": text[i:i + 5],
                        "logprobs": []} for i in range(0, len(text), 5)]
            events.append({"type": "response.output_text.done", **ids, "text": text,
                           "logprobs": []})
            events.append({"type": "response.content_part.done", **ids, "part": part})
        events.append({"type": "response.output_item.done", "output_index": index,
                       "item": item})
    terminal = {"failed": "response.failed", "incomplete": "response.incomplete"}
    events.append({"type": terminal.get(answer["status"], "response.completed"),
                   "response": answer})
    return [event | {"sequence_number": number} for number, event in enumerate(events)]


def sse_lines(events: list[dict[str, Any]]) -> list[str]:
    """Events framed as the Responses API frames them: an `event:` line, then `data:`."""
    return [f"event: {event['type']}\ndata: {json.dumps(event)}" for event in events]


@dataclass
class BackgroundJob:
    final: dict[str, Any]
    polls_left: int | None  # None: never finishes
    cancelled: bool = False
    polls: int = 0


class OpenAIStandIn:
    """Start with ``start()`` (or as a context manager); ``url`` is the base URL (…/v1)."""

    def __init__(self, *, api_key: str | None = None, validator: Validator | None = None,
                 models: Iterable[str] = DEFAULT_MODELS, port: int = 0) -> None:
        self.api_key = api_key
        self.validator = validator
        self.models = list(models)
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._scripted: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.background_polls: int | None = 2
        self.jobs: dict[str, BackgroundJob] = {}
        self.audio = AudioRoutes(validator, self.violations)
        self.files = FilesRoutes(validator, self.violations)
        self.json_routes = JsonRoutes((EMBEDDINGS_ROUTE, MODERATIONS_ROUTE), validator,
                                      self.violations)
        self.images = ImagesRoutes(validator, self.violations)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue answers for the next chat, response, audio or file requests, in order."""
        with self._lock:
            self._scripted.extend(replies)

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def response_requests(self) -> list[RecordedRequest]:
        """The POSTs that created responses."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/responses"]

    def job_requests(self, response_id: str) -> list[RecordedRequest]:
        """The polls and cancels of one background job."""
        return [r for r in self.requests if r.path.startswith(f"/v1/responses/{response_id}")]

    def start(self) -> OpenAIStandIn:
        # a short poll: shutdown() waits for it (the default 0.5 s, once per test)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenAIStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_scripted(self) -> Reply | None:
        with self._lock:
            return self._scripted.popleft() if self._scripted else None

    def _answer_chat(self, body: Any) -> Reply:
        refused = contract_refusal(self.validator, self.violations,
                                   "CreateChatCompletionRequest", body)
        if refused is not None:
            return refused
        scripted = self._next_scripted()
        if scripted is not None:
            return scripted
        answer = default_answer(body)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return Reply(sse=stream_chunks(answer, include_usage=include_usage))
        return Reply(json=answer)

    def _answer_response(self, body: Any) -> Reply:
        refused = contract_refusal(self.validator, self.violations, "CreateResponse", body)
        if refused is not None:
            return refused
        answer = self._next_scripted()
        if answer is None:
            answer = Reply(json=default_response(body))
        elif answer.json is None or answer.status != 200:
            return answer
        final = answer.json
        if body.get("background"):
            with self._lock:
                self.jobs[final["id"]] = BackgroundJob(final, self.background_polls)
            final = in_state(final, "queued")
        if body.get("stream"):
            events = response_events(final) if not body.get("background") else [
                {"type": "response.created", "response": final, "sequence_number": 0}]
            return Reply(sse=sse_lines(events), done_marker=False)
        return Reply(json=final)

    def _answer_job(self, method: str, path: str) -> Reply:
        response_id, _, action = path.removeprefix("/v1/responses/").partition("/")
        with self._lock:
            job = self.jobs.get(response_id)
            if job is None:
                return Reply(404, error_body(f"Response with id '{response_id}' not found.",
                                             "invalid_request_error"))
            running = job.polls_left is None or job.polls_left > 0
            if method == "POST" and action == "cancel":
                job.cancelled = job.cancelled or running
            elif method == "GET" and not action:
                job.polls += 1
                if job.polls_left:
                    job.polls_left -= 1
            else:
                return Reply(404, error_body(f"Unknown path {path}", "invalid_request_error"))
            if job.cancelled:
                return Reply(json=in_state(job.final, "cancelled"))
            return Reply(json=in_state(job.final, "in_progress") if running else job.final)

    def _answer_routed(self, method: str, path: str, headers: Any, raw: bytes
                       ) -> Reply | None:
        """The audio, file, image, embeddings and moderations endpoints' answer (a
        scripted reply first), None for any other path."""
        for routes in (self.audio, self.files, self.images, self.json_routes):
            if routes.handles(method, path):
                return self._next_scripted() or routes.answer(method, path, headers, raw)
        return None

    def _answer_models(self) -> Reply:
        data = [{"id": m, "object": "model", "created": 1_700_000_000 + i, "owned_by": "system"}
                for i, m in enumerate(self.models)]
        return Reply(json={"object": "list", "data": data})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._handle(None, b"")

            def do_POST(self) -> None:
                raw = read_body(self.rfile, self.headers)
                if self.headers.get("Content-Type", "").startswith("multipart/"):
                    body: Any = f"(multipart form, {len(raw)} bytes)"
                else:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw.decode(errors="replace")
                self._handle(body, raw)

            def _handle(self, body: Any, raw: bytes) -> None:
                standin.requests.append(RecordedRequest(
                    self.command, self.path, dict(self.headers.items()), body))
                reply = (standin.images.linked_file(self.command, self.path)
                         or self._refused_key()
                         or standin._answer_routed(self.command, self.path, self.headers, raw)
                         or self._route(body))
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.sse is not None:
                    self._send_stream(reply)
                else:
                    self._send_body(reply)

            def _refused_key(self) -> Reply | None:
                expected = standin.api_key
                if expected and self.headers.get("Authorization") != f"Bearer {expected}":
                    return Reply(401, error_body("Incorrect API key provided.",
                                                 "invalid_request_error", "invalid_api_key"))
                return None

            def _route(self, body: Any) -> Reply:
                if self.command == "GET" and self.path.rstrip("/").endswith("/v1/models"):
                    return standin._answer_models()
                creates = {"/v1/chat/completions": standin._answer_chat,
                           "/v1/responses": standin._answer_response}
                if self.command == "POST" and self.path in creates:
                    if not isinstance(body, dict):
                        return not_json_object()
                    return creates[self.path](body)
                if self.path.startswith("/v1/responses/"):
                    return standin._answer_job(self.command, self.path)
                return Reply(404, error_body(f"Unknown path {self.path}", "invalid_request_error"))

            def _send_body(self, reply: Reply) -> None:
                payload = reply.payload()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _send_stream(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for item in reply.sse:
                    line = item if isinstance(item, str) else f"data: {json.dumps(item)}"
                    self.wfile.write(f"{line}\n\n".encode())
                    self.wfile.flush()
                if reply.done_marker:
                    self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--api-key", help="require this key (default: accept any)")
    args = parser.parse_args()
    standin = OpenAIStandIn(api_key=args.api_key, port=args.port)
    print(f"OpenAI stand-in listening on {standin.url} (Ctrl+C to stop)", flush=True)
    try:
        standin.start()._thread.join()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
