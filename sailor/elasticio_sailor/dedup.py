"""Deduplication of deliveries by their ``messageId`` header (docs/protocol.md#deduplication,
docs/protocol.md#deviation-duplicate-deliveries).

After the consumer channel is lost, the broker redelivers every unsettled message on
the new channel. Such a copy must not be processed a second time:

- a copy that arrives while the original is still being processed is held and settled
  with the original's outcome when the original finishes (Node settles only the latest
  delivery and, for a same-channel duplicate, never the original);
- a *redelivered* copy whose original already finished here is settled at once with
  the recorded outcome (the settlement of the original was lost with its channel).
  Node instead waits for such a copy, which hangs when it never comes.

Every operation is O(1); the record of finished messages is bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import Enum
from typing import Any

MIN_REMEMBERED = 1024


class Admission(Enum):
    PROCESS = "process"  # a new message: process it
    HELD = "held"  # a copy of a message in process: settled when that one finishes
    FINISHED = "finished"  # a redelivered copy of a finished message: settle it now


class DeliveryDedup:
    def __init__(self, remembered: int = MIN_REMEMBERED) -> None:
        self._held: dict[str, list[Any]] = {}
        self._finished: OrderedDict[str, bool] = OrderedDict()
        self._remembered = max(remembered, 1)

    def admit(self, message_id: str, delivery: Any, *, redelivered: bool) -> Admission:
        """Classify ``delivery``; a HELD one is kept until :meth:`finish` of its id."""
        held = self._held.get(message_id)
        if held is not None:
            held.append(delivery)
            return Admission.HELD
        if redelivered and message_id in self._finished:
            return Admission.FINISHED
        self._held[message_id] = []
        return Admission.PROCESS

    def outcome(self, message_id: str) -> bool:
        """The recorded outcome of a finished message: True = acked, False = rejected."""
        return self._finished[message_id]

    def finish(self, message_id: str, ok: bool) -> list[Any]:
        """The original of ``message_id`` ended with ``ok``; returns the held copies."""
        copies = self._held.pop(message_id, [])
        finished = self._finished
        finished[message_id] = ok
        finished.move_to_end(message_id)
        if len(finished) > self._remembered:
            finished.popitem(last=False)
        return copies

    def __len__(self) -> int:
        """Messages in process (for tests and leak checks)."""
        return len(self._held)
