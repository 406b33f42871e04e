"""Moderate's images: each image part's URL or attachment name, made something the API
can read.

An image part names a URL, or an attachment of the message (``msg["attachments"]``, by
its name); one that names nothing takes the message's only image attachment. What follows
is Send Request's rule for images (``lib.attachments``): images OpenAI cannot fetch itself
(the platform's storage, plain http, hosts inside the network) are downloaded under the
download policy and sent inline as data URLs; public https URLs are passed on.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

from lib.attachments.downloads import Downloads
from lib.attachments.inline import Inlined, inline_image_url
from lib.errors import AttachmentError
from lib.moderations.request import ImageSlot, image_slots, with_images

MAX_NAMES_SHOWN = 5
MAX_NAME_CHARS = 60


def incoming_attachments(msg: Any) -> dict[str, Any]:
    """The message's attachments by name (empty when it has none)."""
    attachments = msg.get("attachments") if isinstance(msg, Mapping) else None
    return dict(attachments) if isinstance(attachments, Mapping) else {}


def is_image(name: str, attachment: Any) -> bool:
    """An attachment of an image type, by its content type or else its name."""
    declared = attachment.get("content-type") if isinstance(attachment, Mapping) else None
    if isinstance(declared, str) and declared.strip():
        return declared.strip().lower().startswith("image/")
    guessed = mimetypes.guess_type(name)[0]
    return bool(guessed and guessed.startswith("image/"))


def image_url_of(slot: ImageSlot, attachments: Mapping[str, Any]) -> str:
    """The URL an image part stands for: the named attachment's, the URL it gives, or the
    only image attachment's."""
    if slot.named is not None and slot.named not in attachments:
        if ":" not in slot.named:
            raise AttachmentError(
                f"{slot.place}: {slot.named[:MAX_NAME_CHARS]!r} is neither a URL nor the "
                f"name of an attachment of the message ({_names_text(list(attachments))})")
        return slot.named
    if slot.named is None:
        images = [name for name, attachment in attachments.items() if is_image(name, attachment)]
        if len(images) != 1:
            raise AttachmentError(f"{slot.place} names no image, and the message has "
                                  f"{_names_text(images, 'image ')}: give a URL or the name of "
                                  "an attachment")
        name = images[0]
    else:
        name = slot.named
    url = attachments[name].get("url") if isinstance(attachments[name], Mapping) else None
    if not isinstance(url, str) or not url.strip():
        raise AttachmentError(f"{slot.place}: the attachment {name[:MAX_NAME_CHARS]!r} has no url")
    return url.strip()


def _names_text(names: list[str], kind: str = "") -> str:
    """``no image attachment``, ``2 image attachments ('a.png', 'b.png')``."""
    if not names:
        return f"no {kind}attachment"
    shown = ", ".join(repr(name[:MAX_NAME_CHARS]) for name in names[:MAX_NAMES_SHOWN])
    more = len(names) - MAX_NAMES_SHOWN
    plural = "s" if len(names) > 1 else ""
    return (f"{len(names)} {kind}attachment{plural} ({shown}"
            f"{f' and {more} more' if more > 0 else ''})")


def with_readable_images(
    request: dict[str, Any], attachments: Mapping[str, Any], downloads: Downloads,
) -> tuple[dict[str, Any], list[Inlined]]:
    """`request` with every image part pointing at a URL the API can read, and what was
    downloaded for it (for the log). Errors name the image part."""
    inlined: list[Inlined] = []
    urls: dict[int, str] = {}
    for slot in image_slots(request.get("input")):
        url = image_url_of(slot, attachments)
        urls[slot.index] = inline_image_url(url, slot.place, downloads, inlined) or url
    if not urls:
        return request, inlined
    return with_images(request, urls), inlined
