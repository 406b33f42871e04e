"""The benchmark scripts (bench/, not run by the tests) still start, and the fake model
server speaks the wire format the components read. Cheap: no broker, no sailor."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = ["send_request.py", "send_request_stream.py", "background_jobs.py", "cold_start.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_parses_its_arguments(script):
    run = subprocess.run([sys.executable, str(BENCH / script), "--help"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert "--sailor" in run.stdout
    assert "--reps" in run.stdout


def load_model_server():
    spec = importlib.util.spec_from_file_location("bench_model_server",
                                                  BENCH / "common" / "model_server.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def dechunk(body: bytes) -> bytes:
    out, pos = b"", 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end], 16)
        if size == 0:
            assert body[end:] == b"\r\n\r\n"
            return out
        out += body[end + 2:end + 2 + size]
        assert body[end + 2 + size:end + 4 + size] == b"\r\n"
        pos = end + 4 + size


def test_fake_stream_is_chunked_server_sent_events_of_the_asked_size():
    pieces = load_model_server().stream_pieces(7, 5)
    assert len(pieces) == 5
    assert not any(piece.endswith(b"0\r\n\r\n") for piece in pieces[:-1])
    events = dechunk(b"".join(pieces)).decode().split("\n\n")
    assert events[-1] == ""
    data = [event.removeprefix("data: ") for event in events[:-1]]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(text) for text in data[:-1]]
    content = [c["choices"][0]["delta"]["content"] for c in chunks if c["choices"]]
    assert len(content) == 5
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert "usage" in chunks[-1]
    assert {c["id"] for c in chunks} == {"chatcmpl-7"}
