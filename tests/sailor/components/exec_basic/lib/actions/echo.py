# ruff: noqa: N802 - function names are the platform's (component.json, select model)
from elasticio_sailor.messages import new_message

from lib.texts import shout


def process(self, msg, cfg, snapshot):
    self.logger.info("echo called")
    body = {
        "echo": shout(msg["body"].get("text")),
        "keyLength": len(cfg.get("apiKey", "")),
        "snapshot": snapshot,
        "msgId": msg["id"],
    }
    return new_message(body=body, id="out-1")


def getModels(self, cfg):
    return {"gpt-4o-mini": "GPT-4o mini"}


def getMetaModel(self, cfg):
    return {"in": {"type": "object"}, "out": {"type": "object"}}


def failingModels(self, cfg):
    raise RuntimeError("Listing failed on purpose")
