"""Real actions 2: Send Request with ``stream: true`` — our action against its Node twin
(axios, the event stream read and folded into one answer as a Node component would),
each answer ``--chunks`` chunks over ``--answer-s`` seconds from the fake model's
server-sent events, ``--prefetch`` answers at once.

Figures: answers per second as a percentage of the physical limit prefetch / answer
time (from the first message consumed, and after the first wave of ``prefetch``
answers), the sailor's CPU per chunk, the peak RSS, and the time from the server's last
chunk of an answer to the publication of its message (the output's ``end`` header;
median and p95).

    .venv/bin/python bench/send_request_stream.py --sailor both
"""

from __future__ import annotations

import asyncio
from typing import Any

from common.harness import (
    LIFTED_RATE_LIMIT,
    Bench,
    RunResult,
    interleave,
    machine,
    parse_args,
    percentile,
    report,
)
from common.model_server import ModelServer
from common.real import COMPONENT, SEND_REQUEST, STREAM_BODY, step_config


def add_arguments(parser: Any) -> None:
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--prefetch", type=int, nargs="+", default=[100])
    parser.add_argument("--chunks", type=int, default=200, help="chunks per answer")
    parser.add_argument("--answer-s", type=float, default=2.0,
                        help="seconds from the request to the last chunk")
    parser.add_argument("--reps", type=int, default=3)


def last_chunk_to_published_ms(result: RunResult, last_chunk_at: dict[str, float]) -> list[float]:
    """Per output: its ``end`` header minus the time the server wrote the answer's last chunk."""
    spans = []
    for output in result.outputs:
        index = str(output.body_id or "").removeprefix("chatcmpl-")
        if index in last_chunk_at and output.end_ms is not None:
            spans.append(output.end_ms - last_chunk_at[index] * 1000)
    return spans


async def main() -> None:
    args = parse_args(__doc__, add_arguments)
    info = machine()
    the_cases = [{"label": f"prefetch {p}", "prefetch": p} for p in args.prefetch]
    with ModelServer(0, chunks=args.chunks, answer_s=args.answer_s) as model:

        async def run_case(bench: Bench, kind: str, case: dict[str, Any]) -> RunResult:
            model.reset()
            ideal_s = args.messages * args.answer_s / case["prefetch"]
            result = await bench.run(
                kind, case["label"], SEND_REQUEST, component=COMPONENT,
                messages=args.messages, prefetch=case["prefetch"], body=STREAM_BODY,
                extra_env={"ELASTICIO_DATA_RATE_LIMIT": LIFTED_RATE_LIMIT},
                decode_all=True, timeout_s=60 + 3 * ideal_s)
            if result.ok:
                stats = model.stats()
                spans = last_chunk_to_published_ms(result, stats["last_chunk_at"])
                limit = case["prefetch"] / args.answer_s
                after_wave = result.extra.get("msg_per_s_after_first_wave")
                result.extra.update(
                    pct_of_limit=100 * result.msg_per_s / limit,
                    pct_after_wave=after_wave and 100 * after_wave / limit,
                    cpu_us_per_chunk=result.cpu_ms_per_msg * 1000 / args.chunks,
                    last_chunk_ms_p50=percentile(spans, 50),
                    last_chunk_ms_p95=percentile(spans, 95),
                    matched_outputs=len(spans), streams=stats["requests"].get("chat stream"))
                if len(spans) != args.messages:
                    result.ok = False
                    result.error = (f"{len(spans)} of {args.messages} outputs matched a "
                                    "stream of the server")
            return result

        bench = Bench(args.sailors, config=step_config(model.url), cpu_hogs=args.cpu_hogs)
        async with bench:
            await bench.check(SEND_REQUEST, component=COMPONENT, body=STREAM_BODY)
            results = await interleave(bench, the_cases, args.reps, run_case)
    report("send_request_stream",
           f"Send Request, streamed ({args.chunks} chunks over {args.answer_s:g} s per answer, "
           f"{args.messages} answers)", info=info, args=args, bench=bench, results=results,
           cases=[c["label"] for c in the_cases], metrics=[
               ("answers/s", lambda r: r.msg_per_s, 1),
               ("% of limit, from 1st consumed", lambda r: r.extra["pct_of_limit"], 1),
               ("% of limit, after 1st wave", lambda r: r.extra["pct_after_wave"], 1),
               ("CPU us/chunk", lambda r: r.extra["cpu_us_per_chunk"], 1),
               ("last chunk -> published p50 ms", lambda r: r.extra["last_chunk_ms_p50"], 1),
               ("last chunk -> published p95 ms", lambda r: r.extra["last_chunk_ms_p95"], 1),
               ("peak RSS MB", lambda r: r.peak_rss_mb, 1),
           ])


if __name__ == "__main__":
    asyncio.run(main())
