def process(self, msg, cfg, snapshot):
    return {"body": {"tick": True}}
