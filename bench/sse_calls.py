"""Python function calls and CPU per chunk of a streamed chat completion, in our code alone.

A realistic stream: 200 `chat.completion.chunk` events of one token each (as OpenAI sends
them: id, model, system_fingerprint, service_tier, `usage: null`), the usage chunk and
`[DONE]`, read as the async client reads it (`EventReader.feed` per piece into
`ChatStreamReader.add` per event; the sync client, which read streams through
`read_events`, no longer streams); the pieces are either one event each or cut at random
bytes. Calls are counted by
cProfile (builtins included), CPU by `time.process_time`: the best of 5 batches of runs.
No network.

    .venv/bin/python bench/sse_calls.py [--chunks 200] [--runs 2000] [--top 0]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.openai.chat import ChatStreamReader
from lib.openai.sse import EventReader

BATCHES = 5
HEAD = {"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion.chunk",
        "created": 1741570283, "model": "gpt-4o-2024-08-06", "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8"}


def _event(value: Any) -> bytes:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def stream(chunks: int) -> list[bytes]:
    """One piece per event; the last piece also holds the usage chunk and `[DONE]`."""
    pieces = []
    for k in range(chunks):
        last = k == chunks - 1
        delta = {"role": "assistant", "content": "", "refusal": None} if k == 0 else (
            {} if last else {"content": " token"})
        piece = _event({**HEAD, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                             "finish_reason": "stop" if last else None}],
                        "usage": None})
        if last:
            piece += _event({**HEAD, "choices": [], "usage": {
                "prompt_tokens": 10, "completion_tokens": chunks, "total_tokens": chunks + 10}})
            piece += _event("[DONE]")
        pieces.append(piece)
    return pieces


def cut_at_random(pieces: list[bytes], seed: int = 1) -> list[bytes]:
    """As many pieces, cut at random bytes."""
    data = b"".join(pieces)
    cuts = sorted(random.Random(seed).sample(range(1, len(data)), len(pieces) - 1))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def read_push(pieces: list[bytes]) -> dict[str, Any]:
    reader = EventReader(idle_timeout_s=60, monotonic=time.monotonic)
    chat = ChatStreamReader()
    for piece in pieces:
        for event in reader.feed(piece):
            chat.add(event)
    for event in reader.end():
        chat.add(event)
    return chat.result()


def measure(read: Callable[[list[bytes]], dict[str, Any]], pieces: list[bytes], runs: int,
            top: int) -> tuple[float, float]:
    """(calls per piece, CPU microseconds per piece)."""
    profile = cProfile.Profile()
    profile.enable()
    read(pieces)
    profile.disable()
    if top:
        pstats.Stats(profile).sort_stats("ncalls").print_stats(top)
    # counted from the raw entries: pstats merges functions of the same file, line and
    # name (every dataclass's generated __init__ is "<string>:2"), so its total can miss some
    calls = sum(entry.callcount for entry in profile.getstats())  # type: ignore[attr-defined]
    read(pieces)
    best = float("inf")
    for _ in range(BATCHES):  # the best batch: the least disturbed by other processes
        started = time.process_time()
        for _ in range(runs // BATCHES):
            read(pieces)
        best = min(best, time.process_time() - started)
    cpu = best / (runs // BATCHES) / len(pieces) * 1e6
    return calls / len(pieces), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--top", type=int, default=0, help="print the N most called")
    args = parser.parse_args()
    whole = stream(args.chunks)
    assert read_push(whole) == read_push(cut_at_random(whole))
    print("| path | pieces | calls per chunk | CPU per chunk |")
    print("| ---- | ------ | --------------- | ------------- |")
    for name, pieces in (("one event each", whole),
                         ("cut at random bytes", cut_at_random(whole))):
        calls, cpu = measure(read_push, pieces, args.runs, args.top)
        print(f"| push: EventReader | {name} | {calls:.1f} | {cpu:.2f} us |")


if __name__ == "__main__":
    main()
