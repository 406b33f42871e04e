"""Benchmark 3: cold start — process spawn to the log line "Fully initialized and waiting
for messages", and to the first published output (one message waiting in the queue).
Also the resident set size at the init line ("idle RSS"). One warm-up start per sailor
is not counted.

``--action noop`` (the default) runs the no-op of the bench components; ``--action
sendRequest`` the real Send Request against its Node twin, with a fake model answering at
once (``--delay-ms``, 0): the first real output then includes the action's imports, its
schema compilation and the HTTP connection set-up.

    .venv/bin/python bench/cold_start.py --sailor both
    .venv/bin/python bench/cold_start.py --sailor both --action sendRequest
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from common.harness import Bench, RunResult, interleave, machine, parse_args, report
from common.model_server import ModelServer
from common.real import CHAT_BODY, COMPONENT, SEND_REQUEST, step_config


def add_arguments(parser: Any) -> None:
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--action", choices=("noop", SEND_REQUEST), default="noop")
    parser.add_argument("--delay-ms", type=int, default=0,
                        help="the fake model's answer time, for --action sendRequest")


def describe(result: RunResult) -> str:
    return (f"init line {result.init_s:.3f} s  first output {result.first_output_s:.3f} s  "
            f"idle RSS {result.idle_rss_mb:.1f} MB")


async def main() -> None:
    args = parse_args(__doc__, add_arguments)
    info = machine()
    real = args.action == SEND_REQUEST
    run_args: dict[str, Any] = (
        {"function": SEND_REQUEST, "component": COMPONENT, "body": CHAT_BODY} if real
        else {"function": "noop", "component": "bench", "body": {"text": "cold start"}})
    case = {"label": f"cold start, {args.action}"}

    async def run_case(bench: Bench, kind: str, case: dict[str, Any]) -> RunResult:
        return await bench.run(kind, case["label"], messages=1, prefetch=1, **run_args)

    with ModelServer(args.delay_ms) if real else contextlib.nullcontext() as model:
        config = step_config(model.url) if model is not None else None
        async with Bench(args.sailors, config=config, cpu_hogs=args.cpu_hogs) as bench:
            await bench.check(run_args["function"], component=run_args["component"],
                              body=run_args["body"])
            results = await interleave(bench, [case], args.reps, run_case, describe)
    report("cold_start", f"cold start ({args.action})", info=info, args=args, bench=bench,
           results=results, cases=[case["label"]], metrics=[
        ("spawn -> init line, s", lambda r: r.init_s, 2),
        ("spawn -> 1st output, s", lambda r: r.first_output_s, 2),
        ("idle RSS MB", lambda r: r.idle_rss_mb, 0),
    ])


if __name__ == "__main__":
    asyncio.run(main())
