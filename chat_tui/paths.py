"""Where chat-tui keeps its files. Pure functions: callers create what they write.

Each location can be moved with an environment variable, so tests and portable set-ups can
isolate themselves from the user's real files.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "chat-tui"


def config_dir() -> Path:
    """Folder of the config file (``CHAT_TUI_CONFIG_DIR`` overrides)."""
    if override := os.environ.get("CHAT_TUI_CONFIG_DIR"):
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    """The config file (``CHAT_TUI_CONFIG`` overrides the whole path)."""
    if override := os.environ.get("CHAT_TUI_CONFIG"):
        return Path(override)
    return config_dir() / "config.toml"


def data_dir() -> Path:
    """Folder for data the app owns (``CHAT_TUI_DATA_DIR`` overrides)."""
    if override := os.environ.get("CHAT_TUI_DATA_DIR"):
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def sessions_dir() -> Path:
    """Default folder of saved sessions (``CHAT_TUI_SESSIONS_DIR`` overrides)."""
    if override := os.environ.get("CHAT_TUI_SESSIONS_DIR"):
        return Path(override)
    return data_dir() / "sessions"


def cache_dir() -> Path:
    """Folder for caches that can be thrown away (``CHAT_TUI_CACHE_DIR`` overrides)."""
    if override := os.environ.get("CHAT_TUI_CACHE_DIR"):
        return Path(override)
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME, appauthor=False)
