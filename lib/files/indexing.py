"""Waiting until a vector store has indexed an uploaded file: a bounded wait.

The vector store file is asked for again after growing intervals while its status is
``in_progress``; ``completed`` ends the wait, ``failed`` and ``cancelled`` fail it with
the store's reason. When the step's longest wait has passed the message fails with a
text that says the file is uploaded and attached and may still be indexed later. The
wait between two polls ends at once when the step shuts down (`CallInterruptedError`,
which the step turns into the runtime's shutdown). The poll itself, the clock and the
wait are injected; the intervals grow from 1 s to 5 s (at most 12 polls a minute).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lib.errors import UserError
from lib.openai.errors import MAX_BODY_SNIPPET_CHARS, CallInterruptedError, OpenAIError, shown

INDEXING = "in_progress"
INDEXED = "completed"
# The vector store's reasons that are the file's fault (the others are the store's).
FILE_FAULTS = frozenset({"unsupported_file", "invalid_file"})
FIRST_POLL_S = 1.0
MAX_POLL_S = 5.0


class IndexingFailedError(OpenAIError):
    """The vector store could not index the file for a reason of its own (an API error:
    its text is redacted and cut like every other's)."""


class FileNotIndexableError(IndexingFailedError, UserError):
    """The vector store refused the file (its type or content)."""


class IndexingTooLongError(UserError):
    """The file was still being indexed when the step's longest wait passed."""


def status_of(vector_store_file: dict[str, Any]) -> str:
    status = vector_store_file.get("status")
    return status if isinstance(status, str) and status else INDEXED


def _describe(vector_store_file: dict[str, Any]) -> str:
    return (f"the file {shown(vector_store_file.get('id', ''))} in the vector store "
            f"{shown(vector_store_file.get('vector_store_id', ''))}")


def check_indexed(vector_store_file: dict[str, Any]) -> dict[str, Any]:
    """The vector store file when indexed; its failure raised typed otherwise."""
    status = status_of(vector_store_file)
    if status == INDEXED:
        return vector_store_file
    error = vector_store_file.get("last_error")
    error = error if isinstance(error, dict) else {}
    code = shown(error.get("code") or status) or status
    reason = shown(error.get("message") or "no reason given", MAX_BODY_SNIPPET_CHARS)
    text = f"The vector store could not index {_describe(vector_store_file)}: {reason} ({code})"
    if code in FILE_FAULTS:
        raise FileNotIndexableError(text)
    raise IndexingFailedError(text)


def poll_intervals() -> Iterator[float]:
    """1 s, 2 s, 4 s, then 5 s between two polls."""
    interval = FIRST_POLL_S
    while True:
        yield interval
        interval = min(interval * 2, MAX_POLL_S)


@dataclass(frozen=True)
class IndexingWait:
    """Polls with `retrieve` until the file is no longer being indexed."""

    retrieve: Callable[[], dict[str, Any]]
    clock: Callable[[], float]
    wait: Callable[[float], bool]  # waits up to the given seconds; True on shutdown
    longest_wait_s: float
    intervals: Callable[[], Iterator[float]] = field(default=poll_intervals)

    def until_indexed(self, vector_store_file: dict[str, Any]) -> dict[str, Any]:
        """The indexed vector store file. Raises `IndexingTooLongError` once the longest
        wait has passed, `CallInterruptedError` on shutdown, and what `check_indexed`
        raises."""
        deadline = self.clock() + self.longest_wait_s
        intervals = self.intervals()
        while status_of(vector_store_file) == INDEXING:
            now = self.clock()
            if now >= deadline:
                raise IndexingTooLongError(
                    f"{_describe(vector_store_file)} was still being indexed after "
                    f"{self.longest_wait_s / 60:g} minutes. The file is uploaded and "
                    "attached, and may still be indexed: check the vector store before "
                    "sending the message again, or raise 'Longest wait for indexing'")
            if self.wait(min(next(intervals), deadline - now)):
                raise CallInterruptedError(
                    f"The step is shutting down while {_describe(vector_store_file)} is "
                    "being indexed; the message is left for redelivery")
            vector_store_file = self.retrieve()
        return check_indexed(vector_store_file)
