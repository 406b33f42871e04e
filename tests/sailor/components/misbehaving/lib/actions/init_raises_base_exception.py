"""An ``init`` hook that raises an exception outside ``Exception``."""


def init(cfg):
    raise GeneratorExit("raised by init")


def process(self, msg, cfg, snapshot):
    return msg
