"""Output, error and snapshot with NaN and infinities in them."""

import math


def process(self, msg, cfg, snapshot):
    values = {"nan": math.nan, "inf": math.inf, "minus_inf": -math.inf, "list": [math.nan, 1.5]}
    self.emit("snapshot", {"at": math.inf})
    if msg["body"].get("fail"):
        raise ValueError("bad value")
    return {"body": values}
