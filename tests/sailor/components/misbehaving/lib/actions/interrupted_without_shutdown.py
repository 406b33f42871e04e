"""Raises ShutdownInterrupted although the sailor is not shutting down: a plain error."""

from elasticio_sailor import ShutdownInterrupted


def process(self, msg, cfg, snapshot):
    raise ShutdownInterrupted("no shutdown in sight")
