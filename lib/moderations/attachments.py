"""Moderate's images: each image part's URL or attachment name, made something the API
can read.

An image part names an attachment of the message (``msg["attachments"]``, by its name) or
gives a URL; one that names nothing takes the message's only image attachment (the rules
of every file input, ``lib.attachments.inputs``). What follows is Send Request's rule for
images (``lib.attachments.inline``): images OpenAI cannot fetch itself (the platform's
storage, plain http, hosts inside the network) are downloaded under the download policy
and sent inline as data URLs; public https URLs are passed on. In ``exec``, an attachment
the runtime keeps as a local file (a ``file:`` URL) is read through the runtime and sent
inline too.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

from lib.attachments.downloads import MAX_IMAGE_BYTES, Downloads
from lib.attachments.inline import Inlined, image_data_url, inline_image_url
from lib.attachments.inputs import FileInput, FileKind, LocalReader, choose_file, open_file
from lib.moderations.request import ImageSlot, image_slots, with_images


def is_image(name: str, media_type: str | None) -> bool:
    """A file of an image type, by its media type or else its name."""
    if media_type:
        return media_type.startswith("image/")
    guessed = mimetypes.guess_type(name)[0]
    return bool(guessed and guessed.startswith("image/"))


IMAGE = FileKind("image", MAX_IMAGE_BYTES, fits=is_image, formats="images (png, jpeg, webp, gif)")


def incoming_attachments(msg: Any) -> dict[str, Any]:
    """The message's attachments by name (empty when it has none)."""
    attachments = msg.get("attachments") if isinstance(msg, Mapping) else None
    return dict(attachments) if isinstance(attachments, Mapping) else {}


def with_readable_images(
    request: dict[str, Any], attachments: Mapping[str, Any], downloads: Downloads, *,
    local: LocalReader | None = None,
) -> tuple[dict[str, Any], list[Inlined]]:
    """`request` with every image part pointing at a URL the API can read, and what was
    read for it (for the log). `local`: the runtime's reader of exec's local files. Errors
    name the image part."""
    inlined: list[Inlined] = []
    urls: dict[int, str] = {}
    for slot in image_slots(request.get("input")):
        urls[slot.index] = readable_url(slot, attachments, downloads, local, inlined)
    if not urls:
        return request, inlined
    return with_images(request, urls), inlined


def readable_url(slot: ImageSlot, attachments: Mapping[str, Any], downloads: Downloads,
                 local: LocalReader | None, inlined: list[Inlined]) -> str:
    """The URL to send for one image part: a data URL, or a public URL as it is."""
    file = choose_file(slot.named or "", attachments, place=slot.place, kind=IMAGE)
    if file.url.lower().startswith("file:") and local is not None and local.can_open(file.url):
        return _local_image(file, downloads, local, inlined)
    return inline_image_url(file.url, slot.place, downloads, inlined) or file.url


def _local_image(file: FileInput, downloads: Downloads, local: LocalReader,
                 inlined: list[Inlined]) -> str:
    """An exec attachment kept as a local file, read through the runtime (within the
    image limit and the message's attachment budget)."""
    with open_file(file, IMAGE, downloads, local=local) as source:
        data = b"".join(source.open())
        media_type = source.media_type
    downloads.count_inline(len(data), file.place, MAX_IMAGE_BYTES, "image")
    return image_data_url(data, media_type, file.shown, file.place, inlined)
