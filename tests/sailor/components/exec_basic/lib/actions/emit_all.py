async def process(self, msg, cfg, snapshot):
    await self.emit("data", {"body": {"n": 1}})
    await self.emit("snapshot", {"counter": 6})
    await self.emit("updateSnapshot", {"lastSeen": 1})
    await self.emit("updateKeys", {"oauth": {"access_token": "t"}})
    await self.emit("rebound", RuntimeError("try later"))
    await self.emit("httpReply", {"statusCode": 201, "headers": {}, "body": "ok"})
    await self.emit("end")
