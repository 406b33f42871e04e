async def process(self, msg, cfg, snapshot):
    raise TypeError("Failure on purpose")
