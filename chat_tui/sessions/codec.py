"""Session <-> TOML text. Written with tomli-w, read with tomllib; every string round-trips.

File layout (one file per session, meant to be read and diffed by a person)::

    schema_version = 2          <- the header: everything a session list needs,
    id = "..."                     small and first, so listing reads only these lines
    title = "..."
    created / updated / provider / model / current / revision / message_count / preview
    system_prompt = ...         <- the header's big values come last
    draft = "..."

    [parameters]
    temperature = 0.3

    [[messages]]                <- one table per message of every branch, each after its
    id = "3f9a0c1e"                parent (none for a first message), content as a
    parent = "..."                 multi-line string; ``current`` is the id where the
    role = "user"                  branch on screen ends
    ...
    # end of chat-tui session    <- lets a reader tell a complete file from a cut one

Text is exact: tomli-w's ``multiline_strings`` keeps strings readable but turns a CRLF into a
plain newline, so a value holding "\\r\\n" is written as an escaped one-line string instead
(a lone "\\r" is escaped correctly in multi-line mode and needs nothing). Quotes, backslashes
and control characters are escaped by tomli-w in both forms.

Lone surrogates (U+D800..U+DFFF) cannot be encoded in a UTF-8 file at all: they are replaced
with U+FFFD on save, so such text comes back changed, never as a crash or a broken file.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import tomli_w

from chat_tui.errors import SessionFileError
from chat_tui.parameters import RULES as PARAMETER_RULES
from chat_tui.parameters import ParameterError, check_parameter
from chat_tui.sessions.model import (
    ROLES,
    SCHEMA_VERSION,
    STATUSES,
    AttachedFile,
    Message,
    Session,
    Usage,
)

END_MARKER = "# end of chat-tui session"
_SURROGATES = re.compile("[\ud800-\udfff]")
#: Parameter names that could hold a credential; never written, never read back.
_SECRET_NAMES = frozenset(
    {"apikey", "xapikey", "authorization", "auth", "key", "token", "accesstoken", "secret",
     "password", "bearertoken"}
)  # fmt: skip
_HEADER_END = re.compile(rb"^(?:system_prompt\s*=|draft\s*=|\[)", re.MULTILINE)
_TOML_POSITION = re.compile(
    r"^(?P<what>.*) \((?P<where>at line \d+, column \d+|at end of document)\)$"
)


def is_secret_parameter(name: str) -> bool:
    """Whether a parameter's name says it may hold a key, so it must never reach a file."""
    normalised = re.sub(r"[\s_.-]", "", name.lower())
    return normalised in _SECRET_NAMES or normalised.endswith("apikey")


# Writing


def dumps(session: Session) -> str:
    """The session as TOML text, ending with END_MARKER."""
    every_message = session.all_messages()  # first: it takes in strays, which moves current
    header: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": session.id,
        "title": session.title,
        "created": _utc(session.created),
        "updated": _utc(session.updated),
    }
    if session.provider is not None:
        header["provider"] = session.provider
    if session.model is not None:
        header["model"] = session.model
    if session.base_url is not None:
        header["base_url"] = session.base_url
    if session.current is not None:
        header["current"] = session.current
    header["revision"] = session.revision
    # Every message in the file, on every branch: what a cut-short file is checked against.
    header["message_count"] = len(every_message)
    header["preview"] = session.preview
    header["system_prompt"] = session.system_prompt
    header["draft"] = session.draft
    parts = [_table(header)]
    parameters = {
        _clean(key): value
        for key, value in session.parameters.items()
        # None is "not set" (TOML has no null); secrets are dropped as defence in depth.
        if value is not None and not is_secret_parameter(key)
    }
    if parameters:
        parts.append("[parameters]\n" + _table(parameters))
    parts.extend(_message(message) for message in every_message)
    parts.append(END_MARKER + "\n")
    return "\n".join(parts)


def _message(message: Message) -> str:
    """One ``[[messages]]`` entry. Cached on the message's values: while a reply streams
    into a long session, each autosave formats only the message that changed (a 5,000-message
    save drops from about 0.4 s to about 0.03 s)."""
    usage = message.usage
    return _message_text(
        message.id,
        message.parent,
        message.role,
        message.created,
        message.status,
        message.model,
        message.finish_reason,
        message.error,
        message.warning,
        message.reasoning,
        message.content,
        None
        if usage is None
        else (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens,
            usage.estimated,
            usage.cost,
        ),
        tuple((attached.name, attached.bytes) for attached in message.attachments),
    )


@functools.lru_cache(maxsize=20_000)
def _message_text(
    message_id: str,
    parent: str | None,
    role: str,
    created: datetime,
    status: str,
    model: str | None,
    finish_reason: str | None,
    error: str | None,
    warning: str | None,
    reasoning: str,
    content: str,
    usage: tuple[int, int, int, bool, float | None] | None,
    attachments: tuple[tuple[str, int], ...] = (),
) -> str:
    """Written by hand around tomli-w: tomli-w would write an array of short tables
    inline, which is harder to read and to diff."""
    entry: dict[str, Any] = {"id": message_id}
    if parent is not None:
        entry["parent"] = parent
    entry.update({"role": role, "created": _utc(created), "status": status})
    for key, value in (
        ("model", model),
        ("finish_reason", finish_reason),
        ("error", error),
        ("warning", warning),
    ):
        if value is not None:
            entry[key] = value
    if reasoning:
        entry["reasoning"] = reasoning
    entry["content"] = content
    text = "[[messages]]\n" + _table(entry)
    if usage is not None:
        names = ("prompt_tokens", "completion_tokens", "total_tokens", "estimated", "cost")
        figures = {k: v for k, v in zip(names, usage, strict=True) if v is not None}
        text += "\n[messages.usage]\n" + tomli_w.dumps(figures)
    for name, size in attachments:
        text += "\n[[messages.attachments]]\n" + _table({"name": name, "bytes": size})
    return text


def _table(entries: dict[str, Any]) -> str:
    """Key = value lines for flat values, multi-line strings wherever that is exact."""
    entries = {key: _clean(v) if isinstance(v, str) else v for key, v in entries.items()}
    if not any(isinstance(value, str) and "\r\n" in value for value in entries.values()):
        return tomli_w.dumps(entries, multiline_strings=True)
    # Rare: some value holds a CRLF. Write that one as an escaped one-line string.
    return "".join(
        tomli_w.dumps(
            {key: value}, multiline_strings=not (isinstance(value, str) and "\r\n" in value)
        )
        for key, value in entries.items()
    )


def _clean(text: str) -> str:
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def _utc(moment: datetime) -> datetime:
    """Times are stored in UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Reading


def parse(text: str) -> dict[str, Any]:
    """The TOML data of a file, or SessionFileError saying where it is broken."""
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as error:
        raise SessionFileError(_toml_reason(error)) from None
    except RecursionError:
        raise SessionFileError("nested too deeply to be a session file") from None


def _toml_reason(error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    if found := _TOML_POSITION.match(message):
        where = found["where"].replace("at end of document", "at the end of the file")
        return f"not valid TOML {where}: {found['what'][:1].lower()}{found['what'][1:]}"
    return f"not valid TOML: {message}"


def loads(text: str, *, session_id: str | None = None) -> Session:
    """Parse and check a session file's text; raises SessionFileError with the reason.

    ``session_id`` (the file name's stem) wins over the id written inside, since the file
    name is what the store saves to: a copied or renamed file is its own session.
    """
    if not text.strip():
        raise SessionFileError("the file is empty")
    data = parse(text)
    ended = text.rstrip().endswith(END_MARKER)
    return from_data(data, session_id=session_id, ended=ended)


def header_of(head: bytes) -> dict[str, Any] | None:
    """The header keys from the start of a file, or None when they cannot be read from it
    alone (then the caller parses the whole file, which also finds any real problem).

    Cutting at a line that starts a table or a big header value is safe: if that line is
    really inside a multi-line string, the cut leaves the string open and parsing fails.
    """
    found = _HEADER_END.search(head)
    if found is None:
        return None
    try:
        header = tomllib.loads(head[: found.start()].decode("utf-8").removeprefix("\ufeff"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
        return None
    version = header.get("schema_version")
    if type(version) is not int or version < 1:
        return None
    return header


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file's data up to SCHEMA_VERSION, one version at a time."""
    version = data.get("schema_version", 0)
    while version < SCHEMA_VERSION:
        data = _UPGRADES[version](data)
        version += 1
        data["schema_version"] = version
    return data


def _upgrade_v0(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (files before schema versions) called a message's text ``text`` and its
    time ``time``, named the session ``name``, and had no status or revision."""
    if "title" not in data and "name" in data:
        data["title"] = data.pop("name")
    messages = data.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not isinstance(message, dict):
                continue  # from_data reports it with the message's number
            if "content" not in message and "text" in message:
                message["content"] = message.pop("text")
            if "created" not in message and "time" in message:
                message["created"] = message.pop("time")
    return data


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept one straight line of messages; version 2 keeps a tree of branches
    (each message has an ``id`` and its ``parent``). A line is a tree of one branch."""
    messages = data.get("messages")
    if isinstance(messages, list):
        parent: str | None = None
        for index, message in enumerate(messages, 1):
            if not isinstance(message, dict):
                continue  # from_data reports it with the message's number
            message["id"] = f"m{index}"
            if parent is not None:
                message["parent"] = parent
            parent = message["id"]
        if parent is not None:
            data["current"] = parent
    return data


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _upgrade_v0,
    1: _upgrade_v1,
}


def from_data(
    data: dict[str, Any], *, session_id: str | None = None, ended: bool = True
) -> Session:
    """A checked Session from parsed TOML; SessionFileError names the first problem."""
    if not {"schema_version", "id", "messages"} & data.keys():
        raise SessionFileError(
            "not a chat-tui session file (it has no schema_version, id or messages)"
        )
    version = data.get("schema_version", 0)
    if type(version) is not int:
        raise SessionFileError("schema_version is not a number")
    if version < 0:
        raise SessionFileError(f"schema_version {version} is not a valid version")
    if version < SCHEMA_VERSION:
        data = upgrade(data)
    file_id = _get(data, "id", str, None)
    session_id = session_id or file_id
    if not session_id:
        raise SessionFileError("the session has no id")
    raw_messages = data.get("messages", [])
    if not isinstance(raw_messages, list):
        raise SessionFileError(f"messages should be an array of tables, not {_kind(raw_messages)}")
    messages = [_read_message(entry, index) for index, entry in enumerate(raw_messages, 1)]
    _check_tree(messages)
    parameters, ignored = _read_parameters(data.get("parameters", {}))
    created = _get(data, "created", datetime, _EPOCH)
    session = Session(
        id=session_id,
        title=_get(data, "title", str, ""),
        created=created,
        updated=_get(data, "updated", datetime, created),
        provider=_get(data, "provider", str, None),
        model=_get(data, "model", str, None),
        base_url=_get(data, "base_url", str, None),
        system_prompt=_get(data, "system_prompt", str, ""),
        parameters=parameters,
        tree=messages,
        current=_get(data, "current", str, None),
        draft=_get(data, "draft", str, ""),
        revision=_get(data, "revision", int, 0),
    )
    if not ended and version == SCHEMA_VERSION:
        _check_whole(data.get("message_count"), len(messages))
    if ignored:
        session.notice = (
            "Settings in this session's file were ignored: " + "; ".join(ignored) + "."
        )
    if version > SCHEMA_VERSION:
        session.read_only = True
        session.notice = (
            f"This session was saved by a newer chat-tui (schema version {version}, this one "
            f"reads {SCHEMA_VERSION}); it is open read-only so that nothing in it is lost."
        )
    return session


def _check_tree(messages: list[Message]) -> None:
    """Every id once, and every parent a message earlier in the file."""
    seen: set[str] = set()
    for index, message in enumerate(messages, 1):
        if message.id in seen:
            raise SessionFileError(f"message {index}: id {message.id!r} is used twice")
        if message.parent is not None and message.parent not in seen:
            raise SessionFileError(
                f"message {index}: parent {message.parent!r} is not an earlier message's id"
            )
        seen.add(message.id)


def _check_whole(declared: object, found: int) -> None:
    """Refuse a current-version file that lost its end: without the end line, its message
    count must be there and not promise more messages than the file holds."""
    if type(declared) is not int:
        raise SessionFileError(
            "the file looks cut short: it has neither its end line nor a message_count"
        )
    if declared > found:
        raise SessionFileError(
            f"the file looks cut short: its header lists {declared} messages "
            f"but only {found} are in it"
        )


def _read_parameters(
    value: object,
) -> tuple[dict[str, float | int | str | bool], list[str]]:
    """The parameters to send, and in words the ones left out because they break the rules
    (``temperature = nan`` would make every request of the session fail)."""
    if not isinstance(value, dict):
        raise SessionFileError(f"parameters should be a table, not {_kind(value)}")
    parameters: dict[str, float | int | str | bool] = {}
    ignored: list[str] = []
    for key, item in value.items():
        if is_secret_parameter(key):
            continue  # never carried back into a request from a hand-edited file
        if not isinstance(item, int | float | str | bool):
            raise SessionFileError(
                f"parameters.{key} should be a number, text or true/false, not {_kind(item)}"
            )
        if key in PARAMETER_RULES:
            try:
                item = check_parameter(key, item)
            except ParameterError as error:
                ignored.append(str(error))
                continue
        parameters[key] = item
    return parameters, ignored


def _read_message(entry: object, index: int) -> Message:
    where = f"message {index}"
    if not isinstance(entry, dict):
        raise SessionFileError(f"{where} should be a table, not {_kind(entry)}")
    role = entry.get("role")
    if role not in ROLES:
        raise SessionFileError(
            f"{where}: role should be one of {', '.join(ROLES)}, not {_show(role)}"
        )
    if "content" not in entry:
        raise SessionFileError(f"{where} has no content")
    content = entry["content"]
    if not isinstance(content, str):
        raise SessionFileError(f"{where}: content should be text, not {_kind(content)}")
    status = entry.get("status", "complete")
    if status not in STATUSES:
        raise SessionFileError(
            f"{where}: status should be one of {', '.join(STATUSES)}, not {_show(status)}"
        )
    return Message(
        role=role,
        content=content,
        id=_get(entry, "id", str, f"m{index}", where),
        parent=_get(entry, "parent", str, None, where),
        created=_get(entry, "created", datetime, _EPOCH, where),
        reasoning=_get(entry, "reasoning", str, "", where),
        model=_get(entry, "model", str, None, where),
        usage=_read_usage(entry.get("usage"), where),
        finish_reason=_get(entry, "finish_reason", str, None, where),
        # A reply saved while streaming was interrupted: the process writing it is gone.
        status="cut_off" if status == "streaming" else status,
        error=_get(entry, "error", str, None, where),
        warning=_get(entry, "warning", str, None, where),
        attachments=_read_attachments(entry.get("attachments", []), where),
    )


def _read_attachments(value: object, where: str) -> list[AttachedFile]:
    """What a prompt's attachments were called and weighed (their text is in its content)."""
    if not isinstance(value, list):
        raise SessionFileError(f"{where}: attachments should be an array, not {_kind(value)}")
    attached: list[AttachedFile] = []
    for number, item in enumerate(value, 1):
        place = f"{where} attachment {number}"
        if not isinstance(item, dict):
            raise SessionFileError(f"{place} should be a table, not {_kind(item)}")
        attached.append(
            AttachedFile(_get(item, "name", str, "", place), _get(item, "bytes", int, 0, place))
        )
    return attached


def _read_usage(value: object, where: str) -> Usage | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SessionFileError(f"{where}: usage should be a table, not {_kind(value)}")
    place = f"{where} usage"
    return Usage(
        prompt_tokens=_get(value, "prompt_tokens", int, 0, place),
        completion_tokens=_get(value, "completion_tokens", int, 0, place),
        total_tokens=_get(value, "total_tokens", int, 0, place),
        estimated=_get(value, "estimated", bool, False, place),
        cost=_read_cost(value, place),
    )


def _read_cost(usage: dict[str, Any], where: str) -> float | None:
    """A reply's cost: TOML writes ``0.0`` as a float but a hand-edited ``0`` is an int."""
    cost = usage.get("cost")
    if cost is None:
        return None
    if isinstance(cost, bool) or not isinstance(cost, int | float) or cost < 0:
        shown = repr(cost) if isinstance(cost, int | float) else _show(cost)
        raise SessionFileError(f"{where}: cost should be dollars (0 or more), not {shown}")
    return float(cost)


def _get(table: dict[str, Any], key: str, kind: type, default: Any, where: str = "") -> Any:
    """``table[key]`` checked to be of ``kind`` (datetimes made UTC), or ``default``."""
    if key not in table:
        return default
    value = table[key]
    # bool is an int in Python but not in TOML; a date alone is not a date-time.
    if not isinstance(value, kind) or (kind is int and type(value) is bool):
        place = f"{where}: " if where else ""
        raise SessionFileError(f"{place}{key} should be {_KINDS[kind]}, not {_kind(value)}")
    if isinstance(value, datetime):
        return _utc(value)
    return value


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KINDS: dict[type, str] = {
    str: "text",
    int: "an integer",
    float: "a float",
    bool: "true or false",
    datetime: "a date-time",
    date: "a date",
    time: "a time",
    dict: "a table",
    list: "an array",
}


def _kind(value: object) -> str:
    """The TOML name of a value's type, for error messages."""
    if isinstance(value, datetime):
        return "a date-time"
    for kind, name in _KINDS.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def _show(value: object) -> str:
    return "nothing" if value is None else repr(value) if isinstance(value, str) else _kind(value)
