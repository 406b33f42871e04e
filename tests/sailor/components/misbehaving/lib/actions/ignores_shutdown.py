"""Sync (``msg.body.sync``) or async work that never looks at ``self.shutting_down``."""

import asyncio
import time


def _work(self, msg):
    self.logger.info("work started")
    time.sleep(60)
    return {"body": {"finished": True}}


async def _work_async(self, msg):
    self.logger.info("work started")
    await asyncio.sleep(60)
    return {"body": {"finished": True}}


def process(self, msg, cfg, snapshot):
    if msg["body"].get("sync"):
        return _work(self, msg)
    return _work_async(self, msg)
