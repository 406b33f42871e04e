"""Background jobs wait on the event loop: no thread per waiting job, polls made by the loop.

Fifty messages run Create Response's `process` at once on one event loop, against a
server on the same loop (aiohttp's: no thread serves it) and through the real async
client (aiohttp's transport, not the tests' `responses` one). Every job is polled while
all fifty wait; the threads of the process are counted at each poll, and the thread each
poll is made from is recorded. `self.emit` behaves as the sailor's does on its loop: it
hands back an awaitable, done a few loop turns later.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest
from aiohttp import web

from lib.actions import create_response
from lib.openai.async_client import close_async_clients
from lib.responses import polling
from lib.responses.jobs import UPDATE_EVENT, JobBook, snapshot_key
from lib.responses.run import SnapshotWrites
from tests.support.action_support import API_KEY, FakeSelf
from tests.support.openai_standin import in_state, response_object, sse_lines

MODEL = "gpt-5-mini"
JOBS_AT_ONCE = 50
POLLS_EACH = 3  # a job answers in progress this often once all of them wait, then ends


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch, fresh_jobs: JobBook) -> None:
    del fresh_jobs
    monkeypatch.setenv("RESPONSES_POLL_FIRST_S", "0.001")
    monkeypatch.setenv("RESPONSES_POLL_MAX_S", "0.002")
    monkeypatch.setenv("RESPONSES_MAX_BACKGROUND_JOBS", str(JOBS_AT_ONCE))


class LoopSelf(FakeSelf):
    """`self` as the sailor gives it on its loop: `emit` queues the event at once and hands
    back a future, done a few loop turns later; `written` holds the events done."""

    def __init__(self, *, failing: bool = False) -> None:
        super().__init__()
        self.written: list[tuple[str, Any]] = []
        self.failing = failing  # every event fails once handled

    def emit(self, event: str, payload: Any = None) -> Any:
        super().emit(event, payload)

        async def handled() -> None:
            for _ in range(3):
                await asyncio.sleep(0)
            if self.failing:
                raise RuntimeError("the sailor could not publish the event")
            self.written.append((event, payload))

        return asyncio.ensure_future(handled())


class JobServer:
    """POST /v1/responses: the stream of a background create, whose first event names the
    job; GET /v1/responses/{id}: in progress until every job has been polled once, then
    `POLLS_EACH` more times, then completed. At every poll it counts the threads of the
    process and checks that the job's snapshot entry was written first."""

    def __init__(self, jobs: int = JOBS_AT_ONCE) -> None:
        self.jobs = jobs
        self.finals: dict[str, dict[str, Any]] = {}
        self.selves: dict[str, LoopSelf] = {}  # by message id
        self.polls: Counter[str] = Counter()
        self.threads_at_polls: list[int] = []
        self.polled_unwritten: list[str] = []
        self.all_polled = False
        self.polled_after_all: Counter[str] = Counter()
        self.cancelled: list[str] = []
        self.polled_twice = asyncio.Event()

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        final = response_object(MODEL, f"Done: {body['input']}", background=True)
        self.finals[final["id"]] = final | {"message": body["input"]}
        answer = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await answer.prepare(request)
        [created] = sse_lines([{"type": "response.created", "sequence_number": 0,
                                "response": in_state(final, "queued")}])
        await answer.write(f"{created}\n\n".encode())
        await answer.write_eof()
        return answer

    async def poll(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        self.threads_at_polls.append(threading.active_count())
        final = dict(self.finals[response_id])
        message_id = final.pop("message")
        written = [payload for event, payload in self.selves[message_id].written
                   if event == UPDATE_EVENT]
        if not any((payload.get(snapshot_key(message_id)) or {}).get("id") == response_id
                   for payload in written):
            self.polled_unwritten.append(response_id)
        self.polls[response_id] += 1
        if sum(self.polls.values()) >= 2:
            self.polled_twice.set()
        self.all_polled = self.all_polled or len(self.polls) == self.jobs
        if self.all_polled:
            self.polled_after_all[response_id] += 1
            if self.polled_after_all[response_id] > POLLS_EACH:
                return web.json_response(final)
        return web.json_response(in_state(final, "in_progress"))

    async def cancel(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        self.cancelled.append(response_id)
        final = {k: v for k, v in self.finals[response_id].items() if k != "message"}
        return web.json_response(in_state(final, "cancelled"))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/responses", self.create)
        app.router.add_get("/v1/responses/{response_id}", self.poll)
        app.router.add_post("/v1/responses/{response_id}/cancel", self.cancel)
        return app


async def run_jobs(server: JobServer, *, failing: bool = False) -> tuple[int, list[Any]]:
    """The server's messages' `process` at once; the threads before, and the outputs (or
    what each raised)."""
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    config = {"apiKey": API_KEY, "baseUrl": f"http://127.0.0.1:{port}/v1", "model": MODEL}
    threads_before = threading.active_count()
    for n in range(server.jobs):
        server.selves[f"job {n}"] = LoopSelf(failing=failing)
    try:
        results = await asyncio.gather(*(
            create_response.process(me, {"id": message_id, "body": {
                "input": message_id, "background": True}}, config, {})
            for message_id, me in server.selves.items()), return_exceptions=True)
    finally:
        await close_async_clients()
        await runner.cleanup()
    return threads_before, results


def test_fifty_waiting_jobs_take_no_thread_and_are_polled_by_the_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    polled_from: list[tuple[int, asyncio.AbstractEventLoop]] = []
    retrieve = polling.retrieve_response

    async def recorded(*args: Any, **kwargs: Any) -> dict[str, Any]:
        polled_from.append((threading.get_ident(), asyncio.get_running_loop()))
        return await retrieve(*args, **kwargs)

    monkeypatch.setattr(polling, "retrieve_response", recorded)
    server = JobServer()
    threads_before, results = asyncio.run(run_jobs(server))

    assert [r["body"]["output_text"] for r in results] == [
        f"Done: job {n}" for n in range(JOBS_AT_ONCE)]
    assert len(server.finals) == JOBS_AT_ONCE, "one job per message"
    assert server.all_polled
    assert sorted(server.polled_after_all.values()) == [POLLS_EACH + 1] * JOBS_AT_ONCE
    # fifty jobs created and waiting, each polled several times: not one thread more
    assert max(server.threads_at_polls) == threads_before, Counter(server.threads_at_polls)
    assert len(polled_from) == sum(server.polls.values()) >= JOBS_AT_ONCE * (POLLS_EACH + 1)
    assert {thread for thread, _loop in polled_from} == {threading.main_thread().ident}
    assert len({id(loop) for _thread, loop in polled_from}) == 1


def test_each_jobs_snapshot_writes_are_awaited_in_order() -> None:
    """A job's entry is written (its write awaited) before its first poll; the message ends
    once the write of its end is done too."""
    server = JobServer()
    asyncio.run(run_jobs(server))

    assert server.polled_unwritten == []
    for message_id, me in server.selves.items():
        key = snapshot_key(message_id)
        assert me.written == me.emitted, "every write awaited, in order, before the output"
        (first_event, first), *_, (_last_event, last) = me.written
        assert first_event == UPDATE_EVENT
        assert first[key]["id"] in server.finals
        assert last.get(key) is None, "its end written (a null, or a compacted snapshot)"


def test_a_job_whose_entry_could_not_be_written_is_cancelled_and_never_polled() -> None:
    """The write's failure comes with the awaitable `emit` handed back, a few loop turns
    later: the job is given up before anything else (no poll), as when `emit` raises."""
    server = JobServer(jobs=1)
    _threads, [result] = asyncio.run(run_jobs(server, failing=True))

    assert isinstance(result, RuntimeError), result
    [job] = server.finals
    assert server.polls == Counter(), "not polled: its id was never in the snapshot"
    assert server.cancelled == [job]


def test_a_run_the_sailor_cancels_leaves_its_job_running_and_remembered(
        fresh_jobs: JobBook) -> None:
    """At the end of its shutdown grace period the sailor cancels the work still in hand
    and leaves the message to the broker: its job is kept for the next delivery, as for a
    stop, not cancelled."""
    server = JobServer(jobs=2)  # never all polled: the job stays in progress

    async def main() -> None:
        runner = web.AppRunner(server.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        config = {"apiKey": API_KEY, "baseUrl": f"http://127.0.0.1:{port}/v1", "model": MODEL}
        me = server.selves["job 0"] = LoopSelf()
        task = asyncio.ensure_future(create_response.process(
            me, {"id": "job 0", "body": {"input": "job 0", "background": True}}, config, {}))
        try:
            await server.polled_twice.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await close_async_clients()
            await runner.cleanup()

    asyncio.run(main())
    [job] = server.finals
    assert server.cancelled == []
    [(event, payload)] = server.selves["job 0"].emitted
    assert (event, payload[snapshot_key("job 0")]["id"]) == (UPDATE_EVENT, job)
    claimed, kept = fresh_jobs.claim("job 0")
    assert claimed
    assert kept is not None
    assert kept.response_id == job


def test_a_write_that_fails_when_awaited_is_reported_to_the_book_once() -> None:
    failures: list[None] = []

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        outcomes: list[asyncio.Future[None]] = [loop.create_future() for _ in range(2)]
        handed = iter(outcomes)
        writes = SnapshotWrites(lambda _event, _payload: next(handed),
                                lambda: failures.append(None))
        writes.publish(UPDATE_EVENT, {})
        writes.publish(UPDATE_EVENT, {})
        outcomes[0].set_result(None)
        outcomes[1].set_exception(RuntimeError("the broker is gone"))
        try:
            await writes.written()
        except RuntimeError as exc:
            return [str(exc)]
        return []

    assert asyncio.run(main()) == ["the broker is gone"]
    assert failures == [None]
