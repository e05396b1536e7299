"""The one place that decides which endpoint, model and key a command talks to.

The order follows the ecosystem's conventions, first match wins:

1. flags: ``--base-url`` (an ad-hoc provider named "custom"), then ``--model
   provider/model`` naming a known provider;
2. the environment: ``OPENAI_BASE_URL`` (again "custom"), then ``OPENAI_API_KEY`` (or a
   lone ``--api-key``) meaning the openai preset;
3. a reopened session's own provider and endpoint (when no flag names another): it is
   found again or the user is told which URL or key it needs, never quietly replaced;
4. the config: ``app.default_model``'s provider, when its key resolves or it needs none;
5. the built-in offline demo, which the caller starts (and says so). It is only for a first
   run with nothing configured: a model the user named that nothing else can serve is an
   error in words, not a canned answer from the demo.

A ``--model`` that does not start with a known provider name is a model name for whichever
provider the rest of the order picks: model names such as ``meta-llama/llama-3`` contain
slashes themselves.

An endpoint given as a URL with no model names no model (``Target.model`` is empty): the
caller asks the endpoint's ``/models`` and uses the first one (``chat_tui.discovery``), so
a made-up name is never sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from urllib.parse import urlsplit

from chat_tui.config.keys import resolve_api_key
from chat_tui.config.model import Config, ProviderConfig
from chat_tui.config.presets import PRESETS, is_loopback
from chat_tui.errors import ConfigError
from chat_tui.urls import shown_url

#: Name of the provider made from ``--base-url`` or ``OPENAI_BASE_URL``.
CUSTOM = "custom"


@dataclass(frozen=True)
class SavedTarget:
    """Where a saved session's replies came from: what reopening it should find again."""

    provider: str
    model: str
    #: The endpoint of an ad-hoc (``custom``) provider, which no config entry remembers.
    base_url: str | None = None


@dataclass(frozen=True)
class Target:
    """Where the next reply comes from: an endpoint, a model, and the key to use."""

    provider: ProviderConfig
    model: str
    api_key: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """``provider/model``, as shown to the user and accepted by ``--model``."""
        return f"{self.provider.name}/{self.model or '…'}"

    @property
    def saved(self) -> SavedTarget:
        """What a session made with this target records to find it again."""
        url = public_url(self.provider.base_url) if self.provider.name == CUSTOM else None
        return SavedTarget(self.provider.name, self.model, url)


def public_url(url: str) -> str:
    """``url`` without user:password and query, which may hold credentials: what a session
    file may keep of an endpoint."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc, query="", fragment="").geturl().rstrip("/")


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
    if provider.unusable_reason:
        raise ConfigError(f"Provider '{name}' cannot be used now: {provider.unusable_reason}.")
    return Target(provider, model, _required_key(provider, resolve_api_key(provider, env)))


def resolve_target(
    config: Config,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    saved: SavedTarget | None = None,
    env: Mapping[str, str] = os.environ,
) -> Target:
    """The endpoint, model and key to use, from flags, environment and config, in that order.

    The one function the app, ``ask`` and ``models`` all use. ``saved`` is the target of a
    session being reopened. Raises ``ConfigError`` in words when what was asked for cannot
    work: a bad base URL (saying where it came from), a provider named by ``--model``
    without its key, a key command that fails, a named model nothing configured can serve,
    a reopened session whose provider or endpoint is not configured now.
    """
    model = model.strip() if model else None
    if model and any(character.isspace() for character in model):
        raise ConfigError(f"A model name has no spaces; got {model!r}.")
    if base_url is not None:
        if not model and saved is not None and _same_url(base_url, saved.base_url or ""):
            model = saved.model  # the session's own endpoint given again: its own model too
        return _custom(config, base_url, "--base-url", model, api_key, env)

    named, model_name = split_model_ref(model, config) if model else (None, None)
    if named is not None and model_name is not None:
        provider = config.providers[named]
        key = api_key or _required_key(provider, resolve_api_key(provider, env))
        return Target(provider, model_name, key)

    if saved is not None and not model:
        return _reopen(config, saved, api_key, env)

    if env_url := _env(env, "OPENAI_BASE_URL"):
        return _custom(config, env_url, "OPENAI_BASE_URL", model, api_key, env)

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
    # The demo is the mock server, whose models take "+option" suffixes (mock-gpt+echo).
    if model and model.partition("+")[0] not in _models_of(demo):
        raise ConfigError(_nothing_serves(model, config))
    return Target(demo, model or demo.default_model or "mock-gpt", None)


def _models_of(provider: ProviderConfig) -> tuple[str, ...]:
    extra = (provider.default_model,) if provider.default_model else ()
    return (*provider.models, *extra)


def _nothing_serves(model: str, config: Config) -> str:
    known = ", ".join(name for name in config.providers if name != "demo")
    return (
        f"Nothing configured can serve the model '{model}'. Name its provider "
        f"(--model PROVIDER/{model}; providers: {known}), set OPENAI_API_KEY for OpenAI, "
        "or give the server's address with --base-url (or OPENAI_BASE_URL)."
    )


def _reopen(
    config: Config, saved: SavedTarget, api_key: str | None, env: Mapping[str, str]
) -> Target:
    """The target a reopened session was made with, found again, or why it cannot be."""
    label = f"{saved.provider}/{saved.model}"
    if saved.base_url:
        env_url = _env(env, "OPENAI_BASE_URL")
        if env_url and _same_url(env_url, saved.base_url):
            return _custom(config, env_url, "OPENAI_BASE_URL", saved.model, api_key, env)
        configured = _provider_at(config, saved.base_url)
        if configured is not None:
            key = api_key or resolve_api_key(configured, env)
            return Target(configured, saved.model, key)
        raise ConfigError(
            f"This session was made with {label} at {saved.base_url}, which is not "
            f"configured now: add --base-url {saved.base_url} (and --api-key if it needs a "
            "key), or --model to continue it with another model."
        )
    provider = config.providers.get(saved.provider)
    if provider is None:
        raise ConfigError(
            f"This session was made with {label}, and there is no provider "
            f"'{saved.provider}' now: add it to the config, or give --model to continue it "
            "with another model."
        )
    key = api_key or _required_key(provider, resolve_api_key(provider, env))
    return Target(provider, saved.model, key)


def _same_url(one: str, other: str) -> bool:
    try:
        return public_url(one) == public_url(other)
    except ValueError:
        return False


def _provider_at(config: Config, url: str) -> ProviderConfig | None:
    """A configured provider whose endpoint is ``url``: its name and settings win."""
    for provider in config.providers.values():
        if provider.base_url and _same_url(provider.base_url, url):
            return provider
    return None


def _custom(
    config: Config,
    url: str,
    source: str,
    model: str | None,
    api_key: str | None,
    env: Mapping[str, str],
) -> Target:
    """The provider for a base URL given on the command line or in the environment."""
    url = check_base_url(url, source)
    key = api_key or _env(env, "OPENAI_API_KEY")
    configured = _provider_at(config, url)
    name = configured.name if configured is not None else CUSTOM
    if model and model.startswith(f"{name}/"):
        # "custom/MODEL" as `chat-tui models` and the status bar write it.
        model = model[len(name) + 1 :]
    if configured is not None:
        # The same endpoint as a configured provider: its name, headers and key apply.
        key = key or resolve_api_key(configured, env)
        return Target(configured, model or configured.default_model or "", key)
    provider = ProviderConfig(CUSTOM, url, local=is_loopback(url))
    # The model string is taken whole: on a proxy such as OpenRouter, "openai/gpt-4o"
    # is one model name, not the openai provider. No model: the endpoint's list decides.
    return Target(provider, model or "", key)


def check_base_url(url: str, source: str) -> str:
    """``url`` trimmed, if it can be an endpoint's root; else a ConfigError that says what
    is wrong and where the URL came from (``--base-url``, ``OPENAI_BASE_URL``, a config
    line)."""
    url = url.strip()
    shape = "it must look like 'https://host/v1' (http or https)"
    if any(character.isspace() for character in url):
        raise ConfigError(f"The base URL {shown_url(url)!r} from {source} contains a space.")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as error:
        raise ConfigError(
            f"The base URL {shown_url(url)!r} from {source} is not valid: {error}."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"The base URL {shown_url(url)!r} from {source} is not valid: {shape}.")
    if port == 0:
        raise ConfigError(f"The base URL {shown_url(url)!r} from {source} has port 0.")
    return url


def _default_model_of(config: Config, provider: ProviderConfig) -> str:
    """The config's default model when it is on ``provider``, else the provider's own
    (empty: ask the endpoint)."""
    if config.app.default_model:
        named, model = split_model_ref(config.app.default_model, config)
        if named == provider.name:
            return model
    return provider.default_model or ""


def config_with_target(
    config: Config, target: Target, env: Mapping[str, str] = os.environ
) -> Config:
    """``config`` with the target's provider among its providers, so that the model picker,
    the model-cycling keys and ``chat-tui models`` offer an endpoint given by URL like any
    configured one. The key given with it stays in memory only (state.toml never holds
    a provider).

    With ``OPENAI_BASE_URL`` set, ``OPENAI_API_KEY`` is that endpoint's key: the openai
    preset stops using it, so a company gateway's key is never sent to api.openai.com."""
    providers = dict(config.providers)
    openai = providers.get("openai")
    if (
        _env(env, "OPENAI_BASE_URL")
        and openai is not None
        and openai.api_key_env == "OPENAI_API_KEY"
        and not (openai.api_key or openai.api_key_command)
    ):
        providers["openai"] = replace(
            openai,
            unusable_reason=(
                "OPENAI_API_KEY is the key of OPENAI_BASE_URL; to use OpenAI as well, give "
                "[providers.openai] a key of its own (api_key_env or api_key_command)"
            ),
        )
    if target.provider.name not in providers:
        provider = target.provider
        if target.api_key and not provider.api_key:
            provider = replace(provider, api_key=target.api_key)
        providers[provider.name] = provider
    return replace(config, providers=MappingProxyType(providers))


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
