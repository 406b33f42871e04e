"""Raises an exception whose message has ``msg.body.size`` characters."""


def process(self, msg, cfg, snapshot):
    raise RuntimeError("x" * msg["body"]["size"])
