"""Configuration of the Create Response step: Send Request's fields plus the longest wait."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.config import ActionConfig, parse_action_config, parse_positive_number

DEFAULT_LONGEST_WAIT_MIN = 30.0
# Deep research takes tens of minutes; half a day is longer than any job we heard of, and
# a message held longer than that blocks its place in the step's queue for too long.
MAX_LONGEST_WAIT_MIN = 720.0
LONGEST_WAIT_FIELD = "longestWait"


@dataclass(frozen=True)
class ResponseActionConfig:
    action: ActionConfig
    longest_wait_s: float


def parse_longest_wait(value: Any) -> float:
    """`longestWait` in minutes (blank: the default), returned in seconds."""
    minutes = parse_positive_number(
        value, default=DEFAULT_LONGEST_WAIT_MIN, maximum=MAX_LONGEST_WAIT_MIN,
        problem=(f"Longest wait for a background response must be a number of minutes above "
                 f"0 and at most {MAX_LONGEST_WAIT_MIN:g}"))
    return minutes * 60


def parse_response_config(cfg: dict[str, Any]) -> ResponseActionConfig:
    """The whole step configuration of Create Response, validated."""
    return ResponseActionConfig(
        action=parse_action_config(cfg),
        longest_wait_s=parse_longest_wait(cfg.get(LONGEST_WAIT_FIELD)),
    )
