"""Session <-> TOML text. Written with tomli-w, read with tomllib; text round-trips exactly.

Readable multi-line strings come from tomli-w's ``multiline_strings``, which would turn a
CRLF into a plain newline; the rare value holding a carriage return is therefore written as
an escaped single-line string instead, so every string survives byte for byte. Lone
surrogates cannot be encoded in a UTF-8 file at all and are replaced with U+FFFD.
"""

from __future__ import annotations

import functools
import re
import secrets
import tomllib
from datetime import UTC, datetime
from typing import Any

import tomli_w

from chat_tui.errors import SessionFileError
from chat_tui.sessions.model import SCHEMA_VERSION, Message, Session, Usage

_SURROGATES = re.compile("[\ud800-\udfff]")
_SECRET_PARAMETERS = {"api_key", "apikey", "authorization", "key", "token"}
ROLES = ("system", "user", "assistant")
STATUSES = ("complete", "streaming", "stopped", "cut_off", "error")


def _clean(text: str) -> str:
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def dumps(session: Session) -> str:
    """The session as TOML text."""
    raw: dict[str, str] = {}
    tag = secrets.token_hex(4)

    def text(value: str) -> str:
        value = _clean(value)
        if "\r" not in value:
            return value
        placeholder = f"@@raw-{tag}-{len(raw)}@@"
        raw[placeholder] = value
        return placeholder

    header: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": session.id,
        "title": text(session.title),
        "created": session.created,
        "updated": session.updated,
        "revision": session.revision,
        "message_count": len(session.messages),
        "preview": text(session.preview),
    }
    if session.provider:
        header["provider"] = text(session.provider)
    if session.model:
        header["model"] = text(session.model)
    header["system_prompt"] = text(session.system_prompt)
    header["draft"] = text(session.draft)
    parameters = {
        key: (text(value) if isinstance(value, str) else value)
        for key, value in session.parameters.items()
        if key.lower() not in _SECRET_PARAMETERS
    }
    if parameters:
        header["parameters"] = parameters
    parts = [_finish(tomli_w.dumps(header, multiline_strings=True), raw)]
    for message in session.messages:
        usage = message.usage
        parts.append(
            _dump_message(
                message.role,
                message.created,
                message.status,
                message.content,
                message.reasoning,
                message.model,
                message.finish_reason,
                message.error,
                None
                if usage is None
                else (
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.total_tokens,
                    usage.estimated,
                ),
            )
        )
    return "\n".join(parts)


def _finish(document: str, raw: dict[str, str]) -> str:
    """Put the values that hold a carriage return back in, as escaped one-line strings."""
    for placeholder, value in raw.items():
        literal = tomli_w.dumps({"v": value}).split("=", 1)[1].strip()
        document = document.replace(f'"{placeholder}"', literal, 1)
    return document


@functools.lru_cache(maxsize=50_000)
def _dump_message(
    role: str,
    created: datetime,
    status: str,
    content: str,
    reasoning: str,
    model: str | None,
    finish_reason: str | None,
    error: str | None,
    usage: tuple[int, int, int, bool] | None,
) -> str:
    """One ``[[messages]]`` entry as TOML. Cached: while a reply streams into a long session,
    only the message that changed is serialised again at each autosave."""
    raw: dict[str, str] = {}
    tag = secrets.token_hex(4)

    def text(value: str) -> str:
        value = _clean(value)
        if "\r" not in value:
            return value
        placeholder = f"@@raw-{tag}-{len(raw)}@@"
        raw[placeholder] = value
        return placeholder

    entry: dict[str, Any] = {
        "role": role,
        "created": created,
        "status": status,
        "content": text(content),
    }
    if reasoning:
        entry["reasoning"] = text(reasoning)
    if model:
        entry["model"] = text(model)
    if finish_reason:
        entry["finish_reason"] = text(finish_reason)
    if error:
        entry["error"] = text(error)
    if usage is not None:
        entry["usage"] = dict(
            zip(
                ("prompt_tokens", "completion_tokens", "total_tokens", "estimated"),
                usage,
                strict=True,
            )
        )
    # Dumped as a top-level table and given its [[messages]] header by hand: tomli-w would
    # write a short array of small tables inline, which is harder to read and to diff.
    body = tomli_w.dumps(entry, multiline_strings=True)
    if usage is not None:
        # The usage sub-table is always written last, so its header is the last "[usage]".
        head, _, tail = body.rpartition("\n[usage]\n")
        body = f"{head}\n[messages.usage]\n{tail}"
    return _finish("[[messages]]\n" + body, raw)


def loads(text: str) -> Session:
    """Parse and check a session file's text; raises SessionFileError with the reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SessionFileError(f"not valid TOML ({error})") from None
    except RecursionError:
        raise SessionFileError("nested too deeply to be a session file") from None
    return from_data(data)


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file's data up to the current schema, one version at a time."""
    version = data.get("schema_version", 0)
    if version == 0:
        # Version 0 (before schema versions) called the text "text" and had no status.
        for message in data.get("messages", []):
            if isinstance(message, dict) and "content" not in message and "text" in message:
                message["content"] = message.pop("text")
        data["schema_version"] = 1
    return data


def from_data(data: dict[str, Any]) -> Session:
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionFileError("schema_version is not a number")
    read_only = version > SCHEMA_VERSION
    data = upgrade(data) if version < SCHEMA_VERSION else data
    session_id = _field(data, "id", str)
    if not session_id:
        raise SessionFileError("the session has no id")
    created = _field(data, "created", datetime, _epoch())
    raw_messages = data.get("messages", [])
    if not isinstance(raw_messages, list):
        raise SessionFileError("messages is not a list")
    messages = [_message(entry, index) for index, entry in enumerate(raw_messages, 1)]
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise SessionFileError("parameters is not a table")
    session = Session(
        id=session_id,
        title=_field(data, "title", str, ""),
        created=created,
        updated=_field(data, "updated", datetime, created),
        provider=_field(data, "provider", str, None),
        model=_field(data, "model", str, None),
        system_prompt=_field(data, "system_prompt", str, ""),
        parameters={
            k: v
            for k, v in parameters.items()
            if isinstance(v, int | float | str) and k.lower() not in _SECRET_PARAMETERS
        },
        messages=messages,
        draft=_field(data, "draft", str, ""),
        revision=_field(data, "revision", int, 0),
        read_only=read_only,
    )
    if read_only:
        session.notice = (
            f"This session was saved by a newer chat-tui (schema {version}); "
            "it is open read-only so that nothing in it is lost."
        )
    return session


def _message(entry: object, index: int) -> Message:
    if not isinstance(entry, dict):
        raise SessionFileError(f"message {index} is not a table")
    role = entry.get("role")
    if role not in ROLES:
        raise SessionFileError(f"message {index} has an unknown role {role!r}")
    content = entry.get("content")
    if not isinstance(content, str):
        raise SessionFileError(f"message {index}: content is not text")
    status = entry.get("status", "complete")
    usage = entry.get("usage")
    parsed_usage = None
    if isinstance(usage, dict):
        parsed_usage = Usage(
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            total_tokens=_int(usage.get("total_tokens")),
            estimated=usage.get("estimated") is True,
        )
    where = f"message {index}"
    return Message(
        role=role,
        content=content,
        created=_field(entry, "created", datetime, _epoch(), where),
        reasoning=_field(entry, "reasoning", str, "", where),
        model=_field(entry, "model", str, None, where),
        usage=parsed_usage,
        finish_reason=_field(entry, "finish_reason", str, None, where),
        # A message saved while streaming was interrupted by the process ending.
        status="cut_off" if status == "streaming" else status if status in STATUSES else "complete",
        error=_field(entry, "error", str, None, where),
    )


def _field(data: dict[str, Any], key: str, kind: type, default: Any = "", where: str = "") -> Any:
    value = data.get(key, default)
    if value is default:
        return value
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        place = f"{where}: " if where else ""
        raise SessionFileError(
            f"{place}{key} should be {kind.__name__}, not {type(value).__name__}"
        )
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _epoch() -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC)
