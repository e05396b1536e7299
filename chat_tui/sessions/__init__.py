"""Saved sessions: one readable TOML file per conversation, no UI here."""

from chat_tui.sessions.codec import upgrade
from chat_tui.sessions.export import to_json, to_markdown
from chat_tui.sessions.model import (
    SCHEMA_VERSION,
    AttachedFile,
    Message,
    MessageStatus,
    Role,
    Session,
    Usage,
    new_session_id,
    reply_ending,
    title_from_prompt,
)
from chat_tui.sessions.store import (
    SaveResult,
    SessionConflict,
    SessionStore,
    SessionSummary,
    UnreadableSession,
    UnreadableSessionError,
)

__all__ = [
    "SCHEMA_VERSION",
    "AttachedFile",
    "Message",
    "MessageStatus",
    "Role",
    "SaveResult",
    "Session",
    "SessionConflict",
    "SessionStore",
    "SessionSummary",
    "UnreadableSession",
    "UnreadableSessionError",
    "Usage",
    "new_session_id",
    "reply_ending",
    "title_from_prompt",
    "to_json",
    "to_markdown",
    "upgrade",
]
