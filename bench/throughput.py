"""Benchmark 1: no-op throughput of the sailor on pre-loaded encrypted messages.

For each prefetch, with the data rate limit lifted and at its default (10 per 100 ms):
messages per second from the first consume (earliest ``start`` header of the outputs)
to the last output, sailor CPU ms per message (init line → last output), peak RSS.

    .venv/bin/python bench/throughput.py --sailor both
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

BODY = {"text": "The quick brown fox jumps over the lazy dog.", "count": 42, "flag": True}


def add_arguments(parser: Any) -> None:
    parser.add_argument("--messages", type=int, default=5000,
                        help="pre-loaded messages per run with the limit lifted (5000)")
    parser.add_argument("--limited-messages", type=int, default=1000,
                        help="messages per run at the default limit, which caps any sailor "
                             "at 100 msg/s (1000)")
    parser.add_argument("--prefetch", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--limit", choices=("lifted", "default", "both"), default="both")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--body-bytes", type=int, default=0,
                        help="pad the message body's text to about this many bytes "
                             "(default: a ~100-byte body)")


def cases(args: Any) -> list[dict[str, Any]]:
    limits = ["lifted", "default"] if args.limit == "both" else [args.limit]
    return [
        {
            "label": f"prefetch {prefetch}, limit {limit}",
            "prefetch": prefetch,
            "messages": args.messages if limit == "lifted" else args.limited_messages,
            "env": {"ELASTICIO_DATA_RATE_LIMIT": LIFTED_RATE_LIMIT} if limit == "lifted" else {},
            "body": body(args.body_bytes),
        }
        for limit in limits
        for prefetch in args.prefetch
    ]


async def run_case(bench: Bench, kind: str, case: dict[str, Any]) -> RunResult:
    return await bench.run(kind, case["label"], "noop", messages=case["messages"],
                           prefetch=case["prefetch"], body=case["body"], extra_env=case["env"])


def body(size: int) -> dict[str, Any]:
    if size <= len(BODY["text"]):
        return BODY
    return {**BODY, "text": (BODY["text"] + " ") * (size // (len(BODY["text"]) + 1) + 1)}


async def main() -> None:
    args = parse_args(__doc__, add_arguments)
    info = machine()
    the_cases = cases(args)
    async with Bench(args.sailors, cpu_hogs=args.cpu_hogs) as bench:
        await bench.check()
        results = await interleave(bench, the_cases, args.reps, run_case)
    report("throughput", "no-op throughput", info=info, args=args, bench=bench,
           results=results, cases=[c["label"] for c in the_cases], metrics=[
               ("msg/s", lambda r: r.msg_per_s, 0),
               ("CPU ms/msg", lambda r: r.cpu_ms_per_msg, 2),
               ("peak RSS MB", lambda r: r.peak_rss_mb, 0),
           ])


if __name__ == "__main__":
    asyncio.run(main())
