"""Credentials check: one GET /models with the key (and base URL) the user entered."""

from __future__ import annotations

from typing import Any

from lib.config import parse_connection


def verify(self: Any, credentials: dict[str, Any]) -> dict[str, bool]:
    """`{"verified": True}`, or an exception whose message is the API's reason."""
    connection = parse_connection(credentials)
    client = connection.client()
    models = client.list_models(logger=self.logger)
    self.logger.info("Credentials verified: %s lists %d models", connection.base_url, len(models))
    return {"verified": True}
