"""The outgoing body of Upload File."""

from __future__ import annotations

from typing import Any


def upload_output(file: dict[str, Any], vector_store_file: dict[str, Any] | None
                  ) -> dict[str, Any]:
    """The File object and, when the file went into a vector store, the vector store
    file (null otherwise)."""
    return {"file": file, "vector_store_file": vector_store_file}
