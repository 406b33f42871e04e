"""Sync service functions (run in a worker thread; self.emit blocks)."""
# ruff: noqa: N802 - function names are the platform's (component.json, ELASTICIO_GET_MODEL_METHOD)

from lib.schemas import IN, OUT


def process(self, msg, cfg, snapshot):
    return {"body": msg["body"]}


def getMetaModel(self, cfg):
    self.logger.info("getMetaModel called with %d cfg keys", len(cfg))
    return {"in": IN, "out": OUT, "seenCfgKeys": sorted(cfg)}


def listModels(self, cfg):
    return {"gpt-4o-mini": "GPT-4o mini", "gpt-4o": "GPT-4o"}


def listModelsFails(self, cfg):
    raise RuntimeError("Model listing failed on purpose")


def listModelsExits(self, cfg):
    raise SystemExit("sys.exit() in a service function")


def listModelsWithKeys(self, cfg):
    self.emit("updateKeys", {"oauth": {"access_token": "refreshed-token"}})
    self.emit("data", {"body": {"ignored": True}})
    return {"a": "A"}


def loadedModules(self, cfg):
    """Which task-mode-only libraries service mode has imported (none, ideally)."""
    import sys

    return {"loaded": [name for name in ("aiormq", "pamqp", "cryptography") if name in sys.modules]}
