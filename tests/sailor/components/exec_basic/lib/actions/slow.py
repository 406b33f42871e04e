import time


def process(self, msg, cfg, snapshot):
    time.sleep(1.0)
    return {"body": {"slow": True}}
