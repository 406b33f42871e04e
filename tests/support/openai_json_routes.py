"""The stand-in's endpoints that take a JSON body and answer JSON made from it alone
(embeddings, moderations): each is a path, the official document's request schema, and a
function from the request to (status, body).

    routes = JsonRoutes((EMBEDDINGS_ROUTE, MODERATIONS_ROUTE), validator, violations)
    routes.answer("POST", "/v1/embeddings", headers, raw_body) -> Reply

A request that does not match its schema is recorded as a violation and answered 400, as
the real API would; every request taken is kept in `bodies`, by path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.openai_replies import (
    Reply,
    Validator,
    contract_refusal,
    json_object,
    not_json_object,
)


@dataclass(frozen=True)
class JsonRoute:
    path: str  # below the host: /v1/embeddings
    request_schema: str  # the official document's, e.g. CreateEmbeddingRequest
    answer: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass
class JsonRoutes:
    routes: tuple[JsonRoute, ...]
    validator: Validator | None = None
    violations: list[str] = field(default_factory=list)
    bodies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def handles(self, method: str, path: str) -> bool:
        return method == "POST" and any(route.path == path for route in self.routes)

    def answer(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        del method, headers
        route = next(route for route in self.routes if route.path == path)
        body = json_object(raw)
        if body is None:
            return not_json_object()
        self.bodies.setdefault(path, []).append(body)
        refused = contract_refusal(self.validator, self.violations, route.request_schema, body)
        if refused is not None:
            return refused
        status, document = route.answer(body)
        return Reply(status, document)
