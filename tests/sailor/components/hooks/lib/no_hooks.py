"""No hooks at all: startup stores {}, init and shutdown are skipped with a warning."""


def process(self, msg, cfg, snapshot):
    return {"body": {"got": msg["body"]}}
