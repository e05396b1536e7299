"""The folder of session files: atomic saves, listing, finding, renaming, trash.

Promises kept by every method:

* A save never leaves a truncated or half-written file: it writes a temporary file in the
  same folder, fsyncs it, renames it over the target and fsyncs the folder.
* A file the store cannot read is listed with the reason and never overwritten, renamed,
  moved or deleted by the store.
* Two programs saving the same session never silently overwrite each other: the second one
  gets a conflict copy (see ``SaveResult.conflict``).
"""

from __future__ import annotations

import builtins
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from chat_tui.errors import SessionFileError
from chat_tui.files import atomic_write, fsync_folder
from chat_tui.sessions.codec import END_MARKER, dumps, header_of, loads
from chat_tui.sessions.model import SCHEMA_VERSION, Session, new_session_id, now

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the revision check alone guards saves.
    fcntl = None  # type: ignore[assignment]

SUFFIX = ".toml"
TRASH = "trash"
#: How much of a file's start ``list()`` reads for the header; the header of a file this
#: store wrote is well under 1 KB up to its system prompt.
HEAD_BYTES = 8 * 1024
_TAIL_BYTES = 64
_END_BYTES = END_MARKER.encode()
#: Characters TOML writes escaped, so a raw-text search cannot rule a file out for them.
_ESCAPED = frozenset('"\\\x7f') | {chr(i) for i in range(32)}


@dataclass(frozen=True)
class SessionSummary:
    """What a session list shows, read from a file's header only."""

    id: str
    path: Path
    title: str
    created: datetime
    updated: datetime
    model: str | None
    message_count: int
    #: The first prompt, on one line.
    preview: str


@dataclass(frozen=True)
class UnreadableSession:
    """A file in the sessions folder that could not be read, and why. It is left alone."""

    path: Path
    reason: str


class UnreadableSessionError(SessionFileError):
    """A session file exists but cannot be used; ``reason`` says why in words."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot read the session file {path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class SessionConflict:
    """A save that found the file changed by someone else, so ours went to a new file."""

    original_id: str
    copy_id: str
    #: Why the original file was not overwritten, in words.
    reason: str

    @property
    def message(self) -> str:
        """A sentence for the user."""
        return (
            f"Session {self.original_id} was not overwritten ({self.reason}); "
            f"this conversation was saved as {self.copy_id} instead."
        )


@dataclass(frozen=True)
class SaveResult:
    """Where a save went. Usable as a path (``os.fspath(result)``)."""

    path: Path
    conflict: SessionConflict | None = None

    @property
    def conflict_copy_of(self) -> str | None:
        """The id that was not overwritten, when this save became a conflict copy."""
        return self.conflict.original_id if self.conflict else None

    def __fspath__(self) -> str:
        return os.fspath(self.path)


class SessionStore:
    """Session files in one folder. Nothing is created until the first save."""

    def __init__(self, root: Path | str, *, max_file_bytes: int = 64 * 1024 * 1024) -> None:
        self.root = Path(root)
        self.max_file_bytes = max_file_bytes

    @property
    def trash(self) -> Path:
        """Where deleted sessions are moved to."""
        return self.root / TRASH

    def path_for(self, session_id: str) -> Path:
        """The file of a session id; SessionFileError for an id that is no plain file name."""
        if (
            not session_id
            or session_id.startswith(".")
            or any(c in session_id for c in "/\\\x00")
            or session_id == TRASH
            or len(session_id) > 200
        ):
            raise SessionFileError(f"{session_id!r} is not a valid session id")
        return self.root / f"{session_id}{SUFFIX}"

    # Writing

    def save(self, session: Session, *, touch: bool = True) -> SaveResult:
        """Write the session atomically and bump its revision; ``touch`` sets ``updated``.

        If the file on disk is not the one this Session object was loaded from or last
        saved as (higher revision, unreadable, from a newer chat-tui, or another session with
        the same id), it is left alone and the session is saved under a new id instead: the
        object's ``id`` (and, for a real conflict, its title) change in place and the result's
        ``conflict`` says what happened.
        """
        if session.read_only:
            raise SessionFileError(
                "this session came from a newer chat-tui and is read-only; it was not saved"
            )
        before = (session.id, session.title, session.revision, session.updated)
        path = self.path_for(session.id)
        with self._locked():
            conflict = None
            if (reason := self._clash(path, session)) is not None:
                original = session.id
                session.id = self._fresh_id()
                if session.revision > 0:  # a real second copy of a conversation
                    session.title = f"{session.title or 'Untitled'} (conflict copy)"
                path = self.path_for(session.id)
                conflict = SessionConflict(original, session.id, reason)
            session.revision += 1
            if touch:
                session.updated = now()
            try:
                atomic_write(path, dumps(session).encode("utf-8"))
            except BaseException:
                # Nothing was written: the object keeps describing what is on disk.
                session.id, session.title, session.revision, session.updated = before
                raise
        return SaveResult(path, conflict)

    def _clash(self, path: Path, session: Session) -> str | None:
        """Why the file at ``path`` must not be overwritten by ``session``, or None."""
        try:
            version, revision = self._version_and_revision(path)
        except FileNotFoundError:
            return None
        except UnreadableSessionError as error:
            return f"the file there could not be read: {error.reason}"
        except OSError as error:
            return f"the file there could not be read: {error.strerror or error}"
        if version > SCHEMA_VERSION:
            return "the file there was written by a newer chat-tui"
        if session.revision == 0:
            return "another session already had this id"
        if revision > session.revision:
            return (
                f"it was saved elsewhere since (revision {revision} on disk, "
                f"{session.revision} here)"
            )
        return None

    def _version_and_revision(self, path: Path) -> tuple[int, int]:
        """The schema version and revision of a file, from its header when possible."""
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
        header = header_of(head)
        if header is not None and type(header.get("revision", 0)) is int:
            return header["schema_version"], header.get("revision", 0)
        session = self._load_path(path)
        return (SCHEMA_VERSION + 1 if session.read_only else SCHEMA_VERSION), session.revision

    def _fresh_id(self) -> str:
        while True:
            candidate = new_session_id()
            if not self.path_for(candidate).exists():
                return candidate

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the folder's lock so that checking the revision on disk and replacing the
        file happen as one step for every chat-tui process (POSIX only)."""
        _make_private_dir(self.root)
        if fcntl is None:
            yield
            return
        handle = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # also releases the lock

    def rename(self, session_id: str, title: str) -> Session:
        """Give a saved session a new title (one line; blank means untitled)."""
        session = self.load(session_id)
        session.title = " ".join(title.split())
        # A new name is not new activity: the session keeps its place in the list.
        self.save(session, touch=False)
        return session

    def delete(self, session_id: str) -> Path:
        """Move a session's file to the trash folder (never erase it); returns where it went.

        An unreadable file is refused: the store never moves what it cannot read.
        """
        source = self.path_for(session_id)
        if not source.is_file():  # checked first so that a missing folder is not created
            raise SessionFileError(f"no session {session_id!r} in {self.root}")
        with self._locked():
            self.summary(source)  # raises UnreadableSessionError for a broken file
            _make_private_dir(self.trash)
            target = self.trash / source.name
            if target.exists():
                target = self.trash / f"{source.stem}.{secrets.token_hex(3)}{SUFFIX}"
            os.rename(source, target)
            fsync_folder(self.root)
        return target

    # Reading

    def load(self, id_or_path: str | Path) -> Session:
        """A session by id or by file path; UnreadableSessionError says what is wrong."""
        return self._load_path(self._resolve(id_or_path))

    def _resolve(self, id_or_path: str | Path) -> Path:
        if isinstance(id_or_path, Path):
            return id_or_path
        if id_or_path.endswith(SUFFIX) or "/" in id_or_path or os.sep in id_or_path:
            return Path(id_or_path).expanduser()
        return self.path_for(id_or_path)

    def _load_path(self, path: Path) -> Session:
        text = self._read_text(path)
        try:
            return loads(text, session_id=path.stem)
        except UnreadableSessionError:
            raise
        except SessionFileError as error:
            raise UnreadableSessionError(path, error.message) from None

    def _read_text(self, path: Path) -> str:
        try:
            with path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size > self.max_file_bytes:
                    raise UnreadableSessionError(path, self._too_big(size))
                data = file.read(self.max_file_bytes + 1)
        except FileNotFoundError:
            raise SessionFileError(f"there is no session file {path}") from None
        except IsADirectoryError:
            raise SessionFileError(f"{path} is a folder, not a session file") from None
        except OSError as error:
            raise UnreadableSessionError(path, error.strerror or str(error)) from None
        if len(data) > self.max_file_bytes:  # it grew since fstat
            raise UnreadableSessionError(path, self._too_big(len(data)))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            bad = data[error.start : error.start + 1].hex()
            raise UnreadableSessionError(
                path, f"not UTF-8 text (byte 0x{bad} at offset {error.start})"
            ) from None

    def _too_big(self, size: int) -> str:
        return f"file is {_size(size)}, over the {_size(self.max_file_bytes)} limit"

    def _files(self) -> builtins.list[Path]:
        """The session files: ``*.toml`` in the folder, not temporary files or the trash."""
        try:
            entries = builtins.list(self.root.iterdir())
        except FileNotFoundError:
            return []
        except OSError as error:
            raise SessionFileError(
                f"cannot list the sessions folder {self.root}: {error.strerror}"
            ) from None
        return [
            path
            for path in entries
            if path.suffix == SUFFIX and not path.name.startswith(".") and path.is_file()
        ]

    def list(self) -> builtins.list[SessionSummary | UnreadableSession]:
        """Every session file: readable ones newest first, then unreadable ones with the
        reason. Reads only each file's header unless the file needs a closer look."""
        readable: builtins.list[SessionSummary] = []
        unreadable: builtins.list[UnreadableSession] = []
        for path in self._files():
            try:
                readable.append(self.summary(path))
            except UnreadableSessionError as error:
                unreadable.append(UnreadableSession(path, error.reason))
            except SessionFileError as error:  # vanished or turned into a folder meanwhile
                unreadable.append(UnreadableSession(path, error.message))
        readable.sort(key=lambda summary: (summary.updated, summary.id), reverse=True)
        unreadable.sort(key=lambda entry: entry.path.name)
        return [*readable, *unreadable]

    def summary(self, path: Path) -> SessionSummary:
        """The summary of one file. Fast path: a complete file this store wrote (its end
        marker is there) is summarised from its header alone; anything else is parsed whole,
        which also gives the exact reason when it is broken."""
        try:
            with path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size > self.max_file_bytes:
                    raise UnreadableSessionError(path, self._too_big(size))
                head = file.read(HEAD_BYTES)
                if size > HEAD_BYTES:
                    file.seek(max(size - _TAIL_BYTES, 0))
                    tail = file.read()
                else:
                    tail = head
        except FileNotFoundError:
            raise SessionFileError(f"there is no session file {path}") from None
        except OSError as error:
            raise UnreadableSessionError(path, error.strerror or str(error)) from None
        if tail.rstrip().endswith(_END_BYTES) and (header := header_of(head)) is not None:
            summary = _summary_from_header(path, header)
            if summary is not None:
                return summary
        session = self._load_path(path)
        return SessionSummary(
            id=session.id,
            path=path,
            title=session.title,
            created=session.created,
            updated=session.updated,
            model=session.model,
            message_count=len(session.all_messages()),
            preview=session.preview,
        )

    def find(self, name_or_path: str) -> Session:
        """A session by path, id, unique id prefix, or exact / unique-prefix title (ignoring
        case). SessionFileError when nothing matches or several do (they are named)."""
        name = name_or_path.strip()
        if not name:
            raise SessionFileError("no session name was given")
        if name.endswith(SUFFIX) or "/" in name or os.sep in name:
            path = Path(name).expanduser()
            if not path.exists() and (self.root / name).is_file():
                path = self.root / name
            return self._load_path(path)
        if not name.startswith(".") and (self.root / f"{name}{SUFFIX}").is_file():
            return self.load(name)
        summaries = [entry for entry in self.list() if isinstance(entry, SessionSummary)]
        wanted = name.casefold()
        for matches in (
            [s for s in summaries if s.id.startswith(name)],
            [s for s in summaries if s.title.casefold() == wanted],
            [s for s in summaries if s.title.casefold().startswith(wanted)],
        ):
            if len(matches) == 1:
                return self._load_path(matches[0].path)
            if matches:
                shown = "; ".join(f"{s.id} ({s.title or 'untitled'})" for s in matches[:10])
                more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
                raise SessionFileError(
                    f"{name!r} matches {len(matches)} sessions: {shown}{more}. "
                    "Give more of the id or title."
                )
        raise SessionFileError(f"no session matches {name!r} in {self.root}")

    def latest(self) -> Session | None:
        """The most recently updated session that can be read, or None."""
        for entry in self.list():
            if isinstance(entry, SessionSummary):
                try:
                    return self._load_path(entry.path)
                except UnreadableSessionError:
                    continue  # its header was fine but its body is not: not "readable"
        return None

    def search(self, query: str) -> builtins.list[SessionSummary]:
        """Readable sessions whose title, or any message's text or reasoning on any branch,
        contains ``query`` (ignoring case), newest first.

        A file's raw text is checked first and parsed only when the query may be in it;
        files that turn out unreadable are left out here (``list()`` reports them).
        """
        wanted = query.casefold()
        raw_check = not any(c in _ESCAPED for c in query)
        found: builtins.list[SessionSummary] = []
        for entry in self.list():
            if not isinstance(entry, SessionSummary):
                continue
            if wanted in entry.title.casefold():
                found.append(entry)
                continue
            try:
                text = self._read_text(entry.path)
                if raw_check and wanted not in text.casefold():
                    continue
                session = loads(text, session_id=entry.id)
            except SessionFileError:
                continue
            if session.find_branch(query) is not None:
                found.append(entry)
        return found


def _summary_from_header(path: Path, header: dict[str, object]) -> SessionSummary | None:
    """A summary when the header has every field with the right type, else None."""
    title, created, updated = header.get("title", ""), header.get("created"), header.get("updated")
    model, count, preview = header.get("model"), header.get("message_count"), header.get("preview")
    if not (
        isinstance(title, str)
        and isinstance(created, datetime)
        and created.tzinfo is not None
        and isinstance(updated, datetime)
        and updated.tzinfo is not None
        and (model is None or isinstance(model, str))
        and type(count) is int
        and isinstance(preview, str)
    ):
        return None
    return SessionSummary(path.stem, path, title, created, updated, model, count, preview)


def _size(count: int) -> str:
    """A byte count in words: "80 MB", "5.1 KB", "1000 bytes"."""
    if count >= 1024 * 1024:
        return f"{count / 1024 / 1024:.3g} MB"
    if count >= 1024:
        return f"{count / 1024:.3g} KB"
    return f"{count} bytes"


def _make_private_dir(folder: Path) -> None:
    """Create a folder only its owner can read (existing folders are left as they are)."""
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)  # mkdir's mode is reduced by the umask
