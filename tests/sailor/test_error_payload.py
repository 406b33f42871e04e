"""The error payload: its fields, user errors without a traceback, and the size caps."""

from __future__ import annotations

import pytest
from elasticio_sailor.error_payload import MAX_FIELD_CHARS, normalize_error


class UsersMistakeError(Exception):
    omit_traceback = True


def _raise(exc: BaseException) -> None:
    raise exc


def _raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, whatever its class."""
    try:
        _raise(exc)
    except BaseException as caught:
        return caught
    raise AssertionError("not raised")


def test_an_exception_carries_its_traceback() -> None:
    payload = normalize_error(_raised(ValueError("bad value")))
    assert payload["name"] == "ValueError"
    assert payload["message"] == "bad value"
    assert payload["stack"].startswith("Traceback (most recent call last):")
    assert payload["stack"].endswith("ValueError: bad value")


def test_a_class_that_omits_the_traceback_gets_name_and_message_as_stack() -> None:
    payload = normalize_error(_raised(UsersMistakeError("the model does not exist")))
    assert payload == {"name": "UsersMistakeError", "message": "the model does not exist",
                       "stack": "UsersMistakeError: the model does not exist"}


@pytest.mark.parametrize("size", [MAX_FIELD_CHARS, MAX_FIELD_CHARS + 1, 10 * 1024 * 1024])
def test_message_and_stack_are_capped_with_a_note(size: int) -> None:
    payload = normalize_error(_raised(RuntimeError("x" * size)))
    for field in ("message", "stack"):
        text = payload[field]
        if size <= MAX_FIELD_CHARS and field == "message":
            assert text == "x" * size
            continue
        head, note = text[:MAX_FIELD_CHARS], text[MAX_FIELD_CHARS:]
        assert len(head) == MAX_FIELD_CHARS
        assert note.startswith("... [cut by the sailor: ")
        assert len(note) < 100


def test_the_note_tells_the_full_length() -> None:
    payload = normalize_error({"message": "y" * (MAX_FIELD_CHARS + 10), "stack": "short"})
    total = MAX_FIELD_CHARS + 10
    assert payload["message"].endswith(f"[cut by the sailor: {total} characters in all]")
    assert payload["stack"] == "short"
