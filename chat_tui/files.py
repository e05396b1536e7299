"""Writing files safely: private to the user, and atomic, so a crash never leaves half a file.

Shared by the session store and the config's state file; plain Python, no UI.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each readable by the owner only (0700)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for each in reversed(missing):
        # Path.mkdir(parents=True) would give the parents the umask's mode, not 0700.
        each.mkdir(mode=0o700, exist_ok=True)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash at any moment leaves either the old
    file or the new one: write a private (0600) temporary file in the same folder, fsync it,
    rename it over the target, fsync the folder. Temporary names start with a dot."""
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (not possible, nor needed, on Windows)."""
    if os.name == "nt":
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
