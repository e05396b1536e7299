"""The configuration as frozen dataclasses: what the rest of the program reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


def _no_headers() -> Mapping[str, str]:
    return MappingProxyType({})


def _no_providers() -> Mapping[str, ProviderConfig]:
    return MappingProxyType({})


def _no_model_settings() -> Mapping[str, ModelSettings]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ModelSettings:
    """What the config says about one model (or, on a provider, about all its models):
    the context window in tokens and prices in US dollars per million tokens. None: not
    said, so the server's figures (or nothing) are used."""

    context: int | None = None
    price_in: float | None = None
    price_out: float | None = None


@dataclass(frozen=True)
class ProviderConfig:
    """One OpenAI-compatible endpoint and how to authenticate with it."""

    name: str
    #: Root of the API, e.g. ``https://api.openai.com/v1``; may carry a path prefix and a
    #: trailing ``/``. Empty for the demo, whose loopback server is started at run time.
    base_url: str
    #: Name of an environment variable holding the key.
    api_key_env: str | None = None
    #: argv run without a shell (password managers); its stripped stdout is the key.
    api_key_command: tuple[str, ...] | None = None
    #: A literal key written in the config file (``repr=False`` keeps it out of logs).
    api_key: str | None = field(default=None, repr=False)
    default_model: str | None = None
    #: Extra models named in the config, offered even when ``/models`` is unreachable.
    models: tuple[str, ...] = ()
    #: Extra HTTP headers for every request (read-only mapping, so the config stays frozen).
    headers: Mapping[str, str] = field(default_factory=_no_headers)
    #: Some servers reject ``stream_options``; ``stream_options = false`` in the file.
    send_stream_options: bool = True
    connect_timeout: float = 10.0
    #: Seconds with no bytes at all before a reply is given up on. Generous, so that a
    #: reasoning model that thinks for a minute before its first token is not cut off.
    read_timeout: float = 120.0
    #: A CA bundle (PEM file) to trust for this provider, for corporate TLS proxies.
    ca_bundle: Path | None = None
    #: A loopback server that needs no key (ollama, lmstudio, llamacpp, vllm).
    local: bool = False
    #: The built-in offline demo: the in-process mock server, started by the caller.
    demo: bool = False
    #: Why this provider must not be used now (it is then never contacted), in words.
    unusable_reason: str = ""
    #: Defaults for every model of the provider (``context``, ``price_in``, ``price_out``).
    model_defaults: ModelSettings = field(default_factory=ModelSettings)
    #: ``[providers.NAME.models.MODEL]`` tables, by model name.
    model_settings: Mapping[str, ModelSettings] = field(default_factory=_no_model_settings)

    def __hash__(self) -> int:
        # The headers mapping is not hashable; equal providers always share these two.
        return hash((self.name, self.base_url))

    @property
    def needs_key(self) -> bool:
        """Whether requests without a key are bound to fail.

        Local servers and the demo need none, and neither does a provider that names no
        way to get one (a server on a private network without authentication).
        """
        if self.local or self.demo:
            return False
        return bool(self.api_key or self.api_key_env or self.api_key_command)


@dataclass(frozen=True)
class AppSettings:
    """The ``[app]`` table, with the app's own remembered state laid over it."""

    #: The model to start on, as ``provider/model``.
    default_model: str | None = None
    theme: str | None = None
    favourites: tuple[str, ...] = ()
    #: Models used lately, newest first, as ``provider/model`` (kept by the app).
    recent: tuple[str, ...] = ()
    sessions_dir: Path | None = None
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    #: The largest file or piped text that can be attached to a prompt, in KiB.
    max_attachment_kb: int = 1024


@dataclass(frozen=True)
class Config:
    """Everything the program was configured with."""

    app: AppSettings = field(default_factory=AppSettings)
    #: The built-in presets merged with the user's entries (the user wins, field by field).
    providers: Mapping[str, ProviderConfig] = field(default_factory=_no_providers)
    #: The path ``load()`` was given (``None``: the default file). Pass it on to
    #: ``save_state()`` so that the app's choices land where ``load()`` looks for them.
    path: Path | None = None


@dataclass(frozen=True)
class Problem:
    """Something wrong in a config file, said so that a person can find and fix it."""

    file: Path
    line: int | None
    #: Dotted key the problem is about, e.g. ``providers.openai.read_timeout``.
    key: str | None
    message: str

    def __str__(self) -> str:
        place = f"{self.file.name}:{self.line}" if self.line else self.file.name
        key = f" {self.key}:" if self.key else ""
        return f"{place}:{key} {self.message}"
