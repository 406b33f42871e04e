"""A shutdown hook that fails: the process exits 1 and keeps the startup data."""


def shutdown(cfg, startup_data):
    raise RuntimeError("shutdown failed on purpose")


def process(self, msg, cfg, snapshot):
    return None
