"""Sync action: returns what it received, so a test can see what `process` got."""


def process(self, msg, cfg, snapshot):
    return {
        "body": {
            "received": msg,
            "cfgKeys": sorted(cfg),
            "snapshot": snapshot,
            "flowVariables": self.get_flow_variables(),
        },
    }
