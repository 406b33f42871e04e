"""Logs its cfg and raises an error that quotes it."""


def process(self, msg, cfg, snapshot):
    self.logger.info("cfg is %j", cfg)
    self.logger.info("the key is %s", cfg.get("apiKey"))
    raise RuntimeError(f"cannot use {cfg}")
