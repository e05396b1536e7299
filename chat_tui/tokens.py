"""Token counts where the server gives none: one rule for the meter, attachments and ask."""

from __future__ import annotations


def estimate_tokens(text: str) -> int:
    """A rough token count: about four characters a token."""
    return max(1, len(text) // 4) if text else 0
