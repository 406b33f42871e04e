"""One chat-completion POST to cfg["baseUrl"] per message.

The session is created once per process; its connection pool is at least as large as the
prefetch, so that every message the sailor runs concurrently gets a connection.
"""

import os

import requests
from requests.adapters import HTTPAdapter

TIMEOUT_S = 30
POOL_SIZE = max(10, int(os.environ.get("ELASTICIO_RABBITMQ_PREFETCH_SAILOR") or 1))

session = requests.Session()
session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE))
session.headers["Authorization"] = "Bearer bench-key"


def process(self, msg, cfg, snapshot):  # noqa: ARG001 (the sailor's signature)
    request = {"model": "gpt-4o-mini",
               "messages": [{"role": "user", "content": msg["body"]["prompt"]}]}
    response = session.post(f"{cfg['baseUrl']}/chat/completions", json=request,
                            timeout=TIMEOUT_S)
    response.raise_for_status()
    answer = response.json()["choices"][0]["message"]["content"]
    return {"body": {**msg["body"], "answer": answer}}
