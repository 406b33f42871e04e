"""Errors of the component itself (not of the OpenAI API; those live in ``lib.openai.errors``).

Two kinds of failure, kept apart in the types: a :class:`UserError` is the user's to fix
(bad configuration, bad input, an attachment that is too large); its message is written for
the flow designer and needs no traceback. Anything else that escapes is a failure of ours.
No message built here ever contains the API key or attachment content.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: the message says what and how."""

    is_user_error = True


class ConfigError(UserError):
    """A configuration field of the step or the credentials is invalid."""


class InputValidationError(UserError):
    """The incoming message body is not a valid Chat Completions request."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(format_problems(self.problems))


class AttachmentError(UserError):
    """An attachment could not be fetched or is not acceptable (size, type)."""


class AttachmentNotAllowedError(AttachmentError):
    """The download policy does not allow the URL (one generic text, see lib.downloads)."""


class AttachmentTooLargeError(AttachmentError):
    """An attachment, or all attachments of a message together, exceed their limit."""


class AttachmentDownloadError(AttachmentError):
    """An allowed URL could not be downloaded: no connection, an HTTP error, a timeout."""


class ObjectStorageError(Exception):
    """The platform's object storage failed (5xx, unreachable): not the user's fault."""


class OutputParseError(UserError):
    """A JSON-mode answer whose content is not JSON."""


MAX_REPORTED_PROBLEMS = 5


def format_problems(problems: list[str]) -> str:
    """One line: the first few problems, and how many more there are."""
    shown = problems[:MAX_REPORTED_PROBLEMS]
    text = "Invalid input: " + "; ".join(shown)
    hidden = len(problems) - len(shown)
    if hidden > 0:
        text += f" (and {hidden} more)"
    return text
