"""Create Response's own errors: how a Response or a background job can end badly.

``(U)`` marks the user's to fix (``lib.errors.UserError``; emitted without a traceback)::

    lib.openai.errors.OpenAIError
    └── ResponseFailedError              `status: failed` for a reason of the server's
        └── ResponseRejectedError (U)    `status: failed` because of the request
    lib.errors.UserError
    ├── ResponseGoneError (U)            an earlier delivery's job is no longer at OpenAI
    ├── ResponseCancelledError (U)       the job was cancelled by someone else
    └── LongestWaitPassedError (U)       the job still ran when the longest wait passed
"""

from __future__ import annotations

from typing import Any

from lib.errors import UserError
from lib.openai.errors import OpenAIError
from lib.openai.responses import status_of


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

    def __init__(self, response: dict[str, Any], longest_wait_s: float) -> None:
        self.response = response
        super().__init__(
            f"The background response {response.get('id', '')} did not finish within the "
            f"longest wait of {longest_wait_s / 60:g} minutes (status "
            f"{status_of(response)}); it is cancelled. Raise 'Longest wait for a background "
            "response' in the step, or ask for less (max_output_tokens, max_tool_calls)"
        )
