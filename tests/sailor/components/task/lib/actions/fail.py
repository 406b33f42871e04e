"""Async action that raises."""


async def process(self, msg, cfg, snapshot):
    raise TypeError("Failure on purpose")
