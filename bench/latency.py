"""Benchmark 2: a latency-bound step — one HTTP POST per message to a local server that
answers after 100 ms with a small chat-completion JSON.

For each prefetch, with the data rate limit at its default (10 per 100 ms, so at most
100 msg/s) and lifted: messages per second, and that rate as a percentage of the
physical limit prefetch ÷ 0.1 s.

    .venv/bin/python bench/latency.py --sailor both
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
    report,
)
from common.model_server import ModelServer

BODY = {"prompt": "Say pong."}


def add_arguments(parser: Any) -> None:
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--p1-messages", type=int, default=100,
                        help="messages per run at prefetch 1, where a run of 500 would take "
                             "~55 s per sailor and limit (100)")
    parser.add_argument("--prefetch", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--limit", choices=("lifted", "default", "both"), default="both")
    parser.add_argument("--delay-ms", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)


def cases(args: Any) -> list[dict[str, Any]]:
    limits = ["default", "lifted"] if args.limit == "both" else [args.limit]
    return [
        {
            "label": f"prefetch {prefetch}, limit {limit}",
            "prefetch": prefetch,
            "messages": args.p1_messages if prefetch == 1 else args.messages,
            "env": {"ELASTICIO_DATA_RATE_LIMIT": LIFTED_RATE_LIMIT} if limit == "lifted" else {},
        }
        for prefetch in args.prefetch
        for limit in limits
    ]


async def run_case(bench: Bench, kind: str, case: dict[str, Any]) -> RunResult:
    return await bench.run(kind, case["label"], "chat", messages=case["messages"],
                           prefetch=case["prefetch"], body=BODY, extra_env=case["env"])


async def main() -> None:
    args = parse_args(__doc__, add_arguments)
    info = machine()
    the_cases = cases(args)
    delay_s = args.delay_ms / 1000
    with ModelServer(args.delay_ms) as chat:
        bench = Bench(args.sailors, config={"baseUrl": chat.url}, cpu_hogs=args.cpu_hogs)
        async with bench:
            await bench.check()
            results = await interleave(bench, the_cases, args.reps, run_case)
    for result in results:
        if result.ok:
            result.extra["pct_of_limit"] = 100 * result.msg_per_s * delay_s / result.prefetch
    report("latency", f"latency-bound ({args.delay_ms} ms per call)", info=info, args=args,
           bench=bench, results=results, cases=[c["label"] for c in the_cases], metrics=[
               ("msg/s", lambda r: r.msg_per_s, 1),
               ("% of prefetch/delay", lambda r: r.extra["pct_of_limit"], 0),
               ("CPU ms/msg", lambda r: r.cpu_ms_per_msg, 2),
               ("peak RSS MB", lambda r: r.peak_rss_mb, 0),
           ])


if __name__ == "__main__":
    asyncio.run(main())
