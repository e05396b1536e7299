"""Find a provider's API key: a literal, an environment variable, or a command's output."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from chat_tui.config.model import ProviderConfig
from chat_tui.errors import ConfigError

KEY_COMMAND_TIMEOUT = 10.0


def resolve_api_key(provider: ProviderConfig, env: Mapping[str, str] | None = None) -> str | None:
    """The key for ``provider``, or None when it has none (fine for local servers).

    A key command runs without a shell (so a password manager's argv is passed as is);
    when it fails, the error names the provider and the command's complaint, never a key.
    """
    env = os.environ if env is None else env
    if provider.api_key:
        return provider.api_key
    if provider.api_key_env and env.get(provider.api_key_env):
        return env[provider.api_key_env]
    if provider.api_key_command:
        return _run_key_command(provider)
    return None


def _run_key_command(provider: ProviderConfig) -> str:
    argv = list(provider.api_key_command or ())
    try:
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=KEY_COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise ConfigError(
            f"The key command of provider '{provider.name}' was not found: {argv[0]}"
        ) from None
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"The key command of provider '{provider.name}' took more than "
            f"{KEY_COMMAND_TIMEOUT:g} s."
        ) from None
    except OSError as error:
        raise ConfigError(
            f"The key command of provider '{provider.name}' could not run: {error.strerror}"
        ) from None
    key = completed.stdout.strip()
    if completed.returncode != 0 or not key:
        reason = (completed.stderr.strip().splitlines() or ["it printed no key"])[0][:200]
        raise ConfigError(
            f"The key command of provider '{provider.name}' failed "
            f"(exit {completed.returncode}): {reason}"
        )
    return key
