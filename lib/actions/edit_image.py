"""Edit Image: one message with images (attachments or URLs) and a prompt -> the edited
images -> one message with them as attachments.

The body is an image edit request without `model` (the step names the model); `image`
names the images (the message's only image attachment when it names none), `mask` an
optional mask. Their counts, sizes and types are checked before anything is sent; they
are streamed into the multipart request as they are read. The results leave as Generate
Image's do (``lib.images.run``). An edit is billed: once it may have reached the server
it is not sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from lib import step as steps
from lib.attachments.inputs import FileInput, FileSource, choose_file, open_file
from lib.images.attachments import (
    MASK_LIMITS,
    EditLimits,
    check_count,
    checked_image,
    declared_type,
    edit_limits,
    image_file_name,
    image_files,
)
from lib.images.request import (
    IMAGE_FIELD,
    MASK_FIELD,
    edit_fields,
    image_references,
    mask_reference,
    requested_count,
)
from lib.images.run import images_message
from lib.model_list import getImageEditModels
from lib.openai.base64_fields import Sink
from lib.openai.images import ImagesAnswer, edit_images
from lib.openai.multipart import FilePart, MultipartForm

__all__ = ["getImageEditModels", "init", "process"]  # getImageEditModels: the Model field's select

INPUT_SCHEMA_FILE = "editImage.in.json"
init = steps.init_hook(INPUT_SCHEMA_FILE)  # called by the sailor at start-up


def process(self: Any, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any = None) -> Any:
    """Edit the images; return the output message with the results attached, or rebound
    the message when the server asks to wait long."""
    del snapshot  # stateless
    step = steps.start(self, msg, cfg, INPUT_SCHEMA_FILE)
    config = step.config
    fields = edit_fields(step.body, config.model)
    limits = edit_limits(config.model)
    images = _chosen_images(step.body, step.message_attachments, limits)
    mask = mask_reference(step.body)
    chosen_mask = None if mask is None else choose_file(
        mask, step.message_attachments, place=MASK_FIELD, kind=image_files(MASK_LIMITS))
    part_name = IMAGE_FIELD if len(images) == 1 else f"{IMAGE_FIELD}[]"  # as the SDKs send
    streamed = len(images) * limits.max_image_bytes + MASK_LIMITS.max_image_bytes

    def call(open_sink: Callable[[int], Sink]) -> ImagesAnswer:
        """Open the files (their downloads start: sizes and types checked), send the form
        as they are read, and close them once the answer is in."""
        downloads = step.downloads(streamed_limit=streamed)
        with ExitStack() as opened:

            def part(name: str, file: FileInput, part_limits: EditLimits, index: int
                     ) -> FilePart:
                source = opened.enter_context(open_file(
                    file, image_files(part_limits), downloads, local=step.attachment_store,
                    stop=step.stop, logger=self.logger))
                return _image_part(name, file, source, part_limits, index)

            parts = [part(part_name, file, limits, index) for index, file in enumerate(images)]
            if chosen_mask is not None:
                parts.append(part(MASK_FIELD, chosen_mask, MASK_LIMITS, len(images)))
            return edit_images(config.client(), MultipartForm(fields, parts), open_sink,
                               images=requested_count(step.body), timeout_s=config.timeout_s,
                               logger=self.logger, stop=step.stop)

    def work() -> dict[str, Any]:
        return images_message(call, store=step.attachment_store, downloads=step.downloads,
                              output_format=step.body.get("output_format"),
                              logger=self.logger)

    return steps.finish(step, work)


def _chosen_images(body: dict[str, Any], attachments: Any, limits: EditLimits
                   ) -> list[FileInput]:
    """The images the body names (or the message's only image attachment), checked."""
    references = image_references(body)
    kind = image_files(limits)
    if not references:
        chosen = [choose_file(None, attachments, place=IMAGE_FIELD, kind=kind)]
    else:
        check_count(len(references), limits)
        places = ([IMAGE_FIELD] if isinstance(body.get(IMAGE_FIELD), str)
                  else [f"{IMAGE_FIELD}[{index}]" for index in range(len(references))])
        chosen = [choose_file(reference, attachments, place=place, kind=kind)
                  for reference, place in zip(references, places, strict=True)]
    check_count(len(chosen), limits)
    return chosen


def _image_part(name: str, file: FileInput, source: FileSource, limits: EditLimits,
                index: int) -> FilePart:
    """The form's file part of an opened image: sent under a name that tells its type,
    its first bytes checked as they go (``lib.images.attachments.checked_image``)."""
    media_type = declared_type(file.name, source.media_type) or limits.image_types[0]
    what = f"{file.place} ({file.shown})"
    return FilePart(name, image_file_name(file.name, media_type, index),
                    lambda: checked_image(source.open(), what, limits), media_type,
                    source.size)
