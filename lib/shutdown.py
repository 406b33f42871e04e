"""The sailor's shutdown signal, seen from the component.

The sailor gives `process` a `self.shutting_down` event (set on SIGTERM); a component that
stops its work for it raises `elasticio_sailor.ShutdownInterrupted`, which leaves the
message to the broker for redelivery (nothing is published, the message is not
acknowledged). Outside the sailor (tests, tools) the signal is an event nobody sets.
"""

from __future__ import annotations

import threading
from typing import Any


def shutdown_signal(context: Any) -> threading.Event:
    """`context.shutting_down`, or an event that is never set."""
    signal = getattr(context, "shutting_down", None)
    return signal if isinstance(signal, threading.Event) else threading.Event()
