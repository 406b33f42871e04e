"""The sailor's shutdown signal, seen from the component.

The sailor gives `process` a `self.shutting_down` event (set on SIGTERM) and defines
`elasticio_sailor.ShutdownInterrupted`: raised by a component that stopped its work for
the shutdown, it leaves the message to the broker for redelivery (nothing is published,
the message is not acknowledged). Outside the sailor (tests, tools) neither exists; the
signal is then an event nobody sets.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any


def shutdown_signal(context: Any) -> threading.Event:
    """`context.shutting_down`, or an event that is never set."""
    signal = getattr(context, "shutting_down", None)
    return signal if isinstance(signal, threading.Event) else threading.Event()


def interrupted(reason: str) -> Exception:
    """The exception that tells the sailor the message was left for redelivery."""
    sailor = importlib.import_module("elasticio_sailor")  # the sailor's, found at run time
    error: Exception = sailor.ShutdownInterrupted(reason)
    return error
