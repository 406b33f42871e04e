"""Async action that emits its message (awaited) instead of returning it."""


async def process(self, msg, cfg, snapshot):
    await self.emit("data", {"body": {"received": msg}})
    await self.emit("end")
