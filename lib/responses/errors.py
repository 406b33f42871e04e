"""Create Response's own errors: how a Response or a background job can end badly.

``(U)`` marks the user's to fix (``lib.errors.UserError``; emitted without a traceback)::

    lib.openai.errors.OpenAIError
    ├── ResponseFailedError              `status: failed` for a reason of the server's
    │   └── ResponseRejectedError (U)    `status: failed` because of the request
    └── ResponseMayExistError            a background create failed after it may have
                                         reached OpenAI, before its id arrived
    lib.errors.ReboundError
    └── BackgroundJobsFullError          the snapshot holds as many jobs as it may
    lib.errors.UserError
    ├── ResponseGoneError (U)            an earlier delivery's job is no longer at OpenAI
    ├── ResponseCancelledError (U)       the job was cancelled by someone else
    └── LongestWaitPassedError (U)       the job still ran when the longest wait passed

The job ids these texts name were checked when they came in
(``lib.openai.responses.response_id_of``): of the documented shape, free of secrets.
"""

from __future__ import annotations

from lib.errors import ReboundError, UserError
from lib.openai.errors import NotResentError, OpenAIError


class ResponseFailedError(OpenAIError):
    """The Response ended with `status: failed` for a reason of the server's
    (`server_error`, `rate_limit_exceeded`, `vector_store_timeout`): try again later."""


class ResponseRejectedError(ResponseFailedError, UserError):
    """The Response ended with `status: failed` because of the request (an invalid
    prompt or image, a policy): change the request."""


class ResponseMayExistError(OpenAIError):
    """A background create failed after it may have reached OpenAI and before the job's id
    arrived: a job may run (and be billed) that nobody follows. It is not created again;
    the message fails and says so."""

    def __init__(self, failure: NotResentError) -> None:
        self.cause = failure.cause
        super().__init__(
            f"Creating the background response failed after the request may have reached "
            f"the server ({failure.cause}). A background response may exist, and be billed, "
            "but its id never arrived, so it cannot be followed; it is not created again, so "
            "that it is not paid twice. Look for it among the responses of the OpenAI "
            "dashboard before sending the message again",
            status=failure.status, type=failure.type, code=failure.code,
            param=failure.param, request_id=failure.request_id)


class BackgroundJobsFullError(ReboundError):
    """The step's snapshot holds as many background jobs as it may: a job started now
    could not be kept, and nobody could resume it."""

    def __init__(self, max_jobs: int) -> None:
        super().__init__(
            f"The step already keeps {max_jobs} background responses in its snapshot (the "
            "most it may: RESPONSES_MAX_BACKGROUND_JOBS); a new one is not started until one "
            "of them ends")


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
