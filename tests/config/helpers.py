"""Helpers for the config tests."""

from __future__ import annotations

from pathlib import Path


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    """Write ``text`` as a config file with ``mode`` (0600 unless a test says otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path
