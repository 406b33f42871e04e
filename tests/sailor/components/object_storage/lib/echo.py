"""Returns the message `process` received (body, headers, passthrough)."""


def process(self, msg, cfg, snapshot):
    return {"body": {"received": msg}}
