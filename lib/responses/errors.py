"""Create Response's own errors: how a Response or a background job can end badly.

``(U)`` marks the user's to fix (``lib.errors.UserError``; emitted without a traceback)::

    lib.openai.errors.OpenAIError
    └── ResponseFailedError              `status: failed` for a reason of the server's
        └── ResponseRejectedError (U)    `status: failed` because of the request
    lib.errors.UserError
    ├── ResponseGoneError (U)            an earlier delivery's job is no longer at OpenAI
    ├── ResponseCancelledError (U)       the job was cancelled by someone else
    └── LongestWaitPassedError (U)       the job still ran when the longest wait passed

The job ids these texts name were checked when they came in
(``lib.openai.responses.response_id_of``): of the documented shape, free of secrets.
"""

from __future__ import annotations

from lib.errors import UserError
from lib.openai.errors import OpenAIError


class ResponseFailedError(OpenAIError):
    """The Response ended with `status: failed` for a reason of the server's
    (`server_error`, `rate_limit_exceeded`, `vector_store_timeout`): try again later."""


class ResponseRejectedError(ResponseFailedError, UserError):
    """The Response ended with `status: failed` because of the request (an invalid
    prompt or image, a policy): change the request."""


class ResponseGoneError(UserError):
    """The job an earlier delivery of the message started is no longer at OpenAI."""


class ResponseCancelledError(UserError):
    """The background response was cancelled by someone else (the dashboard, the API)."""


class LongestWaitPassedError(UserError):
    """A background response still ran when the step's longest wait passed."""

    def __init__(self, response_id: str, status: str, longest_wait_s: float) -> None:
        super().__init__(
            f"The background response {response_id} did not finish within the longest wait "
            f"of {longest_wait_s / 60:g} minutes (status {status}); it is cancelled. Raise "
            "'Longest wait for a background response' in the step, or ask for less "
            "(max_output_tokens, max_tool_calls)"
        )
