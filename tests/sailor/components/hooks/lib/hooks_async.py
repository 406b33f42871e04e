"""The same hooks as `async def` functions."""

import asyncio

from lib.callback import report


async def startup(cfg):
    await asyncio.to_thread(report, cfg, "startup")
    return {"asyncStartup": True}


async def init(cfg):
    await asyncio.to_thread(report, cfg, "init")


async def shutdown(cfg, startup_data):
    await asyncio.to_thread(report, cfg, "shutdown", startupData=startup_data)


async def process(self, msg, cfg, snapshot):
    return {"body": {"got": msg["body"]}}
