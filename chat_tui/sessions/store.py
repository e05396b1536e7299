"""The folder of session files: atomic saves, listing, finding, renaming, trash."""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from chat_tui.errors import SessionFileError
from chat_tui.sessions.codec import dumps, loads
from chat_tui.sessions.model import Session, new_session_id, now

SUFFIX = ".toml"
HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class SessionSummary:
    """What the session browser shows, read from a file's header only."""

    id: str
    path: Path
    title: str
    created: datetime
    updated: datetime
    model: str | None
    message_count: int
    preview: str


@dataclass(frozen=True)
class UnreadableSession:
    """A file in the sessions folder that could not be read, and why. It is left alone."""

    path: Path
    reason: str


@dataclass(frozen=True)
class SaveResult:
    path: Path
    #: Set when another process had changed the file: ours was saved as this new copy.
    conflict_copy_of: str | None = None


class SessionStore:
    """Session files in one folder. Nothing is created until the first save."""

    def __init__(self, root: Path, *, max_file_bytes: int = 64 * 1024 * 1024) -> None:
        self.root = root
        self.max_file_bytes = max_file_bytes

    @property
    def trash(self) -> Path:
        return self.root / "trash"

    def path_for(self, session_id: str) -> Path:
        return self.root / f"{session_id}{SUFFIX}"

    # Writing

    def save(self, session: Session) -> SaveResult:
        """Write the session atomically; never clobber a newer version saved elsewhere."""
        if session.read_only:
            raise SessionFileError(
                "this session came from a newer chat-tui and is read-only; it was not saved"
            )
        path = self.path_for(session.id)
        conflict_of = None
        on_disk = self._revision_on_disk(path)
        if on_disk is not None and on_disk > session.revision:
            conflict_of = session.id
            session.id = new_session_id()
            session.title = f"{session.title or 'Untitled'} (conflict copy)"
            path = self.path_for(session.id)
        session.revision += 1
        session.updated = now()
        atomic_write(path, dumps(session).encode("utf-8"))
        return SaveResult(path, conflict_of)

    def rename(self, session_id: str, title: str) -> Session:
        session = self.load(session_id)
        session.title = title.strip() or session.title
        self.save(session)
        return session

    def delete(self, session_id: str) -> Path:
        """Move the file to the trash folder (never erase it); returns where it went."""
        source = self.path_for(session_id)
        if not source.exists():
            raise SessionFileError(f"no session {session_id!r} in {self.root}")
        self.trash.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.trash / source.name
        if target.exists():
            target = self.trash / f"{source.stem}-{now():%Y%m%d%H%M%S}{SUFFIX}"
        os.replace(source, target)
        return target

    # Reading

    def load(self, id_or_path: str | Path) -> Session:
        path = Path(id_or_path)
        if not (path.suffix == SUFFIX and (path.exists() or os.sep in str(id_or_path))):
            path = self.path_for(str(id_or_path))
        text = self._read(path)
        try:
            return loads(text)
        except SessionFileError as error:
            raise SessionFileError(f"{path.name}: {error}") from None

    def _read(self, path: Path) -> str:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise SessionFileError(f"no session file at {path}") from None
        except OSError as error:
            raise SessionFileError(f"{path.name}: cannot be read ({error.strerror})") from None
        if size > self.max_file_bytes:
            limit = self.max_file_bytes / 1024 / 1024
            raise SessionFileError(
                f"{path.name}: file is {size / 1024 / 1024:.1f} MB, over the {limit:g} MB limit"
            )
        try:
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise SessionFileError(f"{path.name}: not UTF-8 text") from None
        except OSError as error:
            raise SessionFileError(f"{path.name}: cannot be read ({error.strerror})") from None

    def files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [
            path
            for path in self.root.iterdir()
            if path.suffix == SUFFIX and not path.name.startswith(".") and path.is_file()
        ]

    def list(self) -> list[SessionSummary | UnreadableSession]:
        """Every file, newest first; unreadable ones listed with their reason."""
        readable: list[SessionSummary] = []
        unreadable: list[UnreadableSession] = []
        for path in self.files():
            try:
                readable.append(self.summary(path))
            except SessionFileError as error:
                unreadable.append(UnreadableSession(path, str(error)))
        readable.sort(key=lambda summary: summary.updated, reverse=True)
        return [*readable, *unreadable]

    def summary(self, path: Path) -> SessionSummary:
        """The header of a session file, without parsing its messages when it can."""
        header = self._header(path)
        if header is None:
            session = self.load(path)
            return SessionSummary(
                session.id,
                path,
                session.title,
                session.created,
                session.updated,
                session.model,
                len(session.messages),
                session.preview,
            )
        try:
            return SessionSummary(
                id=_typed(header, "id", str),
                path=path,
                title=_typed(header, "title", str),
                created=_typed(header, "created", datetime),
                updated=_typed(header, "updated", datetime),
                model=header.get("model") if isinstance(header.get("model"), str) else None,
                message_count=_typed(header, "message_count", int),
                preview=header.get("preview", "") if isinstance(header.get("preview"), str) else "",
            )
        except SessionFileError as error:
            raise SessionFileError(f"{path.name}: {error}") from None

    def _header(self, path: Path) -> dict[str, object] | None:
        """The keys before the first table; None when the file must be parsed whole."""
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                self._read(path)  # raises with the size in words
            with path.open("rb") as file:
                head = file.read(HEADER_BYTES)
        except OSError as error:
            raise SessionFileError(f"{path.name}: cannot be read ({error.strerror})") from None
        cut = min(
            (i for i in (head.find(b"\n[parameters]"), head.find(b"\n[[messages]]")) if i >= 0),
            default=-1,
        )
        if cut < 0:
            return None
        try:
            header = tomllib.loads(head[:cut].decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
            return None
        if "schema_version" not in header or "message_count" not in header:
            return None
        return header

    def _revision_on_disk(self, path: Path) -> int | None:
        if not path.exists():
            return None
        try:
            header = self._header(path)
            if header is None:
                return self.load(path).revision
        except SessionFileError:
            return None
        revision = header.get("revision")
        return revision if isinstance(revision, int) else None

    def find(self, name_or_path: str) -> Session:
        """A session by path, id, unique id prefix, or exact / unique-prefix title."""
        path = Path(name_or_path).expanduser()
        if path.suffix == SUFFIX and path.exists():
            return self.load(path)
        if self.path_for(name_or_path).exists():
            return self.load(name_or_path)
        summaries = [s for s in self.list() if isinstance(s, SessionSummary)]
        wanted = name_or_path.casefold()
        for matches in (
            [s for s in summaries if s.id.startswith(name_or_path)],
            [s for s in summaries if s.title.casefold() == wanted],
            [s for s in summaries if s.title.casefold().startswith(wanted)],
        ):
            if len(matches) == 1:
                return self.load(matches[0].path)
            if len(matches) > 1:
                names = ", ".join(f"{s.id} ({s.title})" for s in matches[:5])
                raise SessionFileError(f"{name_or_path!r} matches several sessions: {names}")
        raise SessionFileError(f"no session matches {name_or_path!r} in {self.root}")

    def latest(self) -> Session | None:
        for entry in self.list():
            if isinstance(entry, SessionSummary):
                return self.load(entry.path)
        return None

    def search(self, query: str) -> list[SessionSummary]:
        """Sessions whose title or any message contains ``query`` (case-insensitive)."""
        wanted = query.casefold()
        found = []
        for entry in self.list():
            if not isinstance(entry, SessionSummary):
                continue
            if wanted in entry.title.casefold() or wanted in entry.preview.casefold():
                found.append(entry)
                continue
            try:
                if wanted in entry.path.read_text("utf-8").casefold():
                    found.append(entry)
            except (OSError, UnicodeDecodeError):
                continue
        return found


def _typed(header: dict[str, object], key: str, kind: type) -> object:
    value = header.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SessionFileError(f"{key} is missing or not {kind.__name__}")
    return value


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a private temporary file in the same folder, fsync it, rename it over the
    target, and fsync the folder: a crash at any moment leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
