"""Saved sessions: one readable TOML file per conversation."""

from chat_tui.sessions.export import to_json, to_markdown
from chat_tui.sessions.model import (
    SCHEMA_VERSION,
    Message,
    Session,
    Usage,
    new_session_id,
    title_from_prompt,
)
from chat_tui.sessions.store import SaveResult, SessionStore, SessionSummary, UnreadableSession

__all__ = [
    "SCHEMA_VERSION",
    "Message",
    "SaveResult",
    "Session",
    "SessionStore",
    "SessionSummary",
    "UnreadableSession",
    "Usage",
    "new_session_id",
    "title_from_prompt",
    "to_json",
    "to_markdown",
]
