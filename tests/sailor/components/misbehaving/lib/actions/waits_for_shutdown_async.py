"""Async work that polls ``self.shutting_down`` and stops cleanly."""

import asyncio

from elasticio_sailor import ShutdownInterrupted


async def process(self, msg, cfg, snapshot):
    self.logger.info("work started")
    for _ in range(6000):
        if self.shutting_down.is_set():
            raise ShutdownInterrupted
        await asyncio.sleep(0.01)
    return {"body": {"finished": True}}
