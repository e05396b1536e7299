"""Turn an HTTP error response into the most specific message a person can act on."""

from __future__ import annotations

import email.utils
import html
import json
import re
import time

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
EXCERPT_CHARS = 200


def server_message(body: bytes, content_type: str = "") -> str | None:
    """The server's own words from an error body, whatever shape it takes.

    Handles OpenAI's ``{"error": {"message": ...}}``, ``{"error": "text"}``,
    FastAPI's ``{"detail": ...}``, ``{"message": ...}``, an HTML page (its title, or
    its text) and plain text.
    """
    if not body.strip():
        return None
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    if payload is not None:
        found = message_from_json(payload)
        if found:
            return found
    if b"<html" in body[:1000].lower() or "html" in content_type:
        match = _TITLE.search(body)
        text = match.group(1) if match else body
        cleaned = _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", text.decode("utf-8", "replace"))))
        return _excerpt(cleaned.strip()) or None
    return _excerpt(_SPACE.sub(" ", body.decode("utf-8", "replace")).strip()) or None


def message_from_json(payload: object) -> str | None:
    """The message inside a parsed JSON error payload, or None if it has none."""
    if not isinstance(payload, dict):
        return None
    for key in ("error", "detail", "message"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return _excerpt(value.strip())
        if isinstance(value, dict):
            inner = value.get("message") or value.get("msg")
            if isinstance(inner, str) and inner.strip():
                return _excerpt(inner.strip())
        if isinstance(value, list) and value and isinstance(value[0], dict):
            inner = value[0].get("msg") or value[0].get("message")
            if isinstance(inner, str):
                return _excerpt(inner.strip())
    return None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header given in seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[: EXCERPT_CHARS - 1].rstrip() + "…"
