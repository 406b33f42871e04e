"""``outcome`` as an ``async def``."""


async def process(self, msg, cfg, snapshot):
    for event, payload in msg["body"].get("emit", []):
        await self.emit(event, payload)
    if "raise" in msg["body"]:
        raise ValueError(msg["body"]["raise"])
    return msg["body"].get("return")
