"""The Model dropdowns: the select-model functions of the actions, backed by GET /models.

One function per action (`getModels` for Send Request, `getResponseModels` for Create
Response, one per kind of model for the actions that take one kind, made by
`models_of_kind`), each naming the rule of ``lib.model_names`` that picks its models. For OpenAI
itself the list is narrowed by that rule (a light deny-list, so that new models show up
the day they ship) and sorted newest family first. Any other server (Azure's v1
endpoint, a local server, a proxy) lists what it serves, and all of it is kept, sorted by
name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from lib.config import MODEL_ID_LABEL, parse_credentials
from lib.model_names import family_of, is_chat_model, is_model_of_kind, is_responses_model
from lib.openai.errors import PermissionDeniedError, with_hint
from lib.openai.models import list_models

OPENAI_HOST = "api.openai.com"
UNLISTED_MODEL_HINT = (
    f"the key may not list models (a restricted key): type the model's id in "
    f"'{MODEL_ID_LABEL}' instead")
_SNAPSHOT_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$|-\d{4}$")


def is_openai(base_url: str) -> bool:
    """api.openai.com and its regional hosts (eu.api.openai.com, ...)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == OPENAI_HOST or host.endswith("." + OPENAI_HOST)


def _created(model: dict[str, Any]) -> int:
    created = model.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0


def label_of(model: dict[str, Any]) -> str:
    model_id = str(model["id"])
    notes = []
    if model_id.startswith("ft:"):
        notes.append("fine-tune")
    shutdown = model.get("shutdown_date")
    if isinstance(shutdown, str) and shutdown:
        notes.append(f"shuts down {shutdown}")
    return f"{model_id} ({', '.join(notes)})" if notes else model_id


def sort_openai_models(models: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest family first (a family's age = its oldest member's `created`); inside a
    family the aliases before the dated snapshots; the account's fine-tunes last."""
    models = list(models)
    family_born: dict[str, int] = {}
    for model in models:
        if not str(model["id"]).startswith("ft:"):
            family = family_of(model["id"])
            created = _created(model)
            family_born[family] = min(family_born.get(family, created), created)

    def key(model: dict[str, Any]) -> tuple[Any, ...]:
        model_id = str(model["id"])
        if model_id.startswith("ft:"):
            return (1, 0, "", -_created(model), model_id)
        family = family_of(model_id)
        snapshot = bool(_SNAPSHOT_DATE.search(model_id))
        return (0, -family_born.get(family, 0), family, snapshot, model_id)

    return sorted(models, key=key)


def select_models(
    models: Iterable[Any], base_url: str, keep: Callable[[str], bool] = is_chat_model
) -> dict[str, str]:
    """`{id: label}` in display order (see the module doc); `keep` picks OpenAI's models."""
    valid = [m for m in models if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if is_openai(base_url):
        ordered = sort_openai_models(m for m in valid if keep(m["id"]))
    else:
        ordered = sorted(valid, key=lambda m: m["id"].lower())
    return {m["id"]: label_of(m) for m in ordered}


def getModels(self: Any, cfg: dict[str, Any]) -> dict[str, str]:  # noqa: N802 - platform name
    """Send Request's Model field: the chat models the credentials can use."""
    return offered_models(self, cfg, is_chat_model)


def getResponseModels(self: Any, cfg: dict[str, Any]) -> dict[str, str]:  # noqa: N802
    """Create Response's Model field: every model the Responses API takes (-pro, deep
    research and codex models included)."""
    return offered_models(self, cfg, is_responses_model)


SelectModels = Callable[[Any, dict[str, Any]], dict[str, str]]


def models_of_kind(kind: str) -> SelectModels:
    """The select-model function of an action that takes one kind of model (a key of
    ``lib.model_names.MODEL_KINDS``): OpenAI's models of that kind, newest first; every
    model of any other server."""

    def select(self: Any, cfg: dict[str, Any]) -> dict[str, str]:
        return offered_models(self, cfg, partial(is_model_of_kind, kind=kind))

    select.__doc__ = f"The Model field of an action that takes {kind} models."
    return select


# One line per action that takes one kind of model (the name is component.json's).
getEmbeddingModels = models_of_kind("embedding")  # noqa: N816 - platform name
getModerationModels = models_of_kind("moderation")  # noqa: N816 - platform name
getTranscriptionModels = models_of_kind("transcription")  # noqa: N816 - platform name
getSpeechModels = models_of_kind("speech")  # noqa: N816 - platform name
getImageModels = models_of_kind("image")  # noqa: N816 - platform name
getImageEditModels = models_of_kind("image edit")  # noqa: N816 - platform name


def offered_models(self: Any, cfg: dict[str, Any], keep: Callable[[str], bool]) -> dict[str, str]:
    """The models the server lists that `keep` accepts (all of them for other servers). A
    key that may not list models gets an error that says where to type the id instead."""
    credentials = parse_credentials(cfg)
    try:
        models = list_models(credentials.client(), logger=self.logger)
    except PermissionDeniedError as refused:
        raise with_hint(refused, UNLISTED_MODEL_HINT) from None
    selected = select_models(models, credentials.base_url, keep)
    self.logger.info("The server lists %d models, %d offered", len(models), len(selected))
    return selected
