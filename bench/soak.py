"""Soak: 10,000 messages through the no-op action of our sailor; memory must stay flat.

A throwaway RabbitMQ node, the platform stand-in and the benchmark rig (``bench/common``);
one sailor process for the whole run. Prints the sailor's resident set size (VmRSS from
/proc/<pid>/status) once it is initialized, after every 2,000 data outputs and at the
end, and the growth: in total, and after the warm-up (the first sample after start).
Exit code 1 when the growth after the warm-up exceeds ``--max-growth-mb``. Not run by CI.

    .venv/bin/python bench/soak.py [--messages 10000] [--every 2000] [--prefetch 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from common import procstat
from common.amqp_rig import Rig, Topology
from common.crypto import MessageCrypto
from common.harness import (
    API_KEY,
    API_USERNAME,
    CRYPTO_IV,
    CRYPTO_PASSWORD,
    INIT_TIMEOUT_S,
    LIFTED_RATE_LIMIT,
)
from common.platform_api import PlatformStandIn
from common.sailors import SailorProcess, base_env

from tests.support.broker import start_broker

BODY = {"text": "The quick brown fox jumps over the lazy dog.", "count": 42, "flag": True}
POLL_S = 0.01


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=2_000, help="RSS sample interval")
    parser.add_argument("--prefetch", type=int, default=10)
    parser.add_argument("--max-growth-mb", type=float, default=5.0,
                        help="allowed RSS growth after the warm-up (5 MB)")
    return parser.parse_args()


def rss_mb(pid: int) -> float:
    return procstat.memory_kb(pid).get("VmRSS", 0) / 1024


async def soak(args: argparse.Namespace) -> int:
    print("starting a throwaway RabbitMQ node ...", flush=True)
    broker = await asyncio.to_thread(start_broker)
    crypto = MessageCrypto(CRYPTO_PASSWORD, CRYPTO_IV)
    process = None
    try:
        with PlatformStandIn(API_USERNAME, API_KEY) as platform:
            async with Rig(broker.url, crypto) as rig:
                topology = Topology.fresh()
                await rig.declare(topology)
                print(f"pre-loading {args.messages} messages ...", flush=True)
                await rig.preload(topology, args.messages, BODY)
                collector = await rig.collect(topology, args.messages)
                env = base_env(broker.url, api_url=platform.url, username=API_USERNAME,
                               api_key=API_KEY, password=CRYPTO_PASSWORD, iv=CRYPTO_IV,
                               function="noop")
                env.update(topology.sailor_env())
                env["ELASTICIO_RABBITMQ_PREFETCH_SAILOR"] = str(args.prefetch)
                env["ELASTICIO_DATA_RATE_LIMIT"] = LIFTED_RATE_LIMIT
                process = SailorProcess("python", env)
                process.start()
                await asyncio.to_thread(process.wait_initialized, INIT_TIMEOUT_S)
                samples = await sample_rss(process, collector, args)
                code = await asyncio.to_thread(process.stop)
                await rig.delete(topology, collector)
    finally:
        if process is not None:
            process.kill()
        await asyncio.to_thread(broker.stop)
    return report(samples, code, collector, args)


async def sample_rss(process: SailorProcess, collector, args) -> list[tuple[int, float]]:
    """(outputs so far, RSS MB): at start, every ``args.every`` outputs, at the end."""
    samples = [(0, process.rss_at_init_kb / 1024)]
    print(f"{'outputs':>8}  {'RSS MB':>7}  {'msg/s':>7}", flush=True)
    print(f"{0:>8}  {samples[0][1]:7.1f}", flush=True)
    deadline = time.monotonic() + 60 + args.messages / 50
    next_mark, last_at, last_count = args.every, time.monotonic(), 0
    while collector.data < args.messages:
        if process.returncode() is not None:
            raise RuntimeError(f"the sailor exited early:\n{process.last_output()}")
        if collector.other:
            raise RuntimeError(f"the sailor published {dict(collector.other)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timeout after {collector.data} outputs")
        if collector.data >= next_mark:
            now, count = time.monotonic(), collector.data
            samples.append((count, rss_mb(process.pid)))
            rate = (count - last_count) / max(now - last_at, 1e-6)
            print(f"{count:>8}  {samples[-1][1]:7.1f}  {rate:7.0f}", flush=True)
            next_mark, last_at, last_count = next_mark + args.every, now, count
        await asyncio.sleep(POLL_S)
    if samples[-1][0] != collector.data:
        samples.append((collector.data, rss_mb(process.pid)))
        print(f"{collector.data:>8}  {samples[-1][1]:7.1f}", flush=True)
    return samples


def report(samples: list[tuple[int, float]], code: int, collector, args) -> int:
    start, warm, end = samples[0][1], samples[min(1, len(samples) - 1)][1], samples[-1][1]
    growth_after_warmup = end - warm
    print(f"\nRSS at start {start:.1f} MB, after {samples[1][0]} outputs {warm:.1f} MB, "
          f"at the end {end:.1f} MB")
    print(f"growth: {end - start:+.1f} MB in total, {growth_after_warmup:+.1f} MB after the "
          f"warm-up ({(growth_after_warmup * 1024 / max(collector.data - samples[1][0], 1)):.3f}"
          f" kB per message)")
    print(f"outputs {collector.data}, other messages {dict(collector.other) or 0}, "
          f"sailor exit code {code}")
    flat = growth_after_warmup <= args.max_growth_mb
    print("memory: FLAT" if flat else f"memory: GROWING (> {args.max_growth_mb} MB)")
    return 0 if flat and code == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(soak(parse_args())))
