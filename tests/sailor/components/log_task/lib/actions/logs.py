"""Logs through the component logger from a sync process (a worker thread)."""


def process(self, msg, cfg, snapshot):
    self.logger.info("Processing %s with %d keys %j", "message", len(cfg), {"n": 1})
    return {"body": {"logged": True}}
