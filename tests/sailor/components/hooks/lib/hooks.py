"""Sync hooks. startup returns cfg["startupResult"] (default {"webhookId": "wh-123"});
init also writes a warning through the standard `logging` module."""

import logging

from lib.callback import report

calls = {"init": 0}


def startup(cfg):
    report(cfg, "startup")
    return cfg.get("startupResult", {"webhookId": "wh-123"})


def init(cfg):
    calls["init"] += 1
    logging.getLogger("hooks.component").warning("stdlib warning from %s", "init")
    report(cfg, "init")


def shutdown(cfg, startup_data):
    report(cfg, "shutdown", startupData=startup_data)


def process(self, msg, cfg, snapshot):
    return {"body": {"initCalls": calls["init"], "got": msg["body"]}}
