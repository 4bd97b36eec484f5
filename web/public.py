"""Absolute URLs come from the public_base_url setting, never from the request's Host header.

A client chooses the Host it sends, and answers are cached (the Atom feed publicly, for
minutes): an absolute URL built from it would send later readers wherever that client chose.
So links stay relative where the format allows one; where it requires an absolute URI (an
Atom id), the configured base starts it, or, without one, a name that needs no host at all.
"""

from __future__ import annotations

import uuid

from web.settings import current_settings


def public_url(path: str) -> str:
    """`path` (absolute, from url_for) under the public base URL, or left relative."""
    base = current_settings().public_base_url.rstrip("/")
    return base + path if base else path


def stable_uri(path: str) -> str:
    """An absolute URI naming `path` for good: the public URL, or without a base URL a
    urn:uuid derived from the path alone (as RFC 4287's own examples name entries)."""
    base = current_settings().public_base_url.rstrip("/")
    if base:
        return base + path
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'vnsearch:' + path)}"
