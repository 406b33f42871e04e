"""A trigger whose init hook fails."""


def init(cfg):
    raise RuntimeError("x")


def process(self, msg, cfg, snapshot):
    return None
