"""What Upload File sends: any file up to the API's limit, under a name with its type."""

from __future__ import annotations

from urllib.parse import unquote

from lib.openai.limits import MIB
from lib.urls import split_url

MAX_UPLOAD_BYTES = 512 * MIB  # the API's limit for one file
DEFAULT_FILE_NAME = "file"


def name_from_url(url: str) -> str:
    """The last segment of a URL's path (unescaped), or '' when it has none."""
    try:
        path = split_url(url).path
    except ValueError:
        return ""
    return unquote(path.rstrip("/").rpartition("/")[2])


def upload_file_name(given: str | None, source_name: str) -> str:
    """The name OpenAI keeps: the body's `filename`, else the attachment's name (or the
    URL's last path segment), else ``file``. A path is cut to its last segment."""
    name = (given or "").strip() or source_name.strip() or DEFAULT_FILE_NAME
    return name.replace("\\", "/").rpartition("/")[2] or DEFAULT_FILE_NAME
