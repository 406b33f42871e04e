"""Splitting a message's URLs without keeping them.

``urllib.parse.urlsplit`` caches its last 128 results for the whole process (Python 3.11
and later): every URL of a message it parsed, a signed URL's signature or a 30 MiB
``data:`` URL, would outlive the message. The URLs a message brings are split here,
uncached; a URL from the configuration (one per step) may use ``urlsplit`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

_uncached: Callable[[str], SplitResult] = getattr(urlsplit, "__wrapped__", urlsplit)


def split_url(url: str) -> SplitResult:
    """``urlsplit(url)`` (raises ValueError the same), remembered nowhere."""
    return _uncached(url)
