"""A module that does not compile."""

def process(self, msg, cfg, snapshot)
    return msg
