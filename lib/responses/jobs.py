"""Background jobs of the step, remembered in the step's snapshot so that none is lost.

OpenAI has no list of running responses and no idempotency key: a job whose id is lost
runs (and is billed) for nothing, and a message sent again makes a second one. So the id
of every running background job is written to the step's snapshot (the platform keeps
it and hands it to the step when it starts again), keyed by the incoming message's id,
as soon as the job is created. When the step is stopped while a job runs, the message is
left to the broker; its next delivery finds the id and polls the same job.

What identifies a delivery: the message's `id` (the same on every delivery of the
message; chosen upstream, so two messages may share one) together with a digest of the
request built from it (the body, the configured model and the step's rules). An entry
is resumed only by a message with that id whose request has that digest; a message
whose id matches an entry of another request starts its own job (and says so), and its
entry replaces the other (whose job is cancelled: nobody could find it any more). A
message without an `id` is never identified by its body alone: its job is not kept in
the snapshot, and is cancelled when the step stops.

The snapshot holds one top-level key per job, ``backgroundResponse:<message key>``:
``{"id", "deadlineAt", "request"}`` (the job's id, its deadline in Unix seconds, the
request's digest). Both sailors merge ``updateSnapshot`` shallowly (top-level keys
replaced, others kept), so writing one job is one small ``updateSnapshot`` of its key,
and a finished job is written as ``null`` under its key (a shallow merge cannot delete a
key; ``null`` is read as no job). Once the keys left dead (``null`` or malformed)
outnumber the live jobs (and `MIN_DEAD_KEYS_TO_COMPACT`), the book writes the live jobs
whole with one ``snapshot`` event, which replaces the step's snapshot: each compaction
writes fewer entries than the completions since the one before, so the bytes written
stay linear in the jobs created. Version 2.1.0 kept every job in one map,
``backgroundResponses: {message key: entry}``; its entries are read too (a per-job key
wins over them) and the first write after it compacts, which drops the map.

At most `max_jobs` jobs are kept (the environment variable
``RESPONSES_MAX_BACKGROUND_JOBS``, default 32: the platform's snapshot is a small store);
a message that would start one more is rebounded. One process-wide `JobBook` writes under
a lock, so that the messages a process runs at the same time never overwrite each
other's jobs. A job nobody comes back for (the message went to another replica, or was
given up) is cancelled once its deadline has long passed. Entries with a malformed id, a
deadline that is not a finite number, or (written by an earlier version) no digest are
never resumed. See docs/openai-api.md#responses-api.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.errors import ConfigError
from lib.openai.responses import is_response_id

# One top-level snapshot key per job: the prefix, then the message key.
KEY_PREFIX = "backgroundResponse:"
# The one map of every job that version 2.1.0 wrote, read back after an upgrade.
LEGACY_SNAPSHOT_KEY = "backgroundResponses"
# how long after its deadline an unclaimed job is taken as given up for good
STALE_AFTER_DEADLINE_S = 15 * 60.0
MAX_FINISHED_KEYS = 1024
# The jobs kept in the snapshot (about 200 bytes each, key included, at most 340), and the
# variable that changes it.
DEFAULT_MAX_JOBS = 32
MAX_JOBS_LIMIT = 1000
MAX_JOBS_VARIABLE = "RESPONSES_MAX_BACKGROUND_JOBS"
# A message id longer than this is kept as its digest (the snapshot stays small).
MAX_KEY_CHARS = 100
# The snapshot is compacted once its dead keys outnumber both the live jobs and this.
MIN_DEAD_KEYS_TO_COMPACT = 16
# Digests are 128 bits (32 hex digits): enough to tell requests apart, small in the snapshot.
DIGEST_CHARS = 32
_DIGEST = re.compile(rf"[0-9a-f]{{{DIGEST_CHARS}}}")

# Writes the snapshot: (event, payload), the event ``updateSnapshot`` (merged shallowly)
# or ``snapshot`` (replaces it); the component's `self.emit`.
Publish = Callable[[str, dict[str, Any]], None]
UPDATE_EVENT = "updateSnapshot"
REPLACE_EVENT = "snapshot"


@dataclass(frozen=True)
class Job:
    response_id: str
    deadline_at: float  # Unix time
    request: str = ""  # the digest of the request that made it ("" : unknown, never resumed)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.response_id, "deadlineAt": self.deadline_at,
                "request": self.request}

    def made_by(self, request_digest: str) -> bool:
        """Whether the request with this digest made the job (so its message may resume it)."""
        return bool(self.request) and self.request == request_digest

    @staticmethod
    def from_json(value: Any) -> Job | None:
        """A job from the snapshot; None for anything malformed (a bad id, a deadline that
        is not a finite number)."""
        if not isinstance(value, dict):
            return None
        response_id, deadline = value.get("id"), value.get("deadlineAt")
        if not is_response_id(response_id):
            return None
        if not isinstance(deadline, int | float) or isinstance(deadline, bool) \
                or not math.isfinite(deadline):
            return None
        request = value.get("request")
        return Job(response_id, float(deadline),
                   request if isinstance(request, str) and _DIGEST.fullmatch(request) else "")


def message_key(msg: dict[str, Any]) -> str | None:
    """The message's `id` (the same on every delivery of the message), or its digest when
    it is long; None for a message without one (its body alone never identifies it)."""
    message_id = msg.get("id")
    if not isinstance(message_id, str) or not message_id:
        return None
    if len(message_id) > MAX_KEY_CHARS:
        digest = hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
        return "id-sha256:" + digest[:DIGEST_CHARS]
    return message_id


def snapshot_key(key: str) -> str:
    """The snapshot's key for the job of the message `key` (at most 119 characters)."""
    return KEY_PREFIX + key


@dataclass
class SnapshotJobs:
    """What a snapshot says of the jobs: by message key."""

    jobs: dict[str, Job] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)  # per-job keys holding null or a malformed entry
    legacy: bool = False  # it holds the map of version 2.1.0


def read_snapshot(snapshot: Any) -> SnapshotJobs:
    """The jobs of a snapshot, in either layout (see the module doc); linear in its size."""
    found = SnapshotJobs()
    if not isinstance(snapshot, dict):
        return found
    legacy = snapshot.get(LEGACY_SNAPSHOT_KEY)
    if isinstance(legacy, dict):
        found.legacy = True
        for key, value in legacy.items():
            job = Job.from_json(value)
            if job is not None and isinstance(key, str) and 0 < len(key) <= MAX_KEY_CHARS:
                found.jobs[key] = job
    for name, value in snapshot.items():
        if not isinstance(name, str) or not name.startswith(KEY_PREFIX):
            continue
        key = name[len(KEY_PREFIX):]
        job = Job.from_json(value) if 0 < len(key) <= MAX_KEY_CHARS else None
        if job is None:
            found.jobs.pop(key, None)  # written after the map: the job ended
            found.dead.add(key)
        else:
            found.jobs[key] = job
    return found


def request_digest(request: Mapping[str, Any]) -> str:
    """The digest of a built request (model included): what a job's message must ask to
    resume it. Linear in the request's size."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def max_jobs_from(environ: Mapping[str, str]) -> int:
    """The most background jobs the snapshot keeps (RESPONSES_MAX_BACKGROUND_JOBS)."""
    raw = environ.get(MAX_JOBS_VARIABLE)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_JOBS
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_JOBS_LIMIT:
        raise ConfigError(f"{MAX_JOBS_VARIABLE} must be a whole number from 1 to "
                          f"{MAX_JOBS_LIMIT}, got {raw[:40]!r}")
    return value


class JobBook:
    """The process's view of the step's background jobs (see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._active: set[str] = set()  # keys of messages this process runs now
        self._reserved: set[str] = set()  # keys of messages about to create a job
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._unwritten: dict[str, Job | None] = {}  # changes not in the snapshot yet
        self._dead: set[str] = set()  # keys the snapshot holds as null or malformed
        self._legacy = False  # the snapshot holds the map of version 2.1.0
        self._rewrite = False  # a write failed after it was handed over: write all anew

    def adopt(self, snapshot: Any) -> None:
        """Take in the jobs of the snapshot the step was given (jobs of messages that an
        earlier process left), except those this process knows better."""
        found = read_snapshot(snapshot)
        with self._lock:
            self._legacy = self._legacy or found.legacy
            self._dead |= found.dead - self._jobs.keys()
            for key, job in found.jobs.items():
                if key not in self._jobs and key not in self._finished \
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

    def reserve(self, key: str, max_jobs: int) -> bool:
        """Hold a place for the job the message `key` is about to create; False when the
        snapshot holds `max_jobs` jobs already (the message's own earlier entry, which
        its job would replace, is not counted)."""
        with self._lock:
            taken = (self._jobs.keys() | self._reserved) - {key}
            if len(taken) >= max_jobs:
                return False
            self._reserved.add(key)
            return True

    def remember(self, key: str, job: Job, publish: Publish) -> Job | None:
        """Keep the message's running job, and write it to the snapshot; the job of
        another request that the entry held before, if any (the caller cancels it)."""
        with self._lock:
            replaced = self._jobs.get(key)
            self._jobs[key] = job
            self._reserved.discard(key)
            self._unwritten[key] = job
            self._write(publish)
        return replaced if replaced is not None and replaced != job else None

    def forget(self, key: str, publish: Publish) -> None:
        """The message is done with its job (finished, cancelled or gone)."""
        with self._lock:
            self._active.discard(key)
            self._reserved.discard(key)
            self._finished[key] = None
            while len(self._finished) > MAX_FINISHED_KEYS:
                self._finished.popitem(last=False)
            if self._jobs.pop(key, None) is not None:
                self._unwritten[key] = None
                self._write(publish)

    def release(self, key: str) -> None:
        """The message stops without finishing (shutdown): its job stays remembered."""
        with self._lock:
            self._active.discard(key)
            self._reserved.discard(key)

    def take_stale(self, now: float) -> list[Job]:
        """Remove and return the jobs no message came back for long after their deadline
        (the caller cancels them and writes the snapshot with `publish_current`)."""
        with self._lock:
            stale = [key for key, job in self._jobs.items()
                     if key not in self._active and job.deadline_at + STALE_AFTER_DEADLINE_S < now]
            self._unwritten.update(dict.fromkeys(stale))
            return [self._jobs.pop(key) for key in stale]

    def write_failed(self) -> None:
        """A write handed to `publish` failed later (from the event loop a write's outcome
        is known only when it is awaited): what it carried is unknown to be stored, so the
        next write is the live jobs whole."""
        with self._lock:
            self._rewrite = True

    def publish_current(self, publish: Publish) -> None:
        """Write what the snapshot lacks (nothing when it is up to date)."""
        with self._lock:
            self._write(publish)

    def _write(self, publish: Publish) -> None:
        """Write the changes not written yet: one ``updateSnapshot`` of their keys, or the
        live jobs whole when the dead keys would outnumber them (or the 2.1.0 map is
        there). A failed write is carried by the next one. Called under the lock."""
        if not self._unwritten and not self._legacy and not self._rewrite:
            return
        ended = {key for key, job in self._unwritten.items() if job is None}
        dead = (self._dead | ended) - (self._unwritten.keys() - ended)
        if self._legacy or self._rewrite \
                or len(dead) > max(len(self._jobs), MIN_DEAD_KEYS_TO_COMPACT):
            publish(REPLACE_EVENT, {snapshot_key(key): job.to_json()
                                    for key, job in self._jobs.items()})
            dead, self._legacy, self._rewrite = set(), False, False
        else:
            publish(UPDATE_EVENT, {snapshot_key(key): None if job is None else job.to_json()
                                   for key, job in self._unwritten.items()})
        self._dead = dead
        self._unwritten.clear()


# The one book of this process: the messages it runs at the same time share it.
JOBS = JobBook()
