"""Sync process raising an exception that asyncio treats specially, named by
``msg.body.raise``."""

import asyncio

RAISES = {
    "CancelledError": asyncio.CancelledError,
    "GeneratorExit": GeneratorExit,
    "StopIteration": StopIteration,
}


def process(self, msg, cfg, snapshot):
    if msg["body"].get("raise") is None:
        return {"body": {"ok": True}}
    raise RAISES[msg["body"]["raise"]]("raised by the component")
