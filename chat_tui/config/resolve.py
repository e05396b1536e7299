"""The one place that decides which endpoint, model and key a command talks to.

The order follows the ecosystem's conventions, first match wins:

1. flags: ``--base-url`` (an ad-hoc provider named "custom"), then ``--model
   provider/model`` naming a known provider;
2. the environment: ``OPENAI_BASE_URL`` (again "custom"), then ``OPENAI_API_KEY`` (or a
   lone ``--api-key``) meaning the openai preset;
3. the config: ``app.default_model``'s provider, when its key resolves or it needs none;
4. the built-in offline demo, which the caller starts (and says so).

A ``--model`` that does not start with a known provider name is a model name for whichever
provider the rest of the order picks: model names such as ``meta-llama/llama-3`` contain
slashes themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from chat_tui.config.keys import resolve_api_key
from chat_tui.config.model import Config, ProviderConfig
from chat_tui.config.presets import PRESETS, is_loopback
from chat_tui.errors import ConfigError

#: Name of the provider made from ``--base-url`` or ``OPENAI_BASE_URL``.
CUSTOM = "custom"
#: Model asked of a custom endpoint when none is named: single-model servers (llama.cpp,
#: LM Studio) answer with whatever they have loaded.
CUSTOM_DEFAULT_MODEL = "default"


@dataclass(frozen=True)
class Target:
    """Where the next reply comes from: an endpoint, a model, and the key to use."""

    provider: ProviderConfig
    model: str
    api_key: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """``provider/model``, as shown to the user and accepted by ``--model``."""
        return f"{self.provider.name}/{self.model}"


def split_model_ref(ref: str, config: Config) -> tuple[str | None, str]:
    """``provider/model`` as its two parts, when the part before the slash is a provider.

    Otherwise ``(None, ref)``: the whole string is a model name.
    """
    provider, slash, model = ref.partition("/")
    if slash and model and provider in config.providers:
        return provider, model
    return None, ref


def target_for(config: Config, ref: str, env: Mapping[str, str] = os.environ) -> Target:
    """The target for a ``provider/model`` choice (the model picker's).

    Raises ``ConfigError`` for an unknown provider or a missing key.
    """
    name, model = split_model_ref(ref, config)
    if name is None:
        known = ", ".join(config.providers)
        raise ConfigError(f"'{ref}' does not start with a known provider ({known}).")
    provider = config.providers[name]
    return Target(provider, model, _required_key(provider, resolve_api_key(provider, env)))


def resolve_target(
    config: Config,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> Target:
    """The endpoint, model and key to use, from flags, environment and config, in that order.

    Raises ``ConfigError`` when what was asked for explicitly cannot work: a bad base URL,
    a provider named by ``--model`` without its key, a key command that fails.
    """
    if base_url:
        return _custom(base_url, model, api_key or _env(env, "OPENAI_API_KEY"))

    named, model_name = split_model_ref(model, config) if model else (None, None)
    if named is not None and model_name is not None:
        provider = config.providers[named]
        key = api_key or _required_key(provider, resolve_api_key(provider, env))
        return Target(provider, model_name, key)

    if env_url := _env(env, "OPENAI_BASE_URL"):
        return _custom(env_url, model, api_key or _env(env, "OPENAI_API_KEY"))

    if key := api_key or _env(env, "OPENAI_API_KEY"):
        openai = config.providers.get("openai", PRESETS["openai"])
        return Target(openai, model or _default_model_of(config, openai), key)

    if config.app.default_model:
        named, default = split_model_ref(config.app.default_model, config)
        if named is not None:
            provider = config.providers[named]
            key = resolve_api_key(provider, env)  # a failing key command is worth hearing
            if key or not provider.needs_key:
                return Target(provider, model or default, key)

    demo = config.providers.get("demo", PRESETS["demo"])
    return Target(demo, model or demo.default_model or "mock-gpt", None)


def _custom(url: str, model: str | None, key: str | None) -> Target:
    """An ad-hoc provider for a base URL given on the command line or in the environment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"The base URL must look like 'https://host/v1' (http or https), got {url!r}."
        )
    provider = ProviderConfig(CUSTOM, url, local=is_loopback(url))
    # The model string is taken whole: on a proxy such as OpenRouter, "openai/gpt-4o"
    # is one model name, not the openai provider.
    return Target(provider, model or CUSTOM_DEFAULT_MODEL, key)


def _default_model_of(config: Config, provider: ProviderConfig) -> str:
    """The config's default model when it is on ``provider``, else the provider's own."""
    if config.app.default_model:
        named, model = split_model_ref(config.app.default_model, config)
        if named == provider.name:
            return model
    return provider.default_model or CUSTOM_DEFAULT_MODEL


def _required_key(provider: ProviderConfig, key: str | None) -> str | None:
    """``key``, or a clear error when the provider was asked for by name and has none."""
    if key or not provider.needs_key:
        return key
    if provider.api_key_env:
        how = f"set {provider.api_key_env}"
    else:
        how = f"add api_key_env or api_key_command to [providers.{provider.name}]"
    raise ConfigError(f"No API key for provider '{provider.name}': {how}, or pass --api-key.")


def _env(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value, with an empty or blank one counting as unset (as in shells)."""
    value = env.get(name, "").strip()
    return value or None
