"""Files and piped text attached to a prompt: read, checked, and folded into the message.

The model sees one message: the typed text, then each attachment as a fenced block whose
info string is the attachment's name. The fence is longer than any run of backticks in the
attached text, so a file that itself holds ``` cannot close the block early; that also
makes the blocks exact to take apart again (``split_message``) for a compact display.

Plain Python, no UI: used by ``chat-tui ask`` and by the app.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chat_tui.errors import UsageError
from chat_tui.tokens import estimate_tokens

#: The default largest attachment, in bytes (``[app] max_attachment_kb`` changes it).
DEFAULT_MAX_BYTES = 1024 * 1024
_BACKTICK_RUNS = re.compile("`+")
#: Characters that would break the fence's info string, or the line it is on.
_LABEL_UNSAFE = re.compile(r"[`\x00-\x1f\x7f]")


class AttachmentError(UsageError):
    """An attachment that cannot be sent, said in words; nothing is sent with it."""


@dataclass(frozen=True)
class Attachment:
    """A text to send along with a prompt."""

    #: How the block is labelled: the path as the user gave it, or "stdin".
    name: str
    text: str
    #: Its size as read, in bytes (what the compact line shows).
    size: int


def format_size(size: int) -> str:
    """A size as a person reads it: ``512 B``, ``4.2 KB``, ``1.3 MB`` (powers of 1024)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def read_attachment(
    path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None
) -> Attachment:
    """The text file at ``path``, checked; ``AttachmentError`` says why it cannot go.

    Refused: a missing file, a folder, an unreadable file, one larger than ``max_bytes``,
    and anything that is not UTF-8 text (a NUL byte, or bytes that do not decode). Pipes
    such as ``<(git diff)`` are read too, never more than ``max_bytes`` and one byte.
    """
    path = Path(path)
    label = name if name is not None else str(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise AttachmentError(f"{label} is a folder; only files can be attached.")
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise AttachmentError(f"{label}: no such file.") from None
    except IsADirectoryError:
        raise AttachmentError(f"{label} is a folder; only files can be attached.") from None
    except PermissionError:
        raise AttachmentError(f"{label} could not be read: permission denied.") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise AttachmentError(f"{label} could not be read: {reason}.") from None
    if len(data) > max_bytes:
        size = _size_on_disk(path, mode)
        if size is None:  # a pipe or device: only what was read is known
            over = f"holds more than the {format_size(max_bytes)} limit"
        else:
            shown, limit = sizes_apart(size, max_bytes)
            over = f"is {shown}, more than the {limit} limit"
        raise AttachmentError(
            f"{label} {over} for attached files (max_attachment_kb in the config's [app] "
            "table raises it)."
        )
    return attachment_from_bytes(label, data)


def attachment_from_bytes(name: str, data: bytes) -> Attachment:
    """Bytes already read (a file's, stdin's) as an attachment, if they are text."""
    if (nul := data.find(b"\x00")) >= 0:
        raise AttachmentError(
            f"{name} looks like a binary file (a NUL byte at offset {nul}); "
            "only text can be attached."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AttachmentError(
            f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); only text can be attached."
        ) from None
    return Attachment(name, text.removeprefix("\ufeff"), len(data))


def check_size(attachment: Attachment, max_bytes: int) -> None:
    """Refuse text that is larger than the limit (for stdin, read whole before it is known)."""
    if attachment.size > max_bytes:
        size, limit = sizes_apart(attachment.size, max_bytes)
        raise AttachmentError(
            f"{attachment.name} is {size}, more than the {limit} limit for attached text "
            "(max_attachment_kb in the config's [app] table raises it)."
        )


def check_room(
    attachments: Sequence[Attachment], room_tokens: int | None, *, whole_window: bool = False
) -> None:
    """Refuse attachments that clearly cannot fit in what is left of the context window.

    ``room_tokens`` is the room left before this prompt, or None when it is unknown (then
    nothing is refused: a guess must not stop a prompt that would have fitted). With
    ``whole_window`` it is the room a new conversation would have, so starting one is not
    offered as a way out.
    """
    if room_tokens is None or not attachments:
        return
    needed = sum(estimate_tokens(attachment.text) for attachment in attachments)
    if needed <= room_tokens:
        return
    names = ", ".join(attachment.name for attachment in attachments)
    room = _tokens(max(room_tokens, 0))
    raise AttachmentError(
        f"{names} would take about {_tokens(needed)} tokens, more than the model's whole "
        f"context window leaves a prompt (about {room}); attach less."
        if whole_window
        else f"{names} would take about {_tokens(needed)} tokens, but only about {room} are "
        "left in the model's context window; attach less, or start a new conversation."
    )


def _tokens(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)


def sizes_apart(size: int, limit: int) -> tuple[str, str]:
    """A size over a limit and the limit, as a person reads them, in bytes where the short
    forms would read the same ("1.0 MB, more than the 1.0 MB limit")."""
    shown, limit_shown = format_size(size), format_size(limit)
    if shown == limit_shown:
        return f"{size:,} bytes", f"{limit:,}-byte"
    return shown, limit_shown


def _size_on_disk(path: Path, mode: int) -> int | None:
    if stat.S_ISREG(mode):
        try:
            return path.stat().st_size
        except OSError:
            pass  # gone since it was read
    return None


def fence_for(text: str) -> str:
    """Backticks enough to fence ``text``: at least three, and one more than its longest run."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def label_for(name: str) -> str:
    """``name`` made safe as a fence's info string: one line, no backticks."""
    return _LABEL_UNSAFE.sub("_", name).strip() or "attachment"


def fenced_block(attachment: Attachment) -> str:
    """One attachment as a fenced block labelled with its name."""
    text = attachment.text
    fence = fence_for(text)
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{fence}{label_for(attachment.name)}\n{text}{fence}"


def compose_message(prompt: str, attachments: Sequence[Attachment]) -> str:
    """The message to send: the typed prompt, then each attachment's block after a blank
    line (with no prompt, the blocks alone)."""
    parts = [prompt] if prompt else []
    parts.extend(fenced_block(attachment) for attachment in attachments)
    return "\n\n".join(parts)


def split_message(content: str, count: int) -> tuple[str, list[tuple[str, str]]] | None:
    """Take ``compose_message``'s result apart: the typed text and each attachment's
    (label, text). None when ``content`` does not end with ``count`` such blocks (a file
    edited by hand): the caller then shows the content as it is.

    Exact because each fence is longer than any backtick run inside its block: searching
    back from a closing fence, the first line that starts with it is its opening line.
    """
    rest = content
    blocks: list[tuple[str, str]] = []
    for _ in range(count):
        close_start = rest.rfind("\n") + 1
        fence = rest[close_start:]
        if close_start == 0 or len(fence) < 3 or fence.strip("`"):
            return None
        body_end = close_start - 1
        found = rest.rfind("\n" + fence, 0, body_end)
        open_start = found + 1 if found >= 0 else 0
        if not rest.startswith(fence, open_start):
            return None
        label_end = rest.find("\n", open_start)
        label = rest[open_start + len(fence) : label_end]
        if label.startswith("`"):
            return None
        blocks.append((label, rest[label_end + 1 : body_end]))
        rest = rest[:open_start]
        if rest:
            if not rest.endswith("\n\n"):
                return None
            rest = rest[:-2]
    blocks.reverse()
    return rest, blocks


def typed_text(content: str, count: int) -> str:
    """The part of a sent message the user typed (all of it when it has no attachments)."""
    parsed = split_message(content, count) if count else None
    return parsed[0] if parsed is not None else content


#: Folders a file picker does not go into: they hold thousands of files nobody attaches.
SKIPPED_FOLDERS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache",
     ".pytest_cache", ".ruff_cache", "dist", "build", "target"}
)  # fmt: skip


def list_files(root: Path, *, limit: int = 5000) -> tuple[list[str], bool]:
    """Files under ``root`` as relative paths with "/" (shallow ones first, then by name),
    leaving out hidden and bulky folders; and whether the list stopped at ``limit``, so
    that a home folder is listed in a moment rather than walked whole."""
    found: list[str] = []
    folders = [Path()]
    while folders:
        next_level: list[Path] = []
        for folder in folders:
            try:
                entries = sorted(os.scandir(root / folder), key=lambda entry: entry.name)
            except OSError:
                continue  # unreadable folders are simply not offered
            for entry in entries:
                relative = folder / entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in SKIPPED_FOLDERS and not entry.name.startswith("."):
                            next_level.append(relative)
                        continue
                    if not entry.is_file():
                        continue
                except OSError:
                    continue
                found.append(relative.as_posix())
                if len(found) >= limit:
                    return found, True
        folders = next_level
    return found, False


#: What may not come just before the @ of a mention: ``me@example.com`` is no mention.
MENTION_START = r"(?<![\w.@/\\-])@"
#: ``@path`` at the start of a word or after a bracket, up to a space or a quote.
_MENTION = re.compile(MENTION_START + r"([^\s`'\"]+)")


def mentioned_paths(text: str, root: Path) -> list[str]:
    """The ``@path`` words of a prompt that name a file (relative to ``root``, or absolute),
    each once, in order. Trailing punctuation is not part of the path ("see @notes.md.").
    Words naming nothing are ordinary text: ``@channel`` stays just a word."""
    found: list[str] = []
    for match in _MENTION.finditer(text):
        path = match.group(1).rstrip(".,;:!?)]}")
        if path and path not in found and (root / Path(path).expanduser()).is_file():
            found.append(path)
    return found


def complete_path(partial: str, root: Path) -> tuple[str, list[str]]:
    """Complete ``partial`` (a path relative to ``root``, or absolute) as a shell does: the
    longest completion all matches share, and the matches (folders end with "/"). Hidden
    entries are offered only once the partial name starts with a dot."""
    folder_part, _, name_part = partial.rpartition("/")
    folder = root / Path(folder_part).expanduser() if folder_part else root
    if partial.startswith("/") and not folder_part:
        folder = Path("/")
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return partial, []
    prefix = f"{folder_part}/" if folder_part or partial.startswith("/") else ""
    matches: list[str] = []
    for entry in entries:
        if not entry.name.startswith(name_part):
            continue
        if entry.name.startswith(".") and not name_part.startswith("."):
            continue
        try:
            is_folder = entry.is_dir()
        except OSError:
            continue
        matches.append(prefix + entry.name + ("/" if is_folder else ""))
    if not matches:
        return partial, []
    # Character by character, as a shell completes: "note" + "notebook/" share "note".
    common = matches[0]
    for match in matches[1:]:
        while not match.startswith(common):
            common = common[:-1]
    return common, matches
