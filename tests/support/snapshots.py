"""The step's snapshot of background jobs, as a test writes it and as the platform keeps
what a component emitted: ``snapshot`` replaces it, ``updateSnapshot`` merges shallowly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lib.responses.jobs import (
    KEY_PREFIX,
    LEGACY_SNAPSHOT_KEY,
    REPLACE_EVENT,
    UPDATE_EVENT,
    read_snapshot,
    snapshot_key,
)

SNAPSHOT_EVENTS = (UPDATE_EVENT, REPLACE_EVENT)


def with_jobs(entries: Mapping[str, Any], *, legacy: bool = False) -> dict[str, Any]:
    """A snapshot holding these entries by message key: one key per job, or (legacy) the
    one map of version 2.1.0."""
    if legacy:
        return {LEGACY_SNAPSHOT_KEY: dict(entries)}
    return {snapshot_key(key): value for key, value in entries.items()}


def stored(events: Iterable[tuple[str, Any]], start: Mapping[str, Any] | None = None
           ) -> dict[str, Any]:
    """The snapshot the platform keeps after these emitted events (others are skipped)."""
    snapshot = dict(start or {})
    for event, payload in events:
        if event == REPLACE_EVENT:
            snapshot = dict(payload)
        elif event == UPDATE_EVENT:
            snapshot.update(payload)
    return snapshot


def kept_jobs(snapshot: Any) -> dict[str, dict[str, Any]]:
    """The jobs a snapshot holds, by message key, as entries."""
    return {key: job.to_json() for key, job in read_snapshot(snapshot).jobs.items()}


def job_writes(events: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Each snapshot write's job keys, by message key (an entry, or None for a job that
    ended); a ``snapshot`` write holds every live job."""
    return [{name[len(KEY_PREFIX):]: value for name, value in payload.items()
             if name.startswith(KEY_PREFIX)}
            for event, payload in events if event in SNAPSHOT_EVENTS]
