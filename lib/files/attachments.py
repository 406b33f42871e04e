"""What Upload File sends: any file up to the API's limit, under a name with its type."""

from __future__ import annotations

from lib.attachments.inputs import FileKind
from lib.openai.limits import MIB

MAX_UPLOAD_BYTES = 512 * MIB  # the API's limit for one file
UPLOAD_FILES = FileKind("file", MAX_UPLOAD_BYTES)  # any type: the purpose decides
DEFAULT_FILE_NAME = "file"


def upload_file_name(given: str | None, source_name: str) -> str:
    """The name OpenAI keeps: the body's `filename`, else the attachment's name (or the
    URL's last path segment), else ``file``. A path is cut to its last segment; control
    characters (line breaks...) are dropped."""
    name = (given or "").strip() or source_name.strip() or DEFAULT_FILE_NAME
    name = name.replace("\\", "/").rpartition("/")[2]
    return "".join(c for c in name if ord(c) >= 32 and ord(c) != 127) or DEFAULT_FILE_NAME
