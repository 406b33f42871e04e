"""Emits the events listed in the input body: {"emit": [[event, payload], ...]}.

With "sync": true the events are emitted from the worker thread (blocking emit);
otherwise from an async function with `await`. The payload "$snapshot" stands for a
data message carrying the snapshot `process` received, "$rebounds" for one carrying
`self.rebounds`.
"""


def _events(self, msg, snapshot):
    events = []
    for item in msg["body"]["emit"]:
        payload = item[1] if len(item) > 1 else None
        if payload == "$snapshot":
            payload = {"body": {"snapshot": snapshot}}
        elif payload == "$rebounds":
            rebounds = self.rebounds
            payload = {"body": {"rebounds": {
                "done": rebounds.done, "next": rebounds.next, "limit": rebounds.limit,
                "next_delay_ms": rebounds.delay_ms(rebounds.next)}}}
        events.append((item[0], payload))
    return events


def _process_sync(self, msg, snapshot):
    for event, payload in _events(self, msg, snapshot):
        self.emit(event, payload)


async def _process_async(self, msg, snapshot):
    for event, payload in _events(self, msg, snapshot):
        await self.emit(event, payload)


def process(self, msg, cfg, snapshot):
    if msg["body"].get("sync"):
        _process_sync(self, msg, snapshot)
        return None
    return _process_async(self, msg, snapshot)
