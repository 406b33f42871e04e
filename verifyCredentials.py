"""Credentials check: one GET /models with the key (and base URL) the user entered.

A key that may call the models but not list them (a restricted key: 403 on the list) is
verified all the same, and the result and the log say so: its steps name the model in
Model ID. A 403 for the region is no such key, and fails. Organization and Project are
fields of each step, not of the credentials: they are not checked here.
"""

from __future__ import annotations

from typing import Any

from lib.config import MODEL_ID_LABEL, parse_credentials
from lib.openai.errors import REGION_NOT_SUPPORTED, PermissionDeniedError
from lib.openai.models import list_models


def verify(self: Any, credentials: dict[str, Any]) -> dict[str, Any]:
    """`{"verified": True}` (with `details` for a key that may not list models), or an
    exception whose message is the API's reason."""
    parsed = parse_credentials(credentials)
    try:
        models = list_models(parsed.client(), logger=self.logger)
    except PermissionDeniedError as refused:
        if refused.code == REGION_NOT_SUPPORTED:
            raise
        details = (f"Verified, but the key may not list models ({refused}): the Model lists "
                   f"of the steps stay empty; type the model's id in '{MODEL_ID_LABEL}'")
        self.logger.warning("%s", details)
        return {"verified": True, "details": details}
    self.logger.info("Credentials verified: %s lists %d models", parsed.base_url, len(models))
    return {"verified": True}
