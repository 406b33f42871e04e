from loaderlib.helpers import shout

from . import tick


def process(self, msg, cfg, snapshot):
    return {"body": {"echo": shout(msg["body"]["text"]), "tick": tick.NAME}}
