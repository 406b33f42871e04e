"""Sync action that blocks for `msg.body.sleep` seconds (1.5 by default)."""

import time


def process(self, msg, cfg, snapshot):
    time.sleep(msg["body"].get("sleep", 1.5))
    return {"body": {**msg["body"], "slow": True}}
