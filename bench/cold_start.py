"""Benchmark 3: cold start — process spawn to the log line "Fully initialized and waiting
for messages", and to the first published output (one message waiting in the queue).
Also the resident set size at the init line ("idle RSS"). One warm-up start per sailor
is not counted.

    .venv/bin/python bench/cold_start.py --sailor both
"""

from __future__ import annotations

import asyncio
from typing import Any

from common.harness import Bench, RunResult, interleave, machine, parse_args, report


def add_arguments(parser: Any) -> None:
    parser.add_argument("--reps", type=int, default=10)


async def run_case(bench: Bench, kind: str, case: dict[str, Any]) -> RunResult:
    return await bench.run(kind, case["label"], "noop", messages=1, prefetch=1,
                           body={"text": "cold start"})


def describe(result: RunResult) -> str:
    return (f"init line {result.init_s:.3f} s  first output {result.first_output_s:.3f} s  "
            f"idle RSS {result.idle_rss_mb:.1f} MB")


async def main() -> None:
    args = parse_args(__doc__, add_arguments)
    info = machine()
    case = {"label": "cold start"}
    async with Bench(args.sailors, cpu_hogs=args.cpu_hogs) as bench:
        await bench.check()
        results = await interleave(bench, [case], args.reps, run_case, describe)
    report("cold_start", "cold start", info=info, args=args, bench=bench, results=results,
           cases=[case["label"]], metrics=[
        ("spawn -> init line, s", lambda r: r.init_s, 2),
        ("spawn -> 1st output, s", lambda r: r.first_output_s, 2),
        ("idle RSS MB", lambda r: r.idle_rss_mb, 0),
    ])


if __name__ == "__main__":
    asyncio.run(main())
