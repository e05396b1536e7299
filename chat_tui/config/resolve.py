"""The one place that decides which endpoint, model and key a command uses.

The order follows the ecosystem: flags, then ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``, then
the config file, and with none of them the built-in offline demo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from chat_tui.config.keys import resolve_api_key
from chat_tui.config.model import Config, ProviderConfig
from chat_tui.config.presets import PRESETS
from chat_tui.errors import ConfigError


@dataclass(frozen=True)
class Target:
    """Where the next reply comes from."""

    provider: ProviderConfig
    model: str
    api_key: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.provider.name}/{self.model}"


def split_model_ref(ref: str, config: Config) -> tuple[str | None, str]:
    """``provider/model`` into its parts, when the part before the slash is a provider.

    Model names contain slashes themselves (``meta-llama/llama-3``), so an unknown prefix
    means the whole string is a model name.
    """
    provider, slash, model = ref.partition("/")
    if slash and provider in config.providers and model:
        return provider, model
    return None, ref


def target_for(config: Config, ref: str, env: Mapping[str, str] | None = None) -> Target:
    """The target for a ``provider/model`` reference (the model picker's choice)."""
    name, model = split_model_ref(ref, config)
    if name is None:
        raise ConfigError(f"Unknown provider in {ref!r}.")
    provider = config.providers[name]
    return Target(provider, model, resolve_api_key(provider, env))


def resolve_target(
    config: Config,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Target:
    env = os.environ if env is None else env
    provider_name, model_name = split_model_ref(model, config) if model else (None, None)

    if base_url or (not provider_name and env.get("OPENAI_BASE_URL")):
        url = base_url or env["OPENAI_BASE_URL"]
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"The base URL must start with http:// or https://, got {url!r}.")
        custom = ProviderConfig("custom", url, default_model=model_name)
        key = api_key or env.get("OPENAI_API_KEY")
        return Target(custom, model_name or "default", key)

    if provider_name:
        provider = config.providers[provider_name]
        key = api_key or resolve_api_key(provider, env)
        return Target(provider, model_name or provider.default_model or "default", key)

    if env.get("OPENAI_API_KEY") or api_key:
        openai = config.providers.get("openai", PRESETS["openai"])
        key = api_key or env["OPENAI_API_KEY"]
        return Target(openai, model_name or openai.default_model or "gpt-4o-mini", key)

    if config.app.default_model:
        name, default_model = split_model_ref(config.app.default_model, config)
        if name is not None:
            provider = config.providers[name]
            key = resolve_api_key(provider, env)
            if key or provider.local or provider.demo:
                return Target(provider, model_name or default_model, key)

    demo = config.providers.get("demo", PRESETS["demo"])
    return Target(demo, model_name or demo.default_model or "mock-gpt", None)
