"""Find a provider's API key: a literal, an environment variable, or a command's output."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping

from chat_tui.config.model import ProviderConfig
from chat_tui.errors import ConfigError

#: Seconds a key command may take (a password manager may ask for a passphrase).
KEY_COMMAND_TIMEOUT = 10.0

# Keys printed by commands, by argv: a password manager should prompt once per run, not
# once for the model list and again for the first request. Only successes are kept.
_command_keys: dict[tuple[str, ...], str] = {}
_command_lock = threading.Lock()


def resolve_api_key(provider: ProviderConfig, env: Mapping[str, str] = os.environ) -> str | None:
    """The key for ``provider``, or None when it has none (fine for local servers).

    Tried in order: the literal ``api_key``, the variable ``api_key_env`` in ``env``, the
    command ``api_key_command``. A failing command raises ``ConfigError`` naming the
    provider and the first line of the command's complaint, never anything it printed on
    stdout (which is where a key would be).
    """
    if provider.api_key:
        return provider.api_key
    if provider.api_key_env and (value := env.get(provider.api_key_env, "").strip()):
        return value
    if provider.api_key_command:
        return _run_key_command(provider.name, provider.api_key_command)
    return None


def forget_command_keys() -> None:
    """Drop the keys remembered from key commands, so the next use runs them again."""
    with _command_lock:
        _command_keys.clear()


def _run_key_command(name: str, argv: tuple[str, ...]) -> str:
    with _command_lock:
        if (key := _command_keys.get(argv)) is not None:
            return key
    what = f"The API key command of provider '{name}' ({argv[0]})"
    try:
        completed = subprocess.run(
            argv,
            capture_output=True,
            # The command must not read the terminal the TUI owns; pinentry uses its own.
            stdin=subprocess.DEVNULL,
            timeout=KEY_COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"{what} was not found.") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{what} took more than {KEY_COMMAND_TIMEOUT:g} s.") from None
    except OSError as error:
        raise ConfigError(f"{what} could not run: {error.strerror}.") from None
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[0][:200] if lines else "it gave no reason on stderr"
        raise ConfigError(f"{what} failed with exit status {completed.returncode}: {reason}")
    key = completed.stdout.decode("utf-8", "replace").strip()
    if not key:
        raise ConfigError(f"{what} printed nothing.")
    if "\n" in key:
        # `pass` prints the password on the first line and metadata after it.
        key = key.splitlines()[0].strip()
    with _command_lock:
        _command_keys[argv] = key
    return key
