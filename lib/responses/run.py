"""One Create Response call from start to end: create (or resume) the response, follow a
background job to its end, cancel it when it is given up for good.

A background job is remembered in the step's snapshot (``lib.responses.jobs``) from the
moment its id is known until the message is done with it. What happens to it:

- it ends (completed, incomplete, failed): forgotten, the result is returned;
- the step shuts down (`CallInterruptedError`): left running and remembered; the message
  is left to the broker, and its next delivery resumes polling the same job;
- the longest wait passes, or the message fails otherwise: cancelled and forgotten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.errors import is_user_error
from lib.openai.client import OpenAIClient
from lib.openai.errors import CallInterruptedError, NotFoundError, OpenAIError
from lib.openai.responses import (
    RUNNING_STATUSES,
    cancel_response,
    create_response,
    response_id_of,
    status_of,
)
from lib.responses.errors import (
    LongestWaitPassedError,
    ResponseCancelledError,
    ResponseGoneError,
)
from lib.responses.jobs import Job, JobBook, Publish
from lib.responses.polling import BackgroundWait


@dataclass
class ResponseRun:
    client: OpenAIClient
    logger: Any
    timeout_s: float
    longest_wait_s: float
    waiter: BackgroundWait
    jobs: JobBook
    publish: Publish
    stop: threading.Event
    key: str | None = None  # the message's key while this process may remember its job

    def run(self, key: str, prepare: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The final Response for the message `key` (see the module doc). `prepare` gives
        the request body; it is called only when a job is created, not when an earlier one
        is resumed (its attachments need not be downloaded again)."""
        claimable, earlier = self.jobs.claim(key)
        self.key = key if claimable else None
        try:
            if earlier is not None:
                return self._resume(earlier)
            return self._create(prepare())
        finally:
            if claimable:
                self.jobs.release(key)

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        deadline_at = self.waiter.clock() + self.longest_wait_s
        remembered: list[Job] = []  # the job, once its id is known
        background = request.get("background") is True

        def remember(response: dict[str, Any]) -> None:
            if status_of(response) in RUNNING_STATUSES and not remembered:
                job = Job(response_id_of(response), deadline_at)
                remembered.append(job)  # known before the snapshot is written: a failure
                if self.key is not None:  # to write it cancels the job
                    self.jobs.remember(self.key, job, self.publish)
                self.logger.info("Background response %s created; polling it",
                                 job.response_id)

        try:
            response = create_response(self.client, request, timeout_s=self.timeout_s,
                                       logger=self.logger,
                                       on_created=remember if background else None,
                                       stop=self.stop if background else None)
        except OpenAIError as exc:
            if not remembered:
                raise
            if is_user_error(exc):
                self._give_up(remembered[0].response_id)
                raise
            # the job runs on at OpenAI: follow it by polling
            self.logger.warning("The stream of the background response %s broke (%s); "
                                "polling it instead", remembered[0].response_id, str(exc))
            response = {"id": remembered[0].response_id, "status": "queued"}
        except BaseException as exc:
            if remembered and not isinstance(exc, CallInterruptedError):
                self._give_up(remembered[0].response_id)
            raise
        if not remembered and status_of(response) in RUNNING_STATUSES:
            response_id = response_id_of(response)  # a malformed id cannot be polled
            try:
                remember(response)
            except BaseException as exc:
                if not isinstance(exc, CallInterruptedError):
                    self._give_up(response_id)
                raise
        if not remembered:
            return response
        return self._follow(response, remembered[0])

    def _resume(self, job: Job) -> dict[str, Any]:
        self.logger.info("Resuming the background response %s that an earlier delivery of "
                         "this message started (it is not created again)", job.response_id)
        return self._follow({"id": job.response_id, "status": "queued"}, job)

    def _follow(self, response: dict[str, Any], job: Job) -> dict[str, Any]:
        try:
            response = self.waiter.until_done(response, job.deadline_at, self.longest_wait_s)
        except NotFoundError:
            self._forget()
            raise ResponseGoneError(
                f"The background response {job.response_id} is no longer found (expired or "
                "deleted); it is not created again: send the message again to start a new "
                "one") from None
        except LongestWaitPassedError:
            final = self._give_up(job.response_id)
            if final is not None and status_of(final) not in RUNNING_STATUSES | {"cancelled"}:
                return final  # it ended just before the cancel
            raise
        except BaseException as exc:
            if not isinstance(exc, CallInterruptedError):
                self._give_up(job.response_id)
            raise
        self._forget()
        if status_of(response) == "cancelled":
            raise ResponseCancelledError(
                f"The background response {job.response_id} was cancelled before it finished")
        return response

    def _give_up(self, response_id: str) -> dict[str, Any] | None:
        """Cancel the job (best effort) and forget it: the message will not come back."""
        try:
            self._forget()
        except Exception as err:  # noqa: BLE001 - the cancel matters more than the snapshot
            self.logger.warning("Could not write the step's snapshot (%s); the job %s is "
                                "cancelled anyway", type(err).__name__, response_id)
        try:
            final = cancel_response(self.client, response_id, timeout_s=self.timeout_s,
                                    logger=self.logger)
        except OpenAIError as err:
            self.logger.warning("Cancelling the background response %s failed: %s",
                                response_id, str(err))
            return None
        self.logger.info("Background response %s cancelled (status %s)", response_id,
                         status_of(final))
        return final

    def cancel_stale(self) -> None:
        """Cancel the jobs of earlier processes that no message came back for."""
        stale = self.jobs.take_stale(self.waiter.clock())
        for job in stale:
            self.logger.warning("The background response %s was not picked up again long "
                                "after its deadline; cancelling it", job.response_id)
            try:
                cancel_response(self.client, job.response_id, timeout_s=self.timeout_s,
                                logger=self.logger)
            except OpenAIError as err:
                self.logger.warning("Cancelling %s failed: %s", job.response_id, str(err))
        if stale:
            self.jobs.publish_current(self.publish)

    def _forget(self) -> None:
        if self.key is not None:
            self.jobs.forget(self.key, self.publish)
