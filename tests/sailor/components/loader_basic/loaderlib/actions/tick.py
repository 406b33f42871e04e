NAME = "tick"


def process(self, msg, cfg, snapshot):
    return None
