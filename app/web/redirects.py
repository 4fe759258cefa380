"""Where a ``next`` parameter may send the browser: only to a path of this site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Browsers drop ASCII control characters and whitespace inside a URL and read "\" as "/", so
# "/\t/evil.example" or "/\\evil.example" would leave the site: the check runs on what the browser reads.
_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` when it names a path of this site once normalised as a browser would, else ``fallback``."""
    if not target:
        return fallback
    normalised = _IGNORED_BY_BROWSERS.sub("", target).replace("\\", "/")
    parts = urlsplit(normalised)
    if parts.scheme or parts.netloc or not normalised.startswith("/") or normalised.startswith("//"):
        return fallback
    return normalised
