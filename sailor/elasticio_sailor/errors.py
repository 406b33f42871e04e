"""The sailor's exceptions: one root, and the one rule for how an exception shows in a log.

Every exception class the sailor defines derives from :class:`SailorException`. Their
messages are written by the sailor and never quote a message body or a cfg value (a
platform API error quotes the platform's own answer, with the API key removed), so a
log line may show them in full. Any other exception (the component's, a library's) may
quote such things: a log line shows only its class name.
"""

from __future__ import annotations


class SailorException(Exception):  # noqa: N818 - the root, not an error of its own
    """Root of every exception the sailor defines."""


class SailorError(SailorException):
    """An error the sailor itself raises into the error path; published as ``name: "Error"``."""

    error_name = "Error"


class ShutdownInterrupted(SailorException):
    """Raised by a component that stopped its work because ``self.shutting_down`` was set.

    The sailor publishes nothing for that message and does not settle it: the broker
    delivers it again (to this component's next run). Raised while the sailor is not
    shutting down, it is an ordinary error.
    """

    def __init__(self, message: str = "Stopped because the sailor is shutting down") -> None:
        super().__init__(message)


def describe(exc: BaseException) -> str:
    """How ``exc`` is shown in a log line: the sailor's own errors in full, every other
    one by its class name only (its text may quote a message body, cfg or a response)."""
    if isinstance(exc, SailorException):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
