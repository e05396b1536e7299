"""What chat-tui writes: its remembered choices in ``state.toml``, and a starting config.

The user's config file is never rewritten by the app: the choices the app makes itself
(last model, theme, favourites, recent models) live in ``state.toml`` beside it and
``load()`` lays them over the file's ``[app]`` values. Every entry and comment the user
wrote stays exactly as written.

A damaged ``state.toml`` (not TOML, not UTF-8, absurdly large) is left exactly as it is:
``load()`` reports it as a problem and ignores it, and ``save_state()`` refuses with a
``ConfigError`` saying how to recover, rather than overwrite something a person may have
edited by hand. The app keeps its choices for the session and can show that error.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w

from chat_tui import files, paths
from chat_tui.errors import ConfigError
from chat_tui.files import make_private_dirs

#: Settings the app writes itself; every other setting belongs to the user's file.
STATE_KEYS = ("default_model", "theme", "favourites", "recent")
#: How many recently used models are remembered.
RECENT_LIMIT = 10
#: A state file is a few lines; anything this big was not written by chat-tui.
MAX_STATE_BYTES = 256 * 1024

STARTER = """\
# chat-tui configuration (TOML). Every setting is optional: delete what you do not need.
# Mistakes are reported with their line when chat-tui starts; the rest is still used.
#
# chat-tui remembers the model, theme and favourites you pick in the app in state.toml,
# beside this file. Those choices win over the same settings here; delete state.toml to
# go back to what this file says.

[app]
# The model to start on, as "provider/model".
# default_model = "openai/gpt-4o-mini"
# theme = "nord"
# favourites = ["openai/gpt-4o-mini", "ollama/llama3.2"]
# system_prompt = "You are a concise assistant."
# temperature = 0.7          # 0 to 2
# max_tokens = 2048
# max_attachment_kb = 1024   # the largest file (or piped text) to attach to a prompt
# sessions_dir = "~/chat-sessions"

# Built-in providers, usable with no entry here:
#   openai, openrouter, groq, deepseek   keys from OPENAI_API_KEY, OPENROUTER_API_KEY,
#                                        GROQ_API_KEY, DEEPSEEK_API_KEY
#   ollama, lmstudio, llamacpp, vllm     local servers on 127.0.0.1, no key needed
#   demo                                 the offline demo, used when nothing else is set
# An entry with a built-in name changes only the fields it sets.
#
# [providers.openai]
# api_key_env = "OPENAI_API_KEY"

# Your own OpenAI-compatible server (base_url is required for a new name):
#
# [providers.work]
# base_url = "https://llm.example.com/api/v1"      # path prefixes are kept
# api_key_command = ["pass", "show", "work/llm"]   # argv, run WITHOUT a shell: prints the key
# api_key_env = "WORK_LLM_KEY"                      # or: a variable holding the key
# api_key = "sk-..."                                # or: the key itself (chmod 600 this file!)
# default_model = "big-model"
# models = ["big-model", "small-model"]             # offered even when /models is unreachable
# headers = { "X-Team" = "chat" }
# stream_options = false       # for servers that reject "stream_options"
# connect_timeout = 10         # seconds to connect
# read_timeout = 300           # seconds with no bytes at all before giving up
# ca_bundle = "~/corp-ca.pem"  # extra CA certificates for a TLS-inspecting proxy
# local = true                 # a server that needs no key
"""


class CorruptStateError(ConfigError):
    """``state.toml`` exists but cannot be used; it is left untouched."""

    def __init__(self, file: Path, reason: str, line: int | None = None) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
        self.line = line


def state_path(config_path: Path | None = None) -> Path:
    """Where the app's own state lives: beside ``config_path``, or in the config folder.

    Given a ``state.toml`` itself, this returns it unchanged.
    """
    if config_path is None:
        return paths.config_dir() / "state.toml"
    return config_path.with_name("state.toml")


def read_state_file(file: Path) -> dict[str, Any]:
    """The contents of the state file ``file``; empty when there is none.

    Raises ``CorruptStateError`` when the file is there but unusable.
    """
    try:
        if file.stat().st_size > MAX_STATE_BYTES:
            raise CorruptStateError(file, _damaged("is far too large for a state file"))
        text = file.read_bytes().decode("utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise CorruptStateError(file, _damaged("is not UTF-8 text")) from None
    except tomllib.TOMLDecodeError as error:
        reason, _, where = str(error).partition(" (at line ")
        line = int(where.split(",")[0]) if where else None
        raise CorruptStateError(file, _damaged(f"is not valid TOML ({reason})"), line) from None
    except RecursionError:
        raise CorruptStateError(file, _damaged("is nested too deeply to read")) from None
    except IsADirectoryError:
        raise CorruptStateError(file, _damaged("is a folder, not a file")) from None
    except OSError as error:
        raise CorruptStateError(file, f"could not be read: {error.strerror}") from None


def _damaged(what: str) -> str:
    return (
        f"{what}; it was ignored and left as it is. "
        "Delete it to let chat-tui remember your choices again"
    )


def load_state(path: Path | None = None) -> dict[str, Any]:
    """The app's remembered state for the config at ``path`` (``None``: the default).

    Raises ``CorruptStateError`` (a ``ConfigError``) when the state file is damaged.
    """
    return read_state_file(state_path(path))


def save_state(path: Path | None = None, **changes: str | Sequence[str] | None) -> Path:
    """Merge ``changes`` into the state for the config at ``path``; returns the state file.

    Keys are those of ``STATE_KEYS``; ``None`` forgets a key. The write is atomic (a
    private temporary file, fsync, rename), so a crash leaves the old state or the new.
    A damaged state file is not overwritten: ``CorruptStateError`` says so.
    """
    file = state_path(path)
    state = read_state_file(file)
    for key, value in changes.items():
        if key not in STATE_KEYS:
            raise ValueError(f"{key!r} is not app state; expected one of {STATE_KEYS}")
        if value is None:
            state.pop(key, None)
        elif key in ("default_model", "theme"):
            if not isinstance(value, str):
                raise TypeError(f"{key} must be a string, not {type(value).__name__}")
            state[key] = value
        else:
            if isinstance(value, str) or not all(isinstance(item, str) for item in value):
                raise TypeError(f"{key} must be a sequence of strings")
            state[key] = list(value)
    atomic_write(file, tomli_w.dumps(state).encode("utf-8"))
    return file


def remember_model(path: Path | None, ref: str, *, limit: int = RECENT_LIMIT) -> Path:
    """Record ``ref`` ("provider/model") as the model to start on and the most recent one."""
    state = load_state(path)
    recent = [r for r in state.get("recent", []) if isinstance(r, str) and r != ref]
    return save_state(path, default_model=ref, recent=[ref, *recent][:limit])


def atomic_write(file: Path, data: bytes) -> None:
    """Replace ``file`` with ``data`` all at once, readable by the owner only (0600).

    Raises ``ConfigError`` naming the file when it cannot be written.
    """
    try:
        make_private_dirs(file.parent)
        files.atomic_write(file, data)
    except OSError as error:
        raise ConfigError(f"Could not write {file}: {error.strerror or error}") from error


def init_config(path: Path | None = None) -> Path:
    """Write the documented starting config (0600, folders 0700); returns its path.

    Never replaces anything: raises ``ConfigError`` when the file already exists.
    """
    file = path if path is not None else paths.config_file()
    exists = f"{file} already exists; edit it, or move it away first."
    if os.path.lexists(file):
        raise ConfigError(exists)
    try:
        make_private_dirs(file.parent)
        # O_EXCL: a file that appeared since the check above is still not overwritten.
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(STARTER.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
    except FileExistsError:
        raise ConfigError(exists) from None
    except OSError as error:
        raise ConfigError(f"Could not write {file}: {error.strerror or error}") from error
    return file
