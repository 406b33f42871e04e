"""The sailor's shutdown signal, seen from the component.

The sailor gives `process` a `self.shutting_down` event (set on SIGTERM) and defines
`elasticio_sailor.ShutdownInterrupted`: raised by a component that stopped its work for
the shutdown, it leaves the message to the broker for redelivery (nothing is published,
the message is not acknowledged). Outside the sailor (tests, tools) the signal is an event
nobody sets.
"""

from __future__ import annotations

import threading
from typing import Any


def shutdown_signal(context: Any) -> threading.Event:
    """`context.shutting_down`, or an event that is never set."""
    signal = getattr(context, "shutting_down", None)
    return signal if isinstance(signal, threading.Event) else threading.Event()


def is_interruption(exc: BaseException) -> bool:
    """Whether `exc` is the sailor's `ShutdownInterrupted`."""
    from elasticio_sailor import ShutdownInterrupted

    return isinstance(exc, ShutdownInterrupted)


def interrupted(reason: str) -> Exception:
    """The exception that tells the sailor the message was left for redelivery."""
    from elasticio_sailor import ShutdownInterrupted  # the sailor's: imported when needed

    return ShutdownInterrupted(reason)
