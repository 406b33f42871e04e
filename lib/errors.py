"""The component's own errors (the OpenAI API's live in ``lib.openai.errors``, Create
Response's in ``lib.responses.errors``).

Two kinds of failure, kept apart in the types: a :class:`UserError` is the user's to fix
(bad configuration, bad input, an attachment that is too large, a wrong API key); its
message is written for the flow designer and needs no traceback. Anything else that
escapes is a failure of ours or of a server. Whose fault an error is shows in its class
only: the errors of the other layers that are the user's derive from :class:`UserError`
too, and no code sets a flag on an instance. No message built here ever contains the API
key or attachment content. ::

    Exception
    ├── UserError                        the user's to fix; emitted without a traceback
    │   ├── ConfigError                  a field of the step, the credentials or the environment
    │   │   └── InvalidBaseURLError      the API base URL cannot be used
    │   ├── InputValidationError         the message body does not match the input schema
    │   ├── AttachmentError              an attachment cannot be used
    │   │   ├── AttachmentNotAllowedError   the download policy refuses the URL
    │   │   ├── AttachmentTooLargeError     over the size limit (one, or all together)
    │   │   └── AttachmentDownloadError     an allowed URL could not be downloaded
    │   └── OutputParseError             a JSON answer whose content is not JSON
    ├── ObjectStorageDownloadError       the platform's object storage failed (not the user's)
    └── ReboundError                     the message cannot be taken now: the step rebounds it
"""

from __future__ import annotations

from typing import ClassVar


class UserError(Exception):
    """Something the user can fix: the message says what and how.

    ``omit_traceback`` tells the sailor to emit the error without a Python traceback
    (its ``stack`` is just ``<name>: <message>``): the traceback is of no use to the
    flow designer, and it is kept for our own bugs.
    """

    omit_traceback: ClassVar[bool] = True


def is_user_error(error: BaseException) -> bool:
    """Whether `error` is the user's to fix (told by its class)."""
    return isinstance(error, UserError)


class ConfigError(UserError):
    """A configuration field of the step or the credentials is invalid."""


class InvalidBaseURLError(ConfigError):
    """The credentials' API base URL cannot be used (scheme, host, user info)."""


class InputValidationError(UserError):
    """The incoming message body is not a valid Chat Completions request."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(format_problems(self.problems))


class AttachmentError(UserError):
    """An attachment could not be fetched or is not acceptable (size, type)."""


class AttachmentNotAllowedError(AttachmentError):
    """The download policy does not allow the URL (one generic text, see
    ``lib.attachments.downloads``)."""


class AttachmentTooLargeError(AttachmentError):
    """An attachment, or all attachments of a message together, exceed their limit."""


class AttachmentDownloadError(AttachmentError):
    """An allowed URL could not be downloaded: no connection, an HTTP error, a timeout."""


class ObjectStorageDownloadError(Exception):
    """Downloading an attachment from the platform's object storage failed (5xx,
    unreachable): not the user's fault."""


class ReboundError(Exception):
    """The message cannot be taken now, for a reason that passes (no failure of the user's
    or a server's): the step rebounds it, and the platform delivers it again later. The
    message says why, for the log."""


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
