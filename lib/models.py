"""The Model dropdown: `getModels(self, cfg)`, backed by GET /models.

For OpenAI itself the list is narrowed to models that answer Chat Completions, with a
light deny-list (so that new chat models show up the day they ship) and sorted newest
family first. Any other server (Azure's v1 endpoint, a local server, a proxy) lists what
it serves, and all of it is kept, sorted by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from lib.config import parse_connection
from lib.request_body import base_model_id

OPENAI_HOST = "api.openai.com"
CHAT_PREFIX = re.compile(r"^(gpt-|chatgpt-|o\d)", re.IGNORECASE)
# Name parts of models that do not answer Chat Completions.
DENIED_PARTS = frozenset(
    {"embedding", "tts", "whisper", "transcribe", "dall", "image", "moderation", "realtime",
     "search", "instruct", "babbage", "davinci"}
)
# Models that answer only the Responses API (-pro, deep research, codex, computer use...):
# a pattern, not a list, so that new ones are placed the day they ship.
RESPONSES_ONLY = re.compile(
    r"(^|[-_.])(pro|codex|deep-research|computer-use|daybreak|cyber)([-_.]|$)|^codex",
    re.IGNORECASE)
RESPONSES_PREFIX = re.compile(r"^(gpt-|chatgpt-|o\d|codex-|computer-use-)", re.IGNORECASE)
_SNAPSHOT_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$|-\d{4}$")


def is_openai(base_url: str) -> bool:
    """api.openai.com and its regional hosts (eu.api.openai.com, ...)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == OPENAI_HOST or host.endswith("." + OPENAI_HOST)


def is_responses_only(model_id: str) -> bool:
    """-pro, deep-research, codex, computer-use... models: the Responses API only."""
    return bool(RESPONSES_ONLY.search(base_model_id(model_id)))


def is_chat_model(model_id: str) -> bool:
    """gpt-*, chatgpt-*, the o-series, and fine-tunes of those; minus non-chat kinds and
    the models that answer only the Responses API."""
    base = base_model_id(model_id).lower()
    if not CHAT_PREFIX.match(base) or is_responses_only(base):
        return False
    return not DENIED_PARTS.intersection(re.split(r"[-_.:]", base))


def is_responses_model(model_id: str) -> bool:
    """What the Responses API takes: the chat models and the Responses-only ones."""
    base = base_model_id(model_id).lower()
    if is_responses_only(base):
        return bool(RESPONSES_PREFIX.match(base))
    return is_chat_model(model_id)


def family_of(model_id: str) -> str:
    """``gpt-4o-mini-2024-07-18`` -> ``gpt-4o``; ``o3-mini`` -> ``o3``; ``gpt-5.1`` kept."""
    tokens = base_model_id(model_id).lower().split("-")
    if tokens[0] in ("gpt", "chatgpt") and len(tokens) > 1:
        return f"{tokens[0]}-{tokens[1]}"
    return tokens[0]


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
    """Select model of the Model field: the chat models the credentials can use."""
    return offered_models(self, cfg, is_chat_model)


def offered_models(self: Any, cfg: dict[str, Any], keep: Callable[[str], bool]) -> dict[str, str]:
    """The models the server lists that `keep` accepts (all of them for other servers)."""
    connection = parse_connection(cfg)
    client = connection.client()
    models = client.list_models(logger=self.logger)
    selected = select_models(models, connection.base_url, keep)
    self.logger.info("The server lists %d models, %d offered", len(models), len(selected))
    return selected
