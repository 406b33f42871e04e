"""async def service functions (self.emit returns an awaitable)."""
# ruff: noqa: N802 - function names are the platform's (component.json, ELASTICIO_GET_MODEL_METHOD)

import asyncio


async def getMetaModel(self, cfg):
    await asyncio.sleep(0)
    return {"in": {}, "out": {}}


async def listModelsFails(self, cfg):
    raise ValueError("Async listing failed on purpose")


async def listModelsWithKeys(self, cfg):
    await self.emit("updateKeys", {"oauth": {"access_token": "async-token"}})
    return {"b": "B"}
