"""What the real-action benchmarks share: the step configuration (credentials pointing at
the fake model server), the functions, and the message bodies.

The function names are the real ``component.json``'s; the Node twins in
``bench/node_component`` carry the same names, so one ``ELASTICIO_FUNCTION`` runs both.
"""

from __future__ import annotations

from typing import Any

SEND_REQUEST = "sendRequest"
CREATE_RESPONSE = "createResponse"
MODEL = "gpt-4o-mini"
COMPONENT = "real"

CHAT_BODY: dict[str, Any] = {"messages": [{"role": "user", "content": "Say pong."}]}
STREAM_BODY: dict[str, Any] = {**CHAT_BODY, "stream": True}
BACKGROUND_BODY: dict[str, Any] = {"input": "Say pong.", "background": True}


def step_config(base_url: str) -> dict[str, Any]:
    """The step's cfg (credentials and fields) as the platform API hands it over."""
    return {"apiKey": "sk-bench-not-a-key", "baseUrl": base_url, "model": MODEL}
