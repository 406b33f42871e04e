"""Sync work that checks ``self.shutting_down`` between steps and stops cleanly."""

from elasticio_sailor import ShutdownInterrupted


def process(self, msg, cfg, snapshot):
    self.logger.info("work started")
    if self.shutting_down.wait(timeout=60):
        raise ShutdownInterrupted
    return {"body": {"finished": True}}
