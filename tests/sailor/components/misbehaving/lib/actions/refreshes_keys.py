"""Stores refreshed account keys (updateKeys), then logs them."""


def process(self, msg, cfg, snapshot):
    keys = {"oauth": {"access_token": msg["body"]["token"]}}
    self.emit("updateKeys", keys)
    self.logger.info("new keys: %j", keys)
