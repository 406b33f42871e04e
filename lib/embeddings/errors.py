"""The errors of Create Embeddings (both the user's to fix)::

    lib.errors.UserError
    ├── EmbeddingsTooLargeError       the message needs more requests or numbers than allowed
    └── lib.openai.errors.OpenAIError
        └── InputTooLongError         the server refused a text as longer than the model takes
"""

from __future__ import annotations

from lib.errors import UserError
from lib.openai.errors import OpenAIError


class EmbeddingsTooLargeError(UserError):
    """The input needs more requests, or its embeddings more numbers, than one message may
    have (``lib.embeddings.request``'s bounds)."""


class InputTooLongError(OpenAIError, UserError):
    """The server refused a text as longer than the model's limit; the message names the
    text (or the texts that can be that long), with the server's status and request id."""

    @classmethod
    def naming(cls, error: OpenAIError, message: str) -> InputTooLongError:
        """The refusal `error`, its text replaced by `message`."""
        named = cls(message, status=error.status, type=error.type, code=error.code,
                    param=error.param, request_id=error.request_id)
        named.attempts = error.attempts
        return named
