"""Which files Edit Image sends, and the edit endpoint's limits (the official document's).

GPT image models: up to 16 images, each a png, webp or jpeg under 50 MB. dall-e-2: one
square png under 4 MB. The mask: a png under 4 MB (applied to the first image).

What can be told before anything is sent is checked then: the count here, each file's
declared size and type (its media type, else its name's extension) by the file inputs
(``lib.attachments.inputs``, with :func:`image_files`), each error naming the file.
What only the bytes tell (the file's real kind, dall-e-2's square) is checked as the first
bytes of a file pass into the request (:func:`checked_image`): a file that fails stops the
request before its end, so the server never receives a complete one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lib.attachments.inline import sniff_content_type
from lib.attachments.inputs import FileKind
from lib.errors import AttachmentError, InputValidationError
from lib.model_names import DALL_E_2, image_model_family
from lib.openai.limits import MIB

PNG, JPEG, WEBP = "image/png", "image/jpeg", "image/webp"
# The extension the API knows each type by, and the types each extension stands for.
EXTENSIONS = {PNG: "png", JPEG: "jpg", WEBP: "webp"}
TYPES_BY_EXTENSION = {"png": PNG, "jpg": JPEG, "jpeg": JPEG, "webp": WEBP}
MEDIA_TYPE_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG}
MAX_MASK_BYTES = 4 * MIB
# A PNG's first 24 bytes: signature, the IHDR chunk's length and type, width, height.
_PNG_SIZE_AT = 16
_HEAD_BYTES = 24


@dataclass(frozen=True)
class EditLimits:
    """What the edit endpoint takes from one model family."""

    max_images: int
    max_image_bytes: int
    image_types: tuple[str, ...]
    square: bool = False  # the images must be square (told by a png's header)


GPT_IMAGE_EDITS = EditLimits(max_images=16, max_image_bytes=50 * MIB,
                             image_types=(PNG, WEBP, JPEG))
DALL_E_2_EDITS = EditLimits(max_images=1, max_image_bytes=4 * MIB, image_types=(PNG,),
                            square=True)
MASK_LIMITS = EditLimits(max_images=1, max_image_bytes=MAX_MASK_BYTES, image_types=(PNG,))


def edit_limits(model: str) -> EditLimits:
    """dall-e-2's limits for dall-e-2; the GPT image models' for every other model
    (another server's too: the most the official document allows)."""
    return DALL_E_2_EDITS if image_model_family(model) == DALL_E_2 else GPT_IMAGE_EDITS


def declared_type(name: str, media_type: str | None) -> str | None:
    """The image type a file declares: its media type when that is an image type the
    endpoint knows, else its name's extension; None when neither tells."""
    declared = (media_type or "").split(";", 1)[0].strip().lower()
    declared = MEDIA_TYPE_ALIASES.get(declared, declared)
    if declared in EXTENSIONS:
        return declared
    stem, dot, extension = name.rpartition(".")
    return TYPES_BY_EXTENSION.get(extension.lower()) if dot and stem else None


def is_image(name: str, media_type: str | None) -> bool:
    """Whether a file declares an image type the edit endpoint takes (png, jpeg, webp)."""
    return declared_type(name, media_type) is not None


def image_files(limits: EditLimits) -> FileKind:
    """The file input of an image (or the mask) under `limits`: the files that declare one
    of its types fit (the attachment taken when the body names none), up to its size."""
    return FileKind("image", limits.max_image_bytes,
                    lambda name, media_type: declared_type(name, media_type)
                    in limits.image_types,
                    _listed(limits))


def check_count(count: int, limits: EditLimits) -> None:
    """Refuse more images than the model takes (or none)."""
    if count == 0:
        raise InputValidationError(
            [("image is required: name an attachment of the message or a URL (the "
              "message has no single image attachment to take)")])
    if count > limits.max_images:
        raise InputValidationError(
            [f"image names {count} images; the model takes at most {limits.max_images}"])


def image_file_name(name: str, media_type: str, index: int) -> str:
    """The file name to send: `name` cut to its last path segment when its extension
    fits `media_type`; else ``image-<n>.<ext>`` (the API tells a file's type by it)."""
    base = name.replace("\\", "/").rpartition("/")[2]
    if declared_type(base, None) == media_type:
        return base
    return f"image-{index + 1}.{EXTENSIONS.get(media_type, 'png')}"


def checked_image(chunks: Iterable[bytes], what: str, limits: EditLimits) -> Iterator[bytes]:
    """`chunks`, once their first bytes show an image `limits` allows (and, for square
    models, a square png); else `AttachmentError` naming `what`, before the file's end."""
    pending = bytearray()
    checked = False
    for chunk in chunks:
        if checked:
            yield chunk
            continue
        pending += chunk
        if len(pending) < _HEAD_BYTES:
            continue
        _check_head(bytes(pending), what, limits)
        checked = True
        yield bytes(pending)
        pending.clear()
    if not checked:
        _check_head(bytes(pending), what, limits)
        if pending:
            yield bytes(pending)


def _check_head(head: bytes, what: str, limits: EditLimits) -> None:
    kind = sniff_content_type(head)
    if kind not in limits.image_types:
        told = f"a {kind.rpartition('/')[2]} file" if kind else "not an image"
        raise AttachmentError(f"{what}: the file is {told} by its content; "
                              f"{_allowed(limits)}")
    if limits.square and kind == PNG:
        width, height = struct.unpack(">II", head[_PNG_SIZE_AT:_HEAD_BYTES])
        if width != height:
            raise AttachmentError(f"{what}: {width}x{height} pixels; the model takes square "
                                  "images only")


def _allowed(limits: EditLimits) -> str:
    return f"the model takes {_listed(limits)} images"


def _listed(limits: EditLimits) -> str:
    names = [EXTENSIONS[kind] for kind in limits.image_types]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
