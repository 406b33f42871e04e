"""Background jobs of the step, remembered in the step's snapshot so that none is lost.

OpenAI has no list of running responses and no idempotency key: a job whose id is lost
runs (and is billed) for nothing, and a message sent again makes a second one. So the id
of every running background job is written to the step's snapshot (the platform keeps
it and hands it to the step when it starts again), keyed by the incoming message's id,
as soon as the job is created. When the step is stopped while a job runs, the message is
left to the broker; its next delivery finds the id and polls the same job.

The snapshot holds one key, ``backgroundResponses``: ``{message key: {"id", "deadlineAt"}}``.
It is written whole with ``updateSnapshot`` (a shallow merge, so other keys of the
snapshot stay), by one process-wide `JobBook` under a lock, so that the messages a
process runs at the same time never overwrite each other's jobs. A job nobody comes back
for (the message went to another replica, or was given up) is cancelled once its
deadline has long passed. See docs/openai-api.md#responses-api.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.openai.responses import is_response_id

SNAPSHOT_KEY = "backgroundResponses"
# how long after its deadline an unclaimed job is taken as given up for good
STALE_AFTER_DEADLINE_S = 15 * 60.0
MAX_FINISHED_KEYS = 1024

Publish = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Job:
    response_id: str
    deadline_at: float  # Unix time

    def to_json(self) -> dict[str, Any]:
        return {"id": self.response_id, "deadlineAt": self.deadline_at}

    @staticmethod
    def from_json(value: Any) -> Job | None:
        """A job from the snapshot; None for anything malformed."""
        if not isinstance(value, dict):
            return None
        response_id, deadline = value.get("id"), value.get("deadlineAt")
        if not is_response_id(response_id):
            return None
        if not isinstance(deadline, int | float) or isinstance(deadline, bool):
            return None
        return Job(response_id, float(deadline))


def message_key(msg: dict[str, Any]) -> str:
    """The message's `id` (the same on every delivery of the message); for a message
    without one, a digest of its body."""
    message_id = msg.get("id")
    if isinstance(message_id, str) and message_id:
        return message_id
    body = json.dumps(msg.get("body"), sort_keys=True, separators=(",", ":"), default=str)
    return "body-sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


class JobBook:
    """The process's view of the step's background jobs (see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._active: set[str] = set()  # keys of messages this process runs now
        self._finished: OrderedDict[str, None] = OrderedDict()

    def adopt(self, snapshot: Any) -> None:
        """Take in the jobs of the snapshot the step was given (jobs of messages that an
        earlier process left), except those this process knows better."""
        entries = snapshot.get(SNAPSHOT_KEY) if isinstance(snapshot, dict) else None
        if not isinstance(entries, dict):
            return
        with self._lock:
            for key, value in entries.items():
                job = Job.from_json(value)
                if job is not None and key not in self._jobs and key not in self._finished \
                        and key not in self._active:
                    self._jobs[key] = job

    def claim(self, key: str) -> tuple[bool, Job | None]:
        """Start working on a message: (whether this process may keep its job in the
        snapshot, the job an earlier delivery left). The same key running twice at once
        (two messages with one id) is not claimable: the second job is not remembered."""
        with self._lock:
            if key in self._active:
                return False, None
            self._active.add(key)
            self._finished.pop(key, None)
            return True, self._jobs.get(key)

    def remember(self, key: str, job: Job, publish: Publish) -> None:
        """Keep the message's running job, and write it to the snapshot."""
        with self._lock:
            self._jobs[key] = job
            publish(self._entries())

    def forget(self, key: str, publish: Publish) -> None:
        """The message is done with its job (finished, cancelled or gone)."""
        with self._lock:
            self._active.discard(key)
            self._finished[key] = None
            while len(self._finished) > MAX_FINISHED_KEYS:
                self._finished.popitem(last=False)
            if self._jobs.pop(key, None) is not None:
                publish(self._entries())

    def release(self, key: str) -> None:
        """The message stops without finishing (shutdown): its job stays remembered."""
        with self._lock:
            self._active.discard(key)

    def take_stale(self, now: float) -> list[Job]:
        """Remove and return the jobs no message came back for long after their deadline
        (the caller cancels them and writes the snapshot with `publish_current`)."""
        with self._lock:
            stale = [key for key, job in self._jobs.items()
                     if key not in self._active and job.deadline_at + STALE_AFTER_DEADLINE_S < now]
            return [self._jobs.pop(key) for key in stale]

    def publish_current(self, publish: Publish) -> None:
        with self._lock:
            publish(self._entries())

    def _entries(self) -> dict[str, Any]:
        return {SNAPSHOT_KEY: {key: job.to_json() for key, job in self._jobs.items()}}


# The one book of this process: the messages it runs at the same time share it.
JOBS = JobBook()
