"""A thin client for the OpenAI REST API (and OpenAI-compatible servers) on `requests`.

Modules: `client` (the HTTP client and its per-process cache), `errors` (the error types and
the mapping from an HTTP answer to one), `limits` (every bound on a call: timeouts, the
total deadline, size caps), `retry` (when and how long to wait before a retry),
`streaming` (server-sent events and assembling chat-completion chunks), `responses` and
`response_stream` (the Responses API calls and the assembly of their streams).
"""
