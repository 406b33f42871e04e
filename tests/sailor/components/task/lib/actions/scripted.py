"""Emits the events listed in the input body: {"emit": [[event, payload], ...]}.

With "sync": true the events are emitted from the worker thread (blocking emit);
otherwise from an async function with `await`.
"""


def _events(msg):
    return [(item[0], item[1] if len(item) > 1 else None) for item in msg["body"]["emit"]]


def _process_sync(self, msg):
    for event, payload in _events(msg):
        self.emit(event, payload)


async def _process_async(self, msg):
    for event, payload in _events(msg):
        await self.emit(event, payload)


def process(self, msg, cfg, snapshot):
    if msg["body"].get("sync"):
        _process_sync(self, msg)
        return None
    return _process_async(self, msg)
