"""Upload File: one message with a file -> the file uploaded to OpenAI (and, with a vector
store id, indexed in that vector store) -> one message out.

The file is one of the message's attachments or a URL (``file``); it is streamed to
POST /files as it is read. With ``vector_store_id`` the file is attached to the vector
store and the step waits until it is indexed, at most the step's Longest wait for
indexing. The outgoing body is the File object and the vector store file.
"""

from __future__ import annotations

import time
from typing import Any

from lib import step as steps
from lib.attachments.inputs import choose_file, open_file
from lib.files.attachments import UPLOAD_FILES, upload_file_name
from lib.files.indexing import IndexingWait
from lib.files.output import upload_output
from lib.files.request import (
    upload_fields,
    vector_store_file_request,
    vector_store_id_of,
)
from lib.openai.files import attach_to_vector_store, retrieve_vector_store_file, upload_file
from lib.openai.multipart import FilePart, MultipartForm

__all__ = ["init", "process"]

INPUT_SCHEMA_FILE = "uploadFile.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE)  # called by the sailor at start-up
FILE_FIELD = "file"


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Upload the file (and wait until a vector store has indexed it); return the output
    message, or rebound it when the server asks to wait long."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE, needs_model=False)
    config = step.config
    chosen = choose_file(step.body.get(FILE_FIELD), step.message_attachments,
                         place=FILE_FIELD, kind=UPLOAD_FILES)  # checked: nothing sent yet
    fields = upload_fields(step.body)
    vector_store_id = vector_store_id_of(step.body)
    call = {"timeout_s": config.timeout_s, "logger": self.logger, "stop": step.stop}

    def work() -> dict[str, Any]:
        client = config.client()
        downloads = step.downloads(streamed_limit=UPLOAD_FILES.limit)
        with open_file(chosen, UPLOAD_FILES, downloads, local=step.attachment_store,
                       stop=step.stop, logger=self.logger) as source:
            name = upload_file_name(step.body.get("filename"), chosen.name)
            part = FilePart(FILE_FIELD, name, source.open, source.content_type, source.size)
            uploaded = upload_file(client, MultipartForm(fields, [part]), **call)
        if vector_store_id is None:
            return {"body": upload_output(uploaded, None)}
        file_id = uploaded["id"]
        attached = attach_to_vector_store(
            client, vector_store_id, vector_store_file_request(file_id, step.body), **call)
        wait = IndexingWait(
            retrieve=lambda: retrieve_vector_store_file(client, vector_store_id, file_id,
                                                        **call),
            clock=time.monotonic, wait=step.stop.wait,
            longest_wait_s=config.longest_indexing_wait_s)
        return {"body": upload_output(uploaded, wait.until_indexed(attached))}

    return steps.finish(step, work)
