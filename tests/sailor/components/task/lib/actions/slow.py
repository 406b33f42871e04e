"""Sync action that blocks for `msg.body.sleep` seconds (1.5 by default), or, with
`msg.body.gate` (a file path), until that file exists (at most 60 s): the test opens the
gate when what it wants to observe has happened."""

import time
from pathlib import Path


def _wait_for(gate: Path) -> None:
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def process(self, msg, cfg, snapshot):
    if "gate" in msg["body"]:
        self.logger.info("waiting at the gate")
        _wait_for(Path(msg["body"]["gate"]))
    else:
        time.sleep(msg["body"].get("sleep", 1.5))
    return {"body": {**msg["body"], "slow": True}}
