"""The job book: one snapshot key per job, nulls for ended jobs, compaction, both layouts."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from lib.responses.jobs import (
    KEY_PREFIX,
    LEGACY_SNAPSHOT_KEY,
    MIN_DEAD_KEYS_TO_COMPACT,
    Job,
    JobBook,
    message_key,
    read_snapshot,
    snapshot_key,
)
from tests.support.snapshots import job_writes, kept_jobs, stored, with_jobs

DIGEST = "d" * 32
# a message id as long as the platform's (a UUID), a response id as long as OpenAI's
MESSAGE = "9f1c2d3e-1111-2222-3333-{:012d}"
RESPONSE = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b{:06d}"


class Writes(list[tuple[str, dict[str, Any]]]):
    """The book's snapshot writes, as `publish` receives them."""

    def __call__(self, event: str, payload: dict[str, Any]) -> None:
        self.append((event, json.loads(json.dumps(payload))))

    def events(self) -> list[str]:
        return [event for event, _ in self]

    def bytes(self) -> int:
        return sum(len(json.dumps(payload)) for _, payload in self)


def job(n: int, deadline_at: float = 4e9) -> Job:
    return Job(RESPONSE.format(n), deadline_at, DIGEST)


def run_jobs(book: JobBook, writes: Writes, numbers: range) -> None:
    for n in numbers:
        key = MESSAGE.format(n)
        assert book.claim(key) == (True, None)
        assert book.reserve(key, 1000)
        book.remember(key, job(n), writes)


def end_jobs(book: JobBook, writes: Writes, numbers: range) -> None:
    for n in numbers:
        book.forget(MESSAGE.format(n), writes)


def test_writing_one_job_is_one_small_update_of_its_own_key() -> None:
    book, writes = JobBook(), Writes()
    run_jobs(book, writes, range(2))
    end_jobs(book, writes, range(1))
    first, second = MESSAGE.format(0), MESSAGE.format(1)
    assert writes == [
        ("updateSnapshot", {KEY_PREFIX + first: job(0).to_json()}),
        ("updateSnapshot", {KEY_PREFIX + second: job(1).to_json()}),
        ("updateSnapshot", {KEY_PREFIX + first: None}),
    ]
    assert kept_jobs(stored(writes)) == {second: job(1).to_json()}


def test_200_jobs_cost_bytes_and_messages_linear_in_the_jobs() -> None:
    """All created, then all completed (benchmark 8): the whole map per write, as 2.1.0
    wrote it, was 400 messages and ~200 x 200 entries."""
    book, writes = JobBook(), Writes()
    run_jobs(book, writes, range(200))
    end_jobs(book, writes, range(200))
    entry_bytes = max(len(json.dumps(payload)) for _, payload in writes[:200])
    assert entry_bytes < 250
    assert len(writes) == 400, "one write per create and per completion"
    assert 1 <= writes.events().count("snapshot") <= 8, "compactions: one per halving"
    assert writes.bytes() <= 3 * 200 * entry_bytes
    assert kept_jobs(stored(writes)) == {}
    assert len(stored(writes)) <= MIN_DEAD_KEYS_TO_COMPACT, "what is left: a few nulls"


def test_jobs_that_come_and_go_for_ever_keep_the_snapshot_and_the_writes_bounded() -> None:
    """A window of 20 jobs in flight, 2,000 jobs in all: bytes per job stay the same, the
    stored snapshot never holds more than the live jobs and as many dead keys."""
    book, writes = JobBook(), Writes()
    largest = 0
    for n in range(2000):
        run_jobs(book, writes, range(n, n + 1))
        if n >= 20:
            end_jobs(book, writes, range(n - 20, n - 19))
        largest = max(largest, len(stored(writes)))
    entry_bytes = len(json.dumps(writes[0][1]))
    assert writes.bytes() <= 2000 * 3 * entry_bytes
    assert largest <= 2 * 21 + 1
    assert set(kept_jobs(stored(writes))) == {MESSAGE.format(n) for n in range(1980, 2000)}


def test_dead_keys_are_compacted_with_one_whole_snapshot_once_they_outnumber_the_live() -> None:
    book, writes = JobBook(), Writes()
    run_jobs(book, writes, range(MIN_DEAD_KEYS_TO_COMPACT + 2))
    end_jobs(book, writes, range(MIN_DEAD_KEYS_TO_COMPACT))
    assert "snapshot" not in writes.events(), "16 dead keys against 2 live jobs: kept"
    end_jobs(book, writes, range(MIN_DEAD_KEYS_TO_COMPACT, MIN_DEAD_KEYS_TO_COMPACT + 1))
    live = MESSAGE.format(MIN_DEAD_KEYS_TO_COMPACT + 1)
    assert writes[-1] == ("snapshot", {snapshot_key(live): job(17).to_json()})
    end_jobs(book, writes, range(MIN_DEAD_KEYS_TO_COMPACT + 1, MIN_DEAD_KEYS_TO_COMPACT + 2))
    assert writes[-1] == ("updateSnapshot", {snapshot_key(live): None}), "counted from zero"


def test_dead_keys_an_earlier_process_left_count_towards_compaction() -> None:
    book, writes = JobBook(), Writes()
    book.adopt({snapshot_key(f"gone-{n}"): None for n in range(MIN_DEAD_KEYS_TO_COMPACT - 1)}
               | {snapshot_key("broken"): {"id": 7}})
    run_jobs(book, writes, range(1))
    assert writes.events() == ["updateSnapshot"]
    end_jobs(book, writes, range(1))
    assert writes[-1] == ("snapshot", {})
    assert stored(writes, {snapshot_key("other"): None}) == {}


@pytest.mark.parametrize("legacy", [False, True], ids=["one key per job", "the map of 2.1.0"])
def test_a_job_left_in_either_layout_is_resumed_by_its_message(legacy: bool) -> None:
    key = MESSAGE.format(1)
    book = JobBook()
    book.adopt(with_jobs({key: job(1).to_json()}, legacy=legacy) | {"other": 1})
    assert book.claim(key) == (True, job(1))


def test_the_first_write_after_the_map_of_2_1_0_moves_its_jobs_to_their_own_keys() -> None:
    book, writes = JobBook(), Writes()
    old = with_jobs({"old": job(0).to_json(), "broken": {"id": "resp_x"}}, legacy=True)
    book.adopt(old)
    run_jobs(book, writes, range(1, 2))
    assert writes == [("snapshot", {snapshot_key("old"): job(0).to_json(),
                                    snapshot_key(MESSAGE.format(1)): job(1).to_json()})]
    assert LEGACY_SNAPSHOT_KEY not in stored(writes, old)
    book.adopt(old)  # a message that started before the write saw the map still
    assert book.claim("old") == (True, job(0))


def test_a_job_key_written_after_the_map_wins_over_it() -> None:
    snapshot = with_jobs({"a": job(0).to_json(), "b": job(1).to_json()}, legacy=True) \
        | with_jobs({"a": None, "b": job(2).to_json()})
    found = read_snapshot(snapshot)
    assert found.jobs == {"b": job(2)}
    assert found.dead == {"a"}
    assert found.legacy


@pytest.mark.parametrize("value", [
    None,
    {"id": "resp_x", "deadlineAt": math.nan, "request": DIGEST},
    {"id": "resp_x", "deadlineAt": "soon", "request": DIGEST},
    {"id": "../resp_x", "deadlineAt": 4e9, "request": DIGEST},
    {"id": "resp_" + "x" * 124, "deadlineAt": 4e9, "request": DIGEST},
    "resp_x",
    [],
], ids=["null", "nan deadline", "text deadline", "bad id", "id too long", "a string",
        "a list"])
def test_a_null_or_malformed_job_key_is_never_a_job_and_is_counted_dead(value: Any) -> None:
    book = JobBook()
    book.adopt({snapshot_key("m1"): value})
    assert book.claim("m1") == (True, None)
    assert read_snapshot({snapshot_key("m1"): value}).dead == {"m1"}


def test_an_entry_without_a_digest_is_read_but_resumed_by_no_request() -> None:
    found = read_snapshot(with_jobs({"m1": {"id": "resp_x", "deadlineAt": 4e9}}))
    assert not found.jobs["m1"].made_by("0" * 32)


def test_keys_of_other_owners_and_overlong_keys_are_not_jobs() -> None:
    found = read_snapshot({"backgroundResponse": job(0).to_json(),
                           "other": {"backgroundResponse:x": job(0).to_json()},
                           snapshot_key(""): job(0).to_json(),
                           snapshot_key("k" * 101): job(0).to_json()})
    assert found.jobs == {}
    assert found.dead == {"", "k" * 101}
    assert read_snapshot(["not", "a", "map"]).jobs == {}


def test_keys_stay_bounded_in_length() -> None:
    for message_id in ("x" * 100, "y" * 101, "z" * 1_000_000):
        key = message_key({"id": message_id}) or ""
        assert len(snapshot_key(key)) <= len(KEY_PREFIX) + 100


def test_book_keeps_concurrent_jobs_and_adopts_only_unknown_ones() -> None:
    book, writes = JobBook(), Writes()
    book.adopt(with_jobs({"old": job(0, 5).to_json(), "broken": {"id": 7}}) | {"other": 1})
    assert book.claim("a") == (True, None)
    assert book.claim("a") == (False, None), "one key, two messages at once"
    book.remember("a", job(1, 10), writes)
    assert book.claim("old") == (True, job(0, 5))
    book.forget("old", writes)
    book.adopt(with_jobs({"old": job(0, 5).to_json()}))
    assert job_writes(writes) == [{"a": job(1, 10).to_json()}, {"old": None}]
    assert book.claim("old") == (True, None), "not taken in again from an older snapshot"
    book.release("old")
    book.release("a")
    assert book.take_stale(10 + 15 * 60 + 1) == [job(1, 10)]


def test_stale_jobs_are_written_null_in_one_update() -> None:
    book, writes = JobBook(), Writes()
    book.adopt(with_jobs({"s1": job(1, 5).to_json(), "s2": job(2, 5).to_json(),
                          "fresh": job(3).to_json()}))
    assert {j.response_id for j in book.take_stale(5 + 15 * 60 + 1)} == {RESPONSE.format(1),
                                                                       RESPONSE.format(2)}
    book.publish_current(writes)
    assert writes == [("updateSnapshot", {snapshot_key("s1"): None, snapshot_key("s2"): None})]
    book.publish_current(writes)
    assert len(writes) == 1, "nothing left to write"


def test_a_write_that_failed_is_carried_by_the_next_one() -> None:
    book, writes = JobBook(), Writes()
    run_jobs(book, writes, range(2))

    def broken(_event: str, _payload: dict[str, Any]) -> None:
        raise RuntimeError("the broker is gone")

    with pytest.raises(RuntimeError):
        book.forget(MESSAGE.format(0), broken)
    book.forget(MESSAGE.format(1), writes)
    assert writes[-1] == ("updateSnapshot", {snapshot_key(MESSAGE.format(0)): None,
                                             snapshot_key(MESSAGE.format(1)): None})


def test_a_write_that_failed_once_awaited_makes_the_next_write_whole() -> None:
    book, writes = JobBook(), Writes()
    run_jobs(book, writes, range(3))
    book.forget(MESSAGE.format(0), writes)  # handed over; its failure shows when awaited
    book.write_failed()
    book.forget(MESSAGE.format(1), writes)
    assert writes[-1] == ("snapshot", {snapshot_key(MESSAGE.format(2)): job(2).to_json()})
    book.forget(MESSAGE.format(2), writes)
    assert writes[-1] == ("updateSnapshot", {snapshot_key(MESSAGE.format(2)): None}), \
        "one whole write, then single keys again"


def test_message_key_is_the_id_and_never_the_body() -> None:
    assert message_key({"id": "abc", "body": {}}) == "abc"
    assert message_key({"body": {"input": "x", "a": 1}}) is None
    long_id = "m" * 5000
    assert message_key({"id": long_id}) == message_key({"id": long_id})
    assert len(message_key({"id": long_id}) or "") < 100
