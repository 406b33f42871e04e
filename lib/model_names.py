"""Every rule about model ids: what a name stands for, which API takes it, its family.

Pure functions over the id alone (fine-tune wrappers and provider prefixes are looked
through); new models are placed by pattern the day they ship, not by a list.
"""

from __future__ import annotations

import re
from collections.abc import Callable

CHAT_PREFIX = re.compile(r"^(gpt-|chatgpt-|o\d)", re.IGNORECASE)
# Name parts of models that do not answer Chat Completions.
DENIED_PARTS = frozenset(
    {"embedding", "tts", "whisper", "transcribe", "dall", "image", "moderation", "realtime",
     "search", "instruct", "babbage", "davinci"}
)
# The chat search models (gpt-4o-search-preview, gpt-4o-mini-search-preview,
# gpt-5-search-api and their snapshots): Chat Completions only, where they take
# `web_search_options`; the Responses API searches with its web_search tool instead.
CHAT_SEARCH = re.compile(r"-search-(preview|api)([-_.]|$)", re.IGNORECASE)
# Models that answer only the Responses API (-pro, deep research, codex, computer use...):
# a pattern, not a list, so that new ones are placed the day they ship.
RESPONSES_ONLY = re.compile(
    r"(^|[-_.])(pro|codex|deep-research|computer-use|daybreak|cyber)([-_.]|$)|^codex",
    re.IGNORECASE)
RESPONSES_PREFIX = re.compile(r"^(gpt-|chatgpt-|o\d|codex-|computer-use-)", re.IGNORECASE)
# o1, o3, o4-mini, ... and the gpt-5 family (gpt-5, gpt-5-mini, gpt-5.1, gpt-5.2-codex, ...).
_REASONING_MODEL = re.compile(r"^(o\d+|gpt-5)(?![a-z0-9])", re.IGNORECASE)
DEEP_RESEARCH_MARK = "deep-research"


def base_model_id(model: str) -> str:
    """The model name without a fine-tune wrapper or a provider prefix.

    ``ft:gpt-4o-mini:acme::abc`` -> ``gpt-4o-mini``; ``openai/o3`` -> ``o3``.
    """
    name = model.strip()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name.rsplit("/", 1)[-1]


def is_reasoning_model(model: str) -> bool:
    """True for the o-series and the gpt-5 families, which take `max_completion_tokens`."""
    return bool(_REASONING_MODEL.match(base_model_id(model)))


def is_deep_research(model: str) -> bool:
    """o3-deep-research, o4-mini-deep-research and their snapshots: background only."""
    return DEEP_RESEARCH_MARK in base_model_id(model).lower()


def is_responses_only(model_id: str) -> bool:
    """-pro, deep-research, codex, computer-use... models: the Responses API only."""
    return bool(RESPONSES_ONLY.search(base_model_id(model_id)))


def is_chat_search_model(model_id: str) -> bool:
    """gpt-4o-search-preview, gpt-5-search-api...: searching models of Chat Completions."""
    return bool(CHAT_SEARCH.search(base_model_id(model_id)))


def is_chat_model(model_id: str) -> bool:
    """gpt-*, chatgpt-*, the o-series, their search models, and fine-tunes of those; minus
    non-chat kinds and the models that answer only the Responses API."""
    base = base_model_id(model_id).lower()
    if not CHAT_PREFIX.match(base) or is_responses_only(base):
        return False
    denied = set(DENIED_PARTS.intersection(re.split(r"[-_.:]", base)))
    if is_chat_search_model(base):
        denied.discard("search")
    return not denied


def is_responses_model(model_id: str) -> bool:
    """What the Responses API takes: the chat models (but the search models) and the
    Responses-only ones."""
    base = base_model_id(model_id).lower()
    if is_responses_only(base):
        return bool(RESPONSES_PREFIX.match(base))
    return is_chat_model(model_id) and not is_chat_search_model(base)


def family_of(model_id: str) -> str:
    """``gpt-4o-mini-2024-07-18`` -> ``gpt-4o``; ``o3-mini`` -> ``o3``; ``gpt-5.1`` kept."""
    tokens = base_model_id(model_id).lower().split("-")
    if tokens[0] in ("gpt", "chatgpt") and len(tokens) > 1:
        return f"{tokens[0]}-{tokens[1]}"
    return tokens[0]


# Image models: the GPT image models (gpt-image-1, gpt-image-1-mini, gpt-image-1.5,
# gpt-image-2, chatgpt-image-latest...) and the two DALL·E generations.
GPT_IMAGE = "gpt-image"
DALL_E_2 = "dall-e-2"
DALL_E_3 = "dall-e-3"
_IMAGE_FAMILY = re.compile(r"^(?:(?:chat)?gpt-image|(dall-e-[23]))(?![a-z0-9.])", re.IGNORECASE)


def image_model_family(model_id: str) -> str | None:
    """``gpt-image`` (chatgpt-image-* included), ``dall-e-2``, ``dall-e-3``, or None for a
    model that is none of them (another server's image model)."""
    match = _IMAGE_FAMILY.match(base_model_id(model_id))
    if match is None:
        return None
    return match.group(1).lower() if match.group(1) else GPT_IMAGE


def is_image_model(model_id: str) -> bool:
    """What POST /images/generations takes: the GPT image models and dall-e-2/-3."""
    return image_model_family(model_id) is not None


def is_image_edit_model(model_id: str) -> bool:
    """What POST /images/edits takes: the GPT image models and dall-e-2 (not dall-e-3)."""
    return image_model_family(model_id) in (GPT_IMAGE, DALL_E_2)


def _name_matches(pattern: str) -> Callable[[str], bool]:
    """A rule that a model's name (fine-tune wrapper and provider prefix looked through)
    matches `pattern`."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda model_id: bool(compiled.search(base_model_id(model_id)))


# The models of each kind an action takes (Create Embeddings, Moderate, ...): a rule on the
# model's name, so that new models of a kind are listed the day they ship. An action of a
# new kind adds its line here and one in lib/model_list.py.
MODEL_KINDS: dict[str, Callable[[str], bool]] = {
    "embedding": _name_matches(r"(^|[-_.])embed(ding)?s?([-_.]|$)"),
    "moderation": _name_matches(r"(^|[-_.])moderation([-_.]|$)"),
    "transcription": _name_matches(r"(^|[-_.])(whisper|transcribe)([-_.]|$)"),
    "speech": _name_matches(r"(^|[-_.])tts([-_.]|$)"),
    "image": is_image_model,
    "image edit": is_image_edit_model,
}


def is_model_of_kind(model_id: str, kind: str) -> bool:
    """Whether `model_id` names a model of `kind` (a key of MODEL_KINDS):
    ``text-embedding-3-small`` is an embedding model, ``omni-moderation-latest`` a
    moderation model."""
    return MODEL_KINDS[kind](model_id)
