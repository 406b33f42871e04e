"""What an answer may hold once parsed: counted in its text before it is parsed, and while
a stream is assembled.

Parsed JSON takes far more memory than its text when it is made of many small values: an
empty object (3 bytes of text, `{},`) is a 64-byte dict and its place in a list, so a text
of tiny items costs about 25 times its size (a Responses stream of 50 MiB of tiny output
items took 2.5 GB). So an answer is bounded by its bytes and by the number of JSON values
it holds: every `{`, `[`, `,` and `:` of its text, an upper bound counted at C speed
before anything is parsed. A stream is bounded by what its assembled answer keeps (the
deltas in between are read and dropped), counted as it is built; each event, and the
number of events, by the stream reader (``lib.openai.sse``). Parsed, n counted values take
at most about 70 n bytes, and a text at most 4 bytes a character
(tests/hostile/test_answer_memory.py measures it).
"""

from __future__ import annotations

from lib.openai.errors import AnswerTooLargeError


def json_values(text: str | bytes | bytearray) -> int:
    """An upper bound of the JSON values in `text` (each `{`, `[`, `,` and `:`; those in
    strings too). Linear, at C speed."""
    if isinstance(text, str):
        return text.count("{") + text.count("[") + text.count(",") + text.count(":")
    return text.count(b"{") + text.count(b"[") + text.count(b",") + text.count(b":")


class AnswerBudget:
    """What one answer may hold, and what its assembly has kept so far."""

    def __init__(self, max_bytes: int, max_values: int,
                 request_id: str | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_values = max_values
        self.request_id = request_id
        self.kept_bytes = 0
        self.kept_values = 0

    def check_json(self, text: str | bytes | bytearray, what: str = "answer") -> None:
        """One JSON text to be parsed whole (an answer, an event, a JSON answer's content)
        must fit the caps on its own."""
        self._check(len(text), json_values(text), what)

    def check_beside_kept(self, text: str) -> None:
        """`text`, parsed, must fit beside what is kept (a value that replaces the previous
        one instead of adding to it, such as a stream's latest Response)."""
        self._check(self.kept_bytes + len(text), self.kept_values + json_values(text),
                    "assembled answer")

    def keep(self, size: int, values: int = 1) -> None:
        """The assembly keeps `size` more characters in `values` more values."""
        self.kept_bytes += size
        self.kept_values += values
        if self.kept_bytes > self.max_bytes or self.kept_values > self.max_values:
            self._check(self.kept_bytes, self.kept_values, "assembled answer")

    def keep_json(self, text: str) -> None:
        """The assembly keeps what `text` parses to."""
        self.keep(len(text), json_values(text))

    def _check(self, size: int, values: int, what: str) -> None:
        if size > self.max_bytes:
            raise AnswerTooLargeError(
                f"The server's {what} is larger than {self.max_bytes} bytes; it is not read "
                "further", request_id=self.request_id)
        if values > self.max_values:
            raise AnswerTooLargeError(
                f"The server's {what} holds more than {self.max_values} JSON values (each "
                "takes memory once parsed); it is not read further",
                request_id=self.request_id)
