"""Generate Image and Edit Image, sent: one call, its images spooled to files as the
answer arrives, then each stored as an attachment of the outgoing message.

Spooled rather than streamed straight to the store: the images of an answer come one
after another inside one JSON document, and each is paid for; a file on disk can be
uploaded again when the storage fails half-way (``lib.attachments.outputs``). The disk
holds one answer's images (capped by ``lib.openai.limits``), only until they are stored.

An image the server sends as a link (dall-e when asked for links, other servers) is
downloaded under the attachment download policy, like any URL in a message: the server's
answer is not trusted to point anywhere the step may read (internal addresses are
refused unless allow-listed), and a link's query (its signature) is never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.attachments.downloads import Downloads
from lib.attachments.outputs import (
    AttachmentStore,
    OutputFile,
    Spool,
    message_with_files,
    store_spooled,
)
from lib.images.output import answer_images, generated_name, generated_type, images_output
from lib.openai.base64_fields import Sink
from lib.openai.errors import OpenAIError
from lib.openai.images import IMAGE_FIELD, ImagesAnswer
from lib.openai.limits import MAX_GENERATED_IMAGE_BYTES

HEAD_BYTES = 24  # enough to tell png, jpeg, webp and gif apart
IMAGE_NOUN = "image"

ImagesCall = Callable[[Callable[[int], Sink]], ImagesAnswer]


@dataclass(frozen=True)
class SpooledImage:
    path: Path
    size: int
    media_type: str


def images_message(call: ImagesCall, *, store: AttachmentStore,
                   downloads: Callable[[], Downloads], output_format: Any,
                   logger: Any) -> dict[str, Any]:
    """Make the call (it writes image `n` to the `n`-th sink it opens), store its images
    as attachments (``image-1.png``...) and return the outgoing message. `output_format`
    is the format asked for (the type of an image its bytes do not tell)."""
    with Spool() as spool:
        answer = call(lambda number: _sink(spool, number))
        spool.done()
        images = _spooled(answer, spool, downloads, output_format)
        files = [store_spooled(store, generated_name(index, image.media_type), image.path,
                               image.media_type, MAX_GENERATED_IMAGE_BYTES)
                 for index, image in enumerate(images)]
    for file in files:
        logger.info("%s: %d bytes of %s stored as an attachment", file.name, file.size,
                    file.content_type)
    return message_with_files(images_output(answer.document, _references(files)), *files)


def _sink(spool: Spool, number: int) -> Sink:
    file = spool.new_file()
    assert len(spool.paths) == number + 1  # the call opens its sinks in order
    return file


def _references(files: list[OutputFile]) -> list[dict[str, Any]]:
    return [file.reference() for file in files]


def _spooled(answer: ImagesAnswer, spool: Spool, downloads: Callable[[], Downloads],
             output_format: Any) -> list[SpooledImage]:
    """Each image of the answer, in its order, as a spooled file: a decoded one where it
    was decoded, a linked one downloaded."""
    format_answered = answer.document.get("output_format")
    taken: set[int] = set()
    linked: list[Downloads] = []  # the message's downloads, made at the first link
    images = []
    for index, image in enumerate(answer_images(answer.document)):
        number = image.get(IMAGE_FIELD)
        url = image.get("url")
        if (isinstance(number, int) and not isinstance(number, bool)
                and 0 <= number < len(answer.sizes) and number not in taken):
            taken.add(number)
            path, size = spool.paths[number], answer.sizes[number]
        elif number is None and isinstance(url, str) and url.strip():
            linked = linked or [downloads()]
            path, size = _download(url, f"data[{index}].url", spool, linked[0])
        else:
            raise OpenAIError(f"The server's image {index + 1} holds neither base64 data "
                              "nor a link; check the base URL")
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
        images.append(SpooledImage(path, size, generated_type(head, format_answered,
                                                               output_format)))
    return images


def _download(url: str, place: str, spool: Spool, downloads: Downloads) -> tuple[Path, int]:
    """A linked image, downloaded under the policy into the spool."""
    size = 0
    with downloads.open(url, place, MAX_GENERATED_IMAGE_BYTES, IMAGE_NOUN) as download:
        file = spool.new_file()
        for chunk in download.chunks:
            file.write(chunk)
            size += len(chunk)
    spool.done()
    return spool.paths[-1], size
