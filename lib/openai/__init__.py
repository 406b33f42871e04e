"""A thin client for the OpenAI REST API (and OpenAI-compatible servers) on `requests`.

It knows nothing of the runtime that runs the component: a stop signal is a plain
`threading.Event`, and a stopped call raises its own `errors.CallInterruptedError`.
Modules: `client` (the HTTP transport and its per-process cache), `sse` (server-sent
events), one module per API surface with its calls and, for streams, their assembly
(`chat`, `responses`, `models`), `errors` (the error tree and the mapping from an HTTP
answer to one), `retry` (when and how long to wait before a retry), `limits` (every bound
on a call and the shared transport constants).
"""
