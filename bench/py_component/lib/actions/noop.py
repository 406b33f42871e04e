"""Returns its input with one field added."""


def process(self, msg, cfg, snapshot):  # noqa: ARG001 (the sailor's signature)
    return {**msg, "body": {**msg["body"], "handledBy": "noop"}}
