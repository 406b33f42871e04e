"""Credentials check: one GET /models with the key (and base URL) the user entered."""

from __future__ import annotations

from typing import Any

from lib.config import parse_credentials
from lib.openai.models import list_models


def verify(self: Any, credentials: dict[str, Any]) -> dict[str, bool]:
    """`{"verified": True}`, or an exception whose message is the API's reason."""
    parsed = parse_credentials(credentials)
    models = list_models(parsed.client(), logger=self.logger)
    self.logger.info("Credentials verified: %s lists %d models", parsed.base_url, len(models))
    return {"verified": True}
