"""One Create Response call from start to end: create (or resume) the response, follow a
background job to its end, cancel it when it is given up for good.

A background job is made at most once per delivery: its create is sent with
``idempotent=False`` (no retry once it may have reached OpenAI) and with `stream: true`,
whose first event names the job, so that its id is known, and written to the step's
snapshot (``lib.responses.jobs``), before anything else can fail. A create that fails
after it may have reached OpenAI and before the id came fails the message with
`ResponseMayExistError` (it is not sent again). Unless the message asked to stream, the
stream is left once the id is known and the job is polled. What then happens to the job:

- it ends (completed, incomplete, failed): forgotten, the result is returned;
- the step shuts down (`CallInterruptedError`): left running and remembered; the message
  is left to the broker, and its next delivery (the same message id and request) resumes
  polling the same job. A job that could not be remembered (a message without an id, or
  one whose id another message in hand holds) is cancelled instead: nobody could resume it;
- the longest wait passes, or the message fails otherwise: cancelled and forgotten.

A message that would start a job while the snapshot holds as many as it may is rebounded
(`BackgroundJobsFullError`) before anything is sent.

The run is a coroutine on the sailor's event loop: its calls go through the async client,
its waits are timers on the loop, and its snapshot writes are awaited in the order the job
book made them (`SnapshotWrites`). When the sailor cancels it (a shutdown that outlasted
its grace period) the message is left to the broker as for a stop: the job is kept.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lib.errors import is_user_error
from lib.openai.async_client import AsyncOpenAIClient
from lib.openai.errors import CallInterruptedError, NotFoundError, NotResentError, OpenAIError
from lib.openai.responses import (
    RUNNING_STATUSES,
    cancel_response,
    create_response,
    response_id_of,
    status_of,
)
from lib.responses.errors import (
    BackgroundJobsFullError,
    LongestWaitPassedError,
    ResponseCancelledError,
    ResponseGoneError,
    ResponseMayExistError,
)
from lib.responses.jobs import DEFAULT_MAX_JOBS, Job, JobBook, request_digest
from lib.responses.polling import BackgroundWait


class SnapshotWrites:
    """The snapshot writes of one message. The job book writes under its lock, at once,
    through `publish`; from the event loop the component's `emit` hands back an awaitable
    (the event is queued in order when it is called), which `written` awaits, in order.
    A write that fails there is reported to `failed` (the book then writes its jobs whole
    next time: a failed write is carried by the next one, as from a worker thread)."""

    def __init__(self, emit: Callable[[str, Any], Any],
                 failed: Callable[[], None] | None = None) -> None:
        self._emit = emit
        self._failed = failed
        self._pending: list[Awaitable[Any]] = []

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        result = self._emit(event, payload)
        if inspect.isawaitable(result):
            self._pending.append(result)

    async def written(self) -> None:
        """Every write made so far is done (raises what a write raised)."""
        while self._pending:
            try:
                await self._pending.pop(0)
            except BaseException:  # a cancelled wait too: the write may not have happened
                if self._failed is not None:
                    self._failed()
                raise


@dataclass
class ResponseRun:
    client: AsyncOpenAIClient
    logger: Any
    timeout_s: float
    longest_wait_s: float
    waiter: BackgroundWait
    jobs: JobBook
    snapshot: SnapshotWrites
    stop: threading.Event
    max_jobs: int = DEFAULT_MAX_JOBS
    key: str | None = None  # the message's key while this process may remember its job

    async def run(self, key: str | None, request: dict[str, Any],
                  prepare: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The final Response for the message `key` (None: a message without an id) that
        asks `request` (see the module doc). `prepare` gives the body to send (the
        attachments inlined); it is called only when a job is created, not when an earlier
        one is resumed (its attachments need not be downloaded again)."""
        digest = request_digest(request)
        claimable, earlier = self.jobs.claim(key) if key is not None else (False, None)
        self.key = key if claimable else None
        try:
            if earlier is not None and earlier.made_by(digest):
                return await self._resume(earlier)
            if earlier is not None:
                self.logger.warning(
                    "The step's snapshot holds the background response %s for this message "
                    "id, made by another request (another body or model): it is not resumed; "
                    "this message starts its own", earlier.response_id)
            background = request.get("background") is True
            if background and self.key is not None \
                    and not self.jobs.reserve(self.key, self.max_jobs):
                raise BackgroundJobsFullError(self.max_jobs)
            body = await prepare()
            if not background:
                return await create_response(self.client, body, timeout_s=self.timeout_s,
                                             logger=self.logger)
            return await self._create_background(body, digest)
        finally:
            if claimable and key is not None:
                self.jobs.release(key)

    async def _create_background(self, request: dict[str, Any], digest: str
                                 ) -> dict[str, Any]:
        deadline_at = self.waiter.clock() + self.longest_wait_s
        streamed = request.get("stream") is True
        remembered: list[Job] = []  # the job, once its id is known

        async def remember(response: dict[str, Any]) -> None:
            if status_of(response) not in RUNNING_STATUSES or remembered:
                return
            job = Job(response_id_of(response), deadline_at, digest)
            remembered.append(job)  # known before the snapshot is written: a failure
            if self.key is not None:  # to write it cancels the job
                replaced = self.jobs.remember(self.key, job, self.snapshot.publish)
                await self.snapshot.written()  # in the snapshot before anything else
                if replaced is not None:
                    await self._cancel(replaced.response_id, "its snapshot entry was taken "
                                       "by a new job of the same message id")
            self.logger.info("Background response %s created; %s", job.response_id,
                             "following its stream" if streamed else "polling it")

        try:
            # the first event names the job: its id is known before anything else happens
            response = await create_response(
                self.client, {**request, "stream": True}, timeout_s=self.timeout_s,
                logger=self.logger, on_created=remember,
                stop=self.stop if streamed else None, follow=streamed, idempotent=False)
        except NotResentError as exc:
            raise ResponseMayExistError(exc) from None
        except OpenAIError as exc:
            if not remembered:
                raise
            if is_user_error(exc):
                await self._give_up(remembered[0].response_id)
                raise
            # the job runs on at OpenAI: follow it by polling
            self.logger.warning("The stream of the background response %s broke (%s); "
                                "polling it instead", remembered[0].response_id, str(exc))
            response = {"id": remembered[0].response_id, "status": "queued"}
        except BaseException as exc:
            if remembered and self._abandoned(exc):
                await self._give_up(remembered[0].response_id)
            raise
        if not remembered and status_of(response) in RUNNING_STATUSES:
            # a compatible server that answered the create in one piece
            response_id = response_id_of(response)  # a malformed id cannot be polled
            try:
                await remember(response)
            except BaseException as exc:
                if self._abandoned(exc):
                    await self._give_up(response_id)
                raise
        if not remembered:
            return response
        return await self._follow(response, remembered[0])

    async def _resume(self, job: Job) -> dict[str, Any]:
        self.logger.info("Resuming the background response %s that an earlier delivery of "
                         "this message started (it is not created again)", job.response_id)
        # never later than a job made now would end (a snapshot is no trusted clock)
        deadline_at = min(job.deadline_at, self.waiter.clock() + self.longest_wait_s)
        return await self._follow({"id": job.response_id, "status": "queued"},
                                  Job(job.response_id, deadline_at, job.request))

    async def _follow(self, response: dict[str, Any], job: Job) -> dict[str, Any]:
        try:
            response = await self.waiter.until_done(response, job.deadline_at,
                                                    self.longest_wait_s)
        except NotFoundError:
            await self._forget()
            raise ResponseGoneError(
                f"The background response {job.response_id} is no longer found (expired or "
                "deleted); it is not created again: send the message again to start a new "
                "one") from None
        except LongestWaitPassedError:
            final = await self._give_up(job.response_id)
            if final is not None and status_of(final) not in RUNNING_STATUSES | {"cancelled"}:
                return final  # it ended just before the cancel
            raise
        except BaseException as exc:
            if self._abandoned(exc):
                await self._give_up(job.response_id)
            raise
        await self._forget()
        if status_of(response) == "cancelled":
            raise ResponseCancelledError(
                f"The background response {job.response_id} was cancelled before it finished")
        return response

    def _abandoned(self, exc: BaseException) -> bool:
        """Whether the job is given up for good when `exc` ends the message: always, but
        for a shutdown (the stop signal, or the sailor cancelling the run) that leaves the
        job to the next delivery, which can resume it only when it is remembered."""
        if not isinstance(exc, CallInterruptedError | asyncio.CancelledError):
            return True
        if self.key is None:
            self.logger.warning("The step is shutting down; this message's background "
                                "response cannot be resumed (it is not kept in the snapshot: "
                                "the message has no id, or another message with its id is in "
                                "hand), so it is cancelled")
            return True
        return False

    async def _give_up(self, response_id: str) -> dict[str, Any] | None:
        """Cancel the job (best effort) and forget it: the message will not come back."""
        try:
            await self._forget()
        except Exception as err:  # noqa: BLE001 - the cancel matters more than the snapshot
            self.logger.warning("Could not write the step's snapshot (%s); the job %s is "
                                "cancelled anyway", type(err).__name__, response_id)
        return await self._cancel(response_id, "given up")

    async def _cancel(self, response_id: str, why: str) -> dict[str, Any] | None:
        """Cancel a job, best effort: its final Response, or None when the cancel failed."""
        try:
            final = await cancel_response(self.client, response_id, timeout_s=self.timeout_s,
                                          logger=self.logger)
        except OpenAIError as err:
            self.logger.warning("Cancelling the background response %s failed: %s",
                                response_id, str(err))
            return None
        self.logger.info("Background response %s cancelled (%s; status %s)", response_id, why,
                         status_of(final))
        return final

    async def cancel_stale(self) -> None:
        """Cancel the jobs of earlier processes that no message came back for."""
        stale = self.jobs.take_stale(self.waiter.clock())
        for job in stale:
            self.logger.warning("The background response %s was not picked up again long "
                                "after its deadline; cancelling it", job.response_id)
            await self._cancel(job.response_id, "not picked up again")
        if stale:
            self.jobs.publish_current(self.snapshot.publish)
            await self.snapshot.written()

    async def _forget(self) -> None:
        if self.key is not None:
            self.jobs.forget(self.key, self.snapshot.publish)
            await self.snapshot.written()
