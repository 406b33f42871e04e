"""The endpoint paths of the OpenAI API, below the base URL, and what a 404 on one of
them says about the base URL.

The API modules take their paths from here, and the configuration cuts any of them off
a pasted base URL (``lib.config.normalize_base_url``): the list holds the API's
endpoints, also those no action calls yet, because a user may paste any of them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

CHAT_COMPLETIONS_PATH = "/chat/completions"
COMPLETIONS_PATH = "/completions"
RESPONSES_PATH = "/responses"
CONVERSATIONS_PATH = "/conversations"
MODELS_PATH = "/models"
EMBEDDINGS_PATH = "/embeddings"
MODERATIONS_PATH = "/moderations"
IMAGE_GENERATIONS_PATH = "/images/generations"
IMAGE_EDITS_PATH = "/images/edits"
IMAGE_VARIATIONS_PATH = "/images/variations"
SPEECH_PATH = "/audio/speech"
TRANSCRIPTIONS_PATH = "/audio/transcriptions"
TRANSLATIONS_PATH = "/audio/translations"
FILES_PATH = "/files"
UPLOADS_PATH = "/uploads"
VECTOR_STORES_PATH = "/vector_stores"
BATCHES_PATH = "/batches"
FINE_TUNING_JOBS_PATH = "/fine_tuning/jobs"
ASSISTANTS_PATH = "/assistants"
THREADS_PATH = "/threads"
REALTIME_SESSIONS_PATH = "/realtime/sessions"
REALTIME_CLIENT_SECRETS_PATH = "/realtime/client_secrets"

# Longest first, so that /chat/completions is found before /completions.
ENDPOINT_PATHS = tuple(sorted(
    (value for name, value in dict(globals()).items() if name.endswith("_PATH")),
    key=lambda path: (-len(path), path)))

# A version segment of a base URL: v1, v2, v1beta...
_VERSION_SEGMENT = re.compile(r"v\d+[a-z0-9]*", re.IGNORECASE)


def without_endpoint_path(url: str) -> str:
    """`url` without the endpoint path it ends with, once (``.../v1/responses`` ->
    ``.../v1``). A one-word endpoint that is the URL's whole path stays: a server may
    live at ``https://host/models`` (and the 404 hint of :func:`base_url_hint` covers the
    rest)."""
    path = urlsplit(url).path
    for endpoint in ENDPOINT_PATHS:
        if path.endswith(endpoint) and (endpoint.count("/") > 1 or path != endpoint):
            return url[: len(url) - len(endpoint)].rstrip("/")
    return url


def base_url_hint(base_url: str) -> str:
    """What a 404 for one of the API's own paths says about the base URL."""
    segments = [s for s in urlsplit(base_url).path.split("/") if s]
    versions = [s for s in segments if _VERSION_SEGMENT.fullmatch(s)]
    if not versions:
        return ("the server has no such path below the API base URL, which probably lacks "
                "/v1 at its end (e.g. https://host/v1): most servers offer the API there")
    if len(versions) > 1:
        return (f"the API base URL has {len(versions)} version segments "
                f"({', '.join('/' + v for v in versions)}); keep the one the server expects")
    return ("the server has no such path below the API base URL: it probably has one "
            f"/{versions[0]} too many, or the server does not offer this endpoint")
