"""Every bound on one API call, in one place (the README's Security section lists them),
and the transport constants the OpenAI client and the attachment downloads share.

A call is bounded in time by the connect timeout, by the Request timeout (the longest wait
for the answer to start and the longest silence between two pieces of it) and by a total
deadline, so that a server that keeps sending slowly, or streams forever, cannot hold the
step; and in memory by caps on what is read from the server and on what an answer holds
once parsed (``lib.openai.budget``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.openai.budget import AnswerBudget

MIB = 1024 * 1024

CONNECT_TIMEOUT_S = 5.0
READ_CHUNK_BYTES = 64 * 1024  # one read of an answer or a download
# The step's Request timeout when the field is blank, and its smallest value: below a
# second no model answers, and a typo (0.5 for 5) would fail every message.
DEFAULT_REQUEST_TIMEOUT_S = 60.0
MIN_REQUEST_TIMEOUT_S = 1.0
# Reasoning models can think for many minutes; beyond a quarter of an hour a step that
# waits for one answer blocks its whole queue, so the field stops there.
MAX_REQUEST_TIMEOUT_S = 900.0
# GET /models: the credentials check and the Model dropdown.
LIST_TIMEOUT_S = 30.0
# The total deadline of a call is the larger of these two (retries included).
TOTAL_DEADLINE_FACTOR = 10
MIN_TOTAL_DEADLINE_S = 900.0

# An answer: a non-streamed one as read, a stream's as assembled (what it keeps), a file.
# Its JSON values are bounded too: parsed, many small values take far more memory than
# their text (lib.openai.budget); a long answer with top_logprobs 20 on 4,000 tokens holds
# about 700,000.
MAX_ANSWER_BYTES = 16 * MIB
MAX_ANSWER_VALUES = 1_000_000
MAX_SSE_LINE_BYTES = 16 * MIB  # one line (and one event's data) of an event stream
# A whole event stream, read: its deltas are dropped once assembled, so this bounds time,
# not memory; and its events (chunks), each parsed.
MAX_STREAM_BYTES = 256 * MIB
MAX_STREAM_EVENTS = 1_000_000
# What a stream's answer may be made of (the API gives at most 128 choices).
MAX_CHOICES = 128
MAX_OUTPUT_ITEMS = 10_000
MAX_ERROR_BODY_BYTES = 1 * MIB  # an error answer: read up to this, the rest is ignored
# After a stream's last event, what may follow it (normally only the end of the chunked
# body) is read up to this much and this long, so that the connection goes back to the
# pool; beyond either, the connection is closed instead.
MAX_DRAIN_BYTES = 64 * 1024
DRAIN_TIMEOUT_S = 1.0
# Image answers carry their images in base64; they are decoded into files as they arrive
# (lib.openai.base64_fields), so these bound the disk and the time an answer takes, and
# memory only for the rest of the answer.
MAX_GENERATED_IMAGE_BYTES = 48 * MIB  # one image (a 3840x2160 RGBA png has at most ~34 MB)
MAX_IMAGE_ANSWER_REST_BYTES = 8 * MIB  # the answer without its images (revised prompts...)


def max_image_answer_bytes(images: int) -> int:
    """The most an answer of `images` images may hold: each in base64 (4/3 of its size,
    more with escaped slashes or line breaks: 3/2 is allowed) and the rest."""
    return images * (MAX_GENERATED_IMAGE_BYTES * 3 // 2) + MAX_IMAGE_ANSWER_REST_BYTES


@dataclass(frozen=True)
class AnswerLimits:
    """What one answer may hold: its bytes and its JSON values (lib.openai.budget). A call
    whose answers are larger by design (embeddings as floats) passes its own."""

    max_bytes: int = MAX_ANSWER_BYTES
    max_values: int = MAX_ANSWER_VALUES

    def budget(self, request_id: str | None = None) -> AnswerBudget:
        return AnswerBudget(self.max_bytes, self.max_values, request_id)


@dataclass(frozen=True)
class CallLimits:
    """The caps a client applies (tests pass smaller ones)."""

    max_answer_bytes: int = MAX_ANSWER_BYTES
    max_answer_values: int = MAX_ANSWER_VALUES
    max_sse_line_bytes: int = MAX_SSE_LINE_BYTES
    max_stream_bytes: int = MAX_STREAM_BYTES
    max_stream_events: int = MAX_STREAM_EVENTS
    max_error_body_bytes: int = MAX_ERROR_BODY_BYTES
    min_total_deadline_s: float = MIN_TOTAL_DEADLINE_S
    max_drain_bytes: int = MAX_DRAIN_BYTES
    drain_timeout_s: float = DRAIN_TIMEOUT_S

    def answer_limits(self) -> AnswerLimits:
        """What an answer may hold when the call does not say otherwise."""
        return AnswerLimits(self.max_answer_bytes, self.max_answer_values)

    def answer_budget(self, request_id: str | None = None) -> AnswerBudget:
        """A fresh budget for one answer (see lib.openai.budget)."""
        return self.answer_limits().budget(request_id)

    def total_deadline_s(self, request_timeout_s: float) -> float:
        """The longest a whole call may take: the larger of 10 x the Request timeout and
        15 min."""
        return max(TOTAL_DEADLINE_FACTOR * request_timeout_s, self.min_total_deadline_s)
