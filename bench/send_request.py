"""Real actions 1: Send Request, not streamed — our action (the repository's
component.json) on our sailor against its Node twin (ajv + axios) on the Node sailor,
one POST per message to a fake model that answers after 100 ms.

For each prefetch, with the data rate limit lifted: messages per second, as a percentage
of the physical limit prefetch / delay, counted from the first message consumed, and
after the first wave (the outputs after the first ``prefetch`` ones, over the time from
the ``prefetch``-th output to the last); the sailor's CPU per message, the p95 in-sailor
latency (``end`` - ``start`` header of each output) and the peak RSS.

    .venv/bin/python bench/send_request.py --sailor both
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
from common.real import CHAT_BODY, COMPONENT, SEND_REQUEST, step_config


def add_arguments(parser: Any) -> None:
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--p1-messages", type=int, default=100,
                        help="messages per run at prefetch 1 (500 would take ~55 s per run)")
    parser.add_argument("--prefetch", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--delay-ms", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)


def cases(args: Any) -> list[dict[str, Any]]:
    return [{"label": f"prefetch {prefetch}", "prefetch": prefetch,
             "messages": args.p1_messages if prefetch == 1 else args.messages}
            for prefetch in args.prefetch]


async def run_case(bench: Bench, kind: str, case: dict[str, Any]) -> RunResult:
    return await bench.run(kind, case["label"], SEND_REQUEST, component=COMPONENT,
                           messages=case["messages"], prefetch=case["prefetch"],
                           body=CHAT_BODY,
                           extra_env={"ELASTICIO_DATA_RATE_LIMIT": LIFTED_RATE_LIMIT})


async def main() -> None:
    args = parse_args(__doc__, add_arguments)
    info = machine()
    the_cases = cases(args)
    delay_s = args.delay_ms / 1000
    with ModelServer(args.delay_ms) as model:
        bench = Bench(args.sailors, config=step_config(model.url), cpu_hogs=args.cpu_hogs)
        async with bench:
            await bench.check(SEND_REQUEST, component=COMPONENT, body=CHAT_BODY)
            results = await interleave(bench, the_cases, args.reps, run_case)
    for result in results:
        if result.ok:
            limit = result.prefetch / delay_s
            result.extra["pct_of_limit"] = 100 * result.msg_per_s / limit
            after_wave = result.extra.get("msg_per_s_after_first_wave")
            result.extra["pct_after_wave"] = after_wave and 100 * after_wave / limit
    report("send_request", f"Send Request, not streamed ({args.delay_ms} ms per call)",
           info=info, args=args, bench=bench, results=results,
           cases=[c["label"] for c in the_cases], metrics=[
               ("msg/s", lambda r: r.msg_per_s, 1),
               ("% of limit, from 1st consumed", lambda r: r.extra["pct_of_limit"], 1),
               ("% of limit, after 1st wave", lambda r: r.extra["pct_after_wave"], 1),
               ("CPU ms/msg", lambda r: r.cpu_ms_per_msg, 2),
               ("p95 in-sailor ms", lambda r: r.extra["in_sailor_ms_p95"], 0),
               ("peak RSS MB", lambda r: r.peak_rss_mb, 1),
           ])


if __name__ == "__main__":
    asyncio.run(main())
