"""Real actions 3: Create Response with ``background: true`` — ``--jobs`` jobs in flight
in one process (prefetch = jobs), each completing at its ``--polls``-th poll; our action
against its Node twin (ajv + axios, the same poll schedule, the job map in the snapshot).

Polls follow the documented schedule: after 1 s, then intervals growing by half up to
15 s (``--poll-first-s`` / ``--poll-max-s`` set ``RESPONSES_POLL_FIRST_S`` /
``RESPONSES_POLL_MAX_S`` for both sides, to try things quickly). The sailor is sampled
every ``--sample-s``. Figures:

- CPU (% of one core) and RSS while waiting: from the last job created to the first job
  completed, as seen by the fake server; and over the steady part of that window, once
  the intervals have reached their maximum;
- polls per job per minute (median over the jobs, from the server's records), beside
  what the schedule gives for the same number of polls;
- threads of the sailor process (the most seen while waiting);
- no job lost or created twice: every message creates exactly one job and gets one
  output (a run fails otherwise); the snapshot messages and their bytes are counted.

    .venv/bin/python bench/background_jobs.py --sailor both
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from common.harness import (
    LIFTED_RATE_LIMIT,
    Bench,
    RunResult,
    Sample,
    interleave,
    machine,
    parse_args,
    report,
)
from common.model_server import ModelServer
from common.real import BACKGROUND_BODY, COMPONENT, CREATE_RESPONSE, step_config

# the documented poll schedule (README, Create Response): first, growth, maximum
FIRST_POLL_S, POLL_GROWTH, MAX_POLL_S = 1.0, 1.5, 15.0


def add_arguments(parser: Any) -> None:
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--polls", type=int, default=10,
                        help="a job completes at its N-th poll (10: after ~77 s)")
    parser.add_argument("--poll-first-s", type=float, default=None)
    parser.add_argument("--poll-max-s", type=float, default=None)
    parser.add_argument("--sample-s", type=float, default=0.5)
    parser.add_argument("--reps", type=int, default=2)


def poll_times(polls: int, first_s: float, max_s: float) -> list[float]:
    """Seconds after the create at which the schedule polls, ``polls`` of them."""
    times, at, interval = [], 0.0, first_s
    for _ in range(polls):
        at += interval
        times.append(at)
        interval = min(interval * POLL_GROWTH, max_s)
    return times


def steady_after_s(first_s: float, max_s: float) -> float:
    """Seconds after the create from which every interval is the maximum."""
    at, interval = 0.0, first_s
    while interval < max_s:
        at += interval
        interval = min(interval * POLL_GROWTH, max_s)
    return at


def window(samples: Sequence[Sample], start: float, end: float) -> dict[str, float] | None:
    """CPU % of a core, most RSS (MB) and threads between the samples inside [start, end]."""
    inside = [s for s in samples if start <= s.at <= end]
    if len(inside) < 2:
        return None
    first, last = inside[0], inside[-1]
    return {"cpu_pct": 100 * (last.cpu_s - first.cpu_s) / (last.at - first.at),
            "rss_mb": max(s.rss_kb for s in inside) / 1024,
            "threads": max(s.threads for s in inside),
            "seconds": last.at - first.at}


def check_jobs(result: RunResult, stats: dict[str, Any], jobs: int) -> str | None:
    """Why the run is wrong (a job lost or created twice), or None."""
    creates = stats["creates"]
    twice = [index for index, count in creates.items() if count != 1]
    if len(creates) != jobs or twice:
        return (f"{len(creates)} of {jobs} messages created a job; created more than once: "
                f"{twice[:5]}")
    unfinished = [job for job, record in stats["jobs"].items() if record["done_at"] is None]
    if unfinished or len(result.outputs) != jobs:
        return f"{len(unfinished)} jobs never completed; {len(result.outputs)} outputs"
    return None


def figures(result: RunResult, stats: dict[str, Any], args: Any) -> None:
    records = list(stats["jobs"].values())
    last_create = max(r["created_at"] for r in records)
    first_done = min(r["done_at"] for r in records)
    rates = sorted(len(r["polls"]) * 60 / (r["done_at"] - r["created_at"]) for r in records)
    waiting = window(result.samples, last_create, first_done)
    steady = window(result.samples, last_create + steady_after_s(args.first_s, args.max_s),
                    first_done)
    result.extra.update(
        waiting=waiting, steady=steady,
        polls_per_job_min=rates[len(rates) // 2],
        polls=stats["requests"].get("poll"),
        snapshot_kb=result.extra.get("snapshot_bytes", 0) / 1024)


async def main() -> None:
    args = parse_args(__doc__, add_arguments)
    info = machine()
    args.first_s = args.poll_first_s or FIRST_POLL_S
    args.max_s = args.poll_max_s or max(MAX_POLL_S, args.first_s)
    # Our component keeps at most 32 background jobs per step unless told otherwise (the
    # rest are rebounded); the benchmark holds --jobs at once. The Node twin has no cap.
    env = {"ELASTICIO_DATA_RATE_LIMIT": LIFTED_RATE_LIMIT,
           "RESPONSES_MAX_BACKGROUND_JOBS": str(args.jobs)}
    if args.poll_first_s:
        env["RESPONSES_POLL_FIRST_S"] = str(args.poll_first_s)
    if args.poll_max_s:
        env["RESPONSES_POLL_MAX_S"] = str(args.poll_max_s)
    times = poll_times(args.polls, args.first_s, args.max_s)
    expected_rate = args.polls * 60 / times[-1]
    case = {"label": f"{args.jobs} jobs, {args.polls} polls"}
    with ModelServer(0, polls=args.polls) as model:

        async def run_case(bench: Bench, kind: str, case: dict[str, Any]) -> RunResult:
            model.reset()
            result = await bench.run(
                kind, case["label"], CREATE_RESPONSE, component=COMPONENT,
                messages=args.jobs, prefetch=args.jobs, body=BACKGROUND_BODY, extra_env=env,
                allowed=("snapshot",), sample_every_s=args.sample_s,
                timeout_s=60 + 2 * times[-1])
            if result.ok:
                stats = model.stats()
                problem = check_jobs(result, stats, args.jobs)
                if problem is not None:
                    result.ok, result.error = False, problem
                    print(f"  {kind}: FAILED: {problem}", flush=True)
                else:
                    figures(result, stats, args)
            return result

        bench = Bench(args.sailors, config=step_config(model.url), cpu_hogs=args.cpu_hogs)
        async with bench:
            await bench.check(CREATE_RESPONSE, component=COMPONENT,
                              body={**BACKGROUND_BODY, "background": False})
            results = await interleave(bench, [case], args.reps, run_case)

    def part(name: str, key: str) -> Any:
        return lambda r: (r.extra[name] or {}).get(key)

    report("background_jobs",
           f"Create Response, background ({args.jobs} jobs in one process, done at poll "
           f"{args.polls}; the schedule gives {expected_rate:.1f} polls per job per minute "
           f"over that time)", info=info, args=args, bench=bench, results=results,
           cases=[case["label"]], metrics=[
               ("CPU % of a core, waiting", part("waiting", "cpu_pct"), 2),
               ("CPU % of a core, steady polls", part("steady", "cpu_pct"), 2),
               ("RSS MB, waiting (most)", part("waiting", "rss_mb"), 1),
               ("peak RSS MB", lambda r: r.peak_rss_mb, 1),
               ("threads, waiting (most)", part("waiting", "threads"), 0),
               ("polls per job per minute", lambda r: r.extra["polls_per_job_min"], 2),
               ("snapshot messages", lambda r: r.extra.get("snapshot_messages"), 0),
               ("snapshot KB in all", lambda r: r.extra["snapshot_kb"], 0),
               ("CPU ms per job, whole run", lambda r: r.cpu_ms_per_msg, 1),
           ])


if __name__ == "__main__":
    asyncio.run(main())
