"""Shared fixtures: every test gets its own config folder and forgets cached command keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_tui.config import forget_command_keys


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    forget_command_keys()
    yield
    forget_command_keys()


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """Where a test's config file goes (not created)."""
    return tmp_path / "conf" / "config.toml"
