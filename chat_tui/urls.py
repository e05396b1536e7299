"""URLs as they may be shown or stored: never with the credentials some carry.

A base URL can hold a password (``https://user:pass@host/v1``) or a key in its query
(``?key=...``, ``&sig=...``). Error messages, the screen, session files and exports show
endpoints, so they show them through ``shown_url``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Query parameter names whose values are treated as secrets.
_SECRET_NAME = re.compile(r"key|token|secret|sig|pass|auth|credential", re.IGNORECASE)


def shown_url(url: str) -> str:
    """``url`` with any user:password removed and secret-looking query values hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query = parts.query
        if query:
            fields = []
            for field in query.split("&"):
                name, equals, _ = field.partition("=")
                fields.append(f"{name}=…" if equals and _SECRET_NAME.search(name) else field)
            query = "&".join(fields)
        return parts._replace(netloc=netloc, query=query).geturl()
    except ValueError:
        return "(an unusable URL)" if "@" in url or "?" in url else url
