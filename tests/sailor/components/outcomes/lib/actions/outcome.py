"""Emits ``msg.body.emit`` ([event, payload] pairs), then raises ``ValueError(msg.body.raise)``
or returns ``msg.body.return``."""


def process(self, msg, cfg, snapshot):
    for event, payload in msg["body"].get("emit", []):
        self.emit(event, payload)
    if "raise" in msg["body"]:
        raise ValueError(msg["body"]["raise"])
    return msg["body"].get("return")
