"""What the app writes: its remembered choices in ``state.toml``, and a starting config.

The user's own config file is never rewritten: the app's choices (last model, theme,
favourites, recent models) live in ``state.toml`` beside it and are laid over the file's
``[app]`` values when loading. That keeps every entry and every comment the user wrote.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from chat_tui.config.model import Problem
from chat_tui.errors import ConfigError

MAX_STATE_BYTES = 256 * 1024

STARTER = """\
# chat-tui configuration. Every setting is optional; delete what you do not need.

[app]
# The model to start on, as "provider/model".
# default_model = "openai/gpt-4o-mini"
# theme = "nord"
# favourites = ["openai/gpt-4o-mini", "ollama/llama3.2"]
# system_prompt = "You are a concise assistant."
# temperature = 0.7
# max_tokens = 2048
# sessions_dir = "~/chat-sessions"

# Built-in providers: openai, openrouter, groq, deepseek (they read OPENAI_API_KEY,
# OPENROUTER_API_KEY, GROQ_API_KEY, DEEPSEEK_API_KEY), and the local servers ollama,
# lmstudio, llamacpp and vllm. Override any field of them here, or add your own.

# [providers.openai]
# api_key_env = "OPENAI_API_KEY"

# [providers.work]
# base_url = "https://llm.example.com/api/v1"
# api_key_command = ["pass", "show", "work/llm"]   # run without a shell
# default_model = "big-model"
# models = ["big-model", "small-model"]
# headers = { "X-Team" = "chat" }
# stream_options = false      # for servers that reject "stream_options"
# connect_timeout = 10
# read_timeout = 300          # seconds with no bytes before giving up
"""


def state_path(config_path: Path) -> Path:
    return config_path.with_name("state.toml")


def load_state(path: Path) -> tuple[dict[str, Any], Problem | None]:
    """The remembered state, and a problem if the file is there but unusable."""
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            return {}, Problem(path, None, None, "state file is too large; it was ignored")
        return tomllib.loads(path.read_text("utf-8")), None
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as error:
        return {}, Problem(path, None, None, f"state file is unreadable ({error}); ignored")


def save_state(path: Path, **changes: Any) -> None:
    """Merge ``changes`` into the state file, atomically.

    A corrupt state file is left where it is, renamed aside, rather than overwritten, so
    nothing a person might want to look at is lost.
    """
    state, problem = load_state(path)
    if problem is not None and path.exists():
        os.replace(path, path.with_suffix(".toml.corrupt"))
        state = {}
    state.update({key: value for key, value in changes.items() if value is not None})
    atomic_write(path, tomli_w.dumps(state).encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a private temporary file in the same folder, fsync, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def init_config(path: Path) -> Path:
    """Write the documented starting config; never over an existing file."""
    if path.exists():
        raise ConfigError(f"{path} already exists; edit it, or move it away first.")
    atomic_write(path, STARTER.encode())
    return path
