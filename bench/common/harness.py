"""One benchmark session: a throwaway broker, the platform stand-in, and timed sailor runs.

A run = fresh exchange and queues, N pre-loaded encrypted messages, one freshly spawned
sailor, wait for N data outputs, read the sailor's CPU time and peak RSS from /proc,
SIGTERM, clean up. ``interleave`` repeats the cases A B A B so that both sailors see the
same background load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import procstat
from .amqp_rig import Output, Rig, Topology
from .crypto import MessageCrypto
from .platform_api import PlatformStandIn
from .sailors import (
    REPO_ROOT,
    SAILORS,
    SCRATCH,
    SailorProcess,
    SailorUnavailableError,
    base_env,
    set_baseline,
)

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.broker import start_broker

API_USERNAME = "bench-user@example.com"
API_KEY = "bench-api-key"
CRYPTO_PASSWORD = "bench-crypto-password"
CRYPTO_IV = "iv=any16_symbols"
LIFTED_RATE_LIMIT = "1000000"
INIT_TIMEOUT_S = 60


@dataclass
class RunResult:
    sailor: str
    case: str
    messages: int
    prefetch: int
    ok: bool = False
    error: str | None = None
    msg_per_s: float | None = None
    cpu_ms_per_msg: float | None = None
    peak_rss_mb: float | None = None
    idle_rss_mb: float | None = None
    init_s: float | None = None
    first_output_s: float | None = None
    exit_code: int | None = None
    log_lines: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # raw material for the scripts' own figures; not saved (see ``save``)
    outputs: list[Output] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)


@dataclass(frozen=True)
class Sample:
    """The sailor process at one moment of a run (``sample_every_s``)."""

    at: float  # Unix time
    cpu_s: float
    rss_kb: int
    threads: int


async def _sample(pid: int, every_s: float, into: list[Sample]) -> None:
    while True:
        cpu = procstat.cpu_seconds(pid)
        status = procstat.memory_kb(pid)
        if cpu is None or not status:
            return
        into.append(Sample(time.time(), cpu, status.get("VmRSS", 0), status.get("Threads", 0)))
        await asyncio.sleep(every_s)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


class Bench:
    def __init__(self, sailors: Sequence[str], config: dict[str, Any] | None = None,
                 cpu_hogs: int = 0) -> None:
        self.sailors = list(sailors)
        self.cpu_hogs = cpu_hogs
        self._hogs: list[subprocess.Popen] = []
        self.unavailable: dict[str, str] = {}
        self.crypto = MessageCrypto(CRYPTO_PASSWORD, CRYPTO_IV)
        self.platform = PlatformStandIn(API_USERNAME, API_KEY, config)
        self.broker = None
        self.rig: Rig | None = None
        self._running: SailorProcess | None = None

    async def __aenter__(self) -> Bench:
        print("starting a throwaway RabbitMQ node ...", flush=True)
        self.broker = await asyncio.to_thread(start_broker)
        self.platform.__enter__()
        self.rig = await Rig(self.broker.url, self.crypto).__aenter__()
        self._start_hogs()
        return self

    def _start_hogs(self) -> None:
        if self.cpu_hogs:
            print(f"running {self.cpu_hogs} busy-loop processes as background load", flush=True)
            self._hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                          for _ in range(self.cpu_hogs)]

    async def __aexit__(self, *exc: object) -> None:
        for hog in self._hogs:
            hog.kill()
            hog.wait()
        if self._running is not None:
            self._running.kill()
        if self.rig is not None:
            await self.rig.__aexit__()
        self.platform.__exit__()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)

    def env(self, function: str, topology: Topology, prefetch: int,
            extra: dict[str, str]) -> dict[str, str]:
        env = base_env(self.broker.url, api_url=self.platform.url, username=API_USERNAME,
                       api_key=API_KEY, password=CRYPTO_PASSWORD, iv=CRYPTO_IV,
                       function=function)
        env.update(topology.sailor_env())
        env["ELASTICIO_RABBITMQ_PREFETCH_SAILOR"] = str(prefetch)
        env.update(extra)
        return env

    async def check(self, function: str = "noop", *, component: str = "bench",
                    body: dict[str, Any] | None = None, allowed: Sequence[str] = ()) -> None:
        """Warm-up run of one message per sailor; a sailor that cannot run is set aside."""
        for kind in self.sailors:
            result = await self.run(kind, "warm-up", function, messages=1, prefetch=1,
                                    body=body or {"text": "warm-up"}, component=component,
                                    allowed=allowed)
            if result.ok:
                print(f"{kind} sailor: ok (initialized in {result.init_s:.2f} s)", flush=True)
            else:
                self.unavailable[kind] = result.error or "failed"
                reason = (result.error or "failed").replace("\n", "\n    ")
                print(f"{kind} sailor: NOT AVAILABLE, its side is skipped:\n    {reason}",
                      flush=True)

    async def run(self, kind: str, case: str, function: str, *, messages: int, prefetch: int,
                  body: dict[str, Any], extra_env: dict[str, str] | None = None,
                  timeout_s: float | None = None, component: str = "bench",
                  allowed: Sequence[str] = (), decode_all: bool = False,
                  sample_every_s: float | None = None) -> RunResult:
        """One run (see the module doc). ``component``: ``bench`` or ``real`` (see
        sailors.py); ``allowed``: routing kinds besides data that are counted, not failed
        (``snapshot``); ``decode_all``: keep each output body's ``id``;
        ``sample_every_s``: sample the sailor's CPU, RSS and threads that often."""
        result = RunResult(kind, case, messages, prefetch)
        if kind in self.unavailable:
            result.error = self.unavailable[kind]
            return result
        topology = Topology.fresh()
        collector = None
        process = None
        sampler = None
        try:
            await self.rig.declare(topology)
            await self.rig.preload(topology, messages, body)
            collector = await self.rig.collect(topology, messages, allowed=frozenset(allowed),
                                               decode_all=decode_all)
            process = SailorProcess(kind, self.env(function, topology, prefetch, extra_env or {}),
                                    component=component)
            self._running = process
            process.start()
            if sample_every_s:
                sampler = asyncio.create_task(_sample(process.pid, sample_every_s,
                                                      result.samples))
            await asyncio.to_thread(process.wait_initialized, INIT_TIMEOUT_S)
            await _await_outputs(collector, process, timeout_s or 30 + messages / 20)
            if sampler is not None:
                sampler.cancel()
            cpu_end = procstat.cpu_seconds(process.pid)
            memory = procstat.memory_kb(process.pid)
            start = (collector.first_start_ms / 1000 if collector.first_start_ms
                     else process.initialized_at)
            result.msg_per_s = messages / max(collector.last_output_at - start, 1e-6)
            if cpu_end is not None and process.cpu_at_init is not None:
                result.cpu_ms_per_msg = (cpu_end - process.cpu_at_init) * 1000 / messages
                result.extra["cpu_startup_s"] = process.cpu_at_init
                result.extra["cpu_total_s"] = cpu_end
            result.peak_rss_mb = memory.get("VmHWM", 0) / 1024
            result.idle_rss_mb = (process.rss_at_init_kb or 0) / 1024
            result.init_s = process.initialized_at - process.spawned_at
            result.first_output_s = collector.first_output_at - process.spawned_at
            result.extra["sample_output"] = collector.sample
            result.outputs = collector.outputs
            _output_figures(result, collector)
            result.exit_code = await asyncio.to_thread(process.stop)
            result.log_lines = process.lines
            result.ok = True
        except SailorUnavailableError as exc:
            result.error = str(exc)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            if sampler is not None:
                sampler.cancel()
            if process is not None:
                process.kill()
            self._running = None
            await self.rig.delete(topology, collector)
        if not result.ok and case != "warm-up":
            print(f"  {kind} {case}: FAILED: {result.error}", flush=True)
        return result


def _output_figures(result: RunResult, collector: Any) -> None:
    """In-sailor latency (``end`` - ``start`` header of each output), the steady rate
    (the outputs after the first ``prefetch`` of them, over the time from the
    ``prefetch``-th to the last: start-up and the first wave left out), and the counts of
    the allowed other messages."""
    spans = [o.end_ms - o.start_ms for o in collector.outputs
             if o.start_ms is not None and o.end_ms is not None]
    result.extra["in_sailor_ms_p50"] = percentile(spans, 50)
    result.extra["in_sailor_ms_p95"] = percentile(spans, 95)
    arrivals = [o.arrived_at for o in collector.outputs]
    wave = min(result.prefetch, len(arrivals) - 1)  # the first `prefetch` outputs
    if wave >= 1 and arrivals[-1] > arrivals[wave - 1]:
        result.extra["msg_per_s_after_first_wave"] = (
            (len(arrivals) - wave) / (arrivals[-1] - arrivals[wave - 1]))
    for kind, count in collector.counted.items():
        result.extra[f"{kind}_messages"] = count
        result.extra[f"{kind}_bytes"] = collector.counted_bytes[kind]


async def _await_outputs(collector: Any, process: SailorProcess, timeout_s: float) -> None:
    """Until every expected data output arrived; RuntimeError on anything else."""
    deadline = time.monotonic() + timeout_s
    while not collector.done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collector.done.wait(), 0.25)
        if collector.other:
            raise RuntimeError(f"the sailor published {dict(collector.other)}; first: "
                               f"{collector.problem[:500]}")
        if process.returncode() is not None:
            raise RuntimeError(f"the sailor exited with {process.returncode()} after "
                               f"{collector.data} outputs:\n{process.last_output()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timeout: {collector.data} of {collector.expected} outputs; "
                               f"last output:\n{process.last_output()}")


RunCase = Callable[[Bench, str, dict[str, Any]], Awaitable[RunResult]]


def describe_throughput(result: RunResult) -> str:
    return (f"{result.msg_per_s:8.1f} msg/s  {result.cpu_ms_per_msg or 0:6.2f} ms CPU/msg  "
            f"peak {result.peak_rss_mb:6.1f} MB")


async def interleave(bench: Bench, cases: Sequence[dict[str, Any]], reps: int,
                     run_case: RunCase,
                     describe: Callable[[RunResult], str] = describe_throughput,
                     ) -> list[RunResult]:
    """for each repetition, for each case: every available sailor in turn (A B A B)."""
    results = []
    for rep in range(1, reps + 1):
        for case in cases:
            for kind in bench.sailors:
                if kind in bench.unavailable:
                    continue
                result = await run_case(bench, kind, case)
                result.extra["rep"] = rep
                results.append(result)
                if result.ok:
                    print(f"  rep {rep} {case['label']:<26} {kind:<6} {describe(result)}",
                          flush=True)
    return results


def parse_args(description: str, add: Callable[[argparse.ArgumentParser], None]) -> Any:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sailor", nargs="+", default=["both"],
                        choices=("node", "python", "both", "minimal", "base"),
                        help="node, python, both (= node python; the default), minimal "
                             "(bench/minimal_loop.py: decrypt, publish with confirm, ack — "
                             "the ceiling), base (our sailor at --baseline REV, for A/B)")
    parser.add_argument("--baseline", default="HEAD",
                        help="git revision of our sailor that --sailor base runs (HEAD)")
    parser.add_argument("--cpu-hogs", type=int, default=0,
                        help="busy-loop processes to run meanwhile, to mimic a shared machine "
                             "(the issue's Node figures match about 2 on 2 cores)")
    add(parser)
    args = parser.parse_args()
    # a SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the broker and sailor are stopped
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args.sailors = []
    for kind in args.sailor:
        for one in (SAILORS if kind == "both" else (kind,)):
            if one not in args.sailors:
                args.sailors.append(one)
    if "base" in args.sailors:
        set_baseline(args.baseline)
    return args


def machine() -> dict[str, Any]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "node": node.stdout.strip(),
    }


def save(name: str, info: dict[str, Any], results: list[RunResult]) -> str:
    folder = SCRATCH / "results"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{name}-{stamp}.json"
    runs = [{k: v for k, v in asdict(r).items() if k not in ("outputs", "samples")}
            for r in results]
    path.write_text(json.dumps({"machine": info, "results": runs}, indent=1, default=str))
    return str(path)


def report(name: str, title: str, *, info: dict[str, Any], args: Any, bench: Bench,
           results: list[RunResult], cases: Sequence[str],
           metrics: Sequence[tuple[str, Callable[[RunResult], float], int]]) -> None:
    """Save the raw results and print the benchmark's table with its ratios."""
    from .stats import metric_rows, table

    path = save(name, {**info, "args": vars(args)}, results)
    print(f"\n{title} — {args.reps} interleaved reps, {info['date']}, {info['cpus']} CPUs, "
          f"load at start {info['loadavg_at_start'][0]:.1f}")
    print(table(metric_rows(results, cases, metrics)))
    for kind, reason in bench.unavailable.items():
        print(f"\n{kind} sailor not measured: {reason.splitlines()[0]}")
    print(f"\nraw results: {path}")
