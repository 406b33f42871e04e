"""self.rebounds: the input's rebound count by Node's rule, and the platform's delays."""

from __future__ import annotations

import pytest
from elasticio_sailor.context import Rebounds
from elasticio_sailor.settings import (
    DEFAULT_REBOUND_INITIAL_EXPIRATION_MS,
    DEFAULT_REBOUND_LIMIT,
)


@pytest.mark.parametrize(("headers", "done"), [
    (None, 0), ({}, 0), ({"reboundIteration": 3}, 3), ({"reboundIteration": 2.0}, 2),
    # Node counts only a number: a string (as a Node step that read it as text would
    # publish) or a boolean starts again at 1
    ({"reboundIteration": "3"}, 0), ({"reboundIteration": True}, 0),
])
def test_the_count_is_the_header_when_it_is_a_number(headers, done: int) -> None:
    assert Rebounds.done_of(headers) == done


def test_each_rebound_waits_twice_as_long_as_the_one_before() -> None:
    rebounds = Rebounds(done=2)
    assert rebounds.next == 3
    assert [rebounds.delay_ms(i) for i in (1, 2, 3, 4)] == [15_000, 30_000, 60_000, 120_000]
    assert Rebounds(first_delay_ms=1000).delay_ms(3) == 4000


def test_outside_task_mode_the_platforms_defaults_hold() -> None:
    assert Rebounds() == Rebounds(done=0, limit=DEFAULT_REBOUND_LIMIT,
                                  first_delay_ms=DEFAULT_REBOUND_INITIAL_EXPIRATION_MS)
    assert (DEFAULT_REBOUND_LIMIT, DEFAULT_REBOUND_INITIAL_EXPIRATION_MS) == (20, 15_000)
