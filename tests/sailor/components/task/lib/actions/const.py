"""Returns a fixed message, optionally shaped by the input body's `reply` field."""


def process(self, msg, cfg, snapshot):
    return msg["body"].get("reply", {"body": {"x": 1}})
