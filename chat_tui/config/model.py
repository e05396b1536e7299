"""The configuration as frozen dataclasses: what the rest of the program reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


def _empty_headers() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ProviderConfig:
    """One OpenAI-compatible endpoint and how to authenticate with it."""

    name: str
    base_url: str
    api_key_env: str | None = None
    api_key_command: tuple[str, ...] | None = None
    api_key: str | None = field(default=None, repr=False)
    default_model: str | None = None
    models: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=_empty_headers)
    send_stream_options: bool = True
    connect_timeout: float = 10.0
    #: Seconds with no bytes at all before a reply is given up on. Generous, so that a
    #: reasoning model that thinks for a minute before its first token is not cut off.
    read_timeout: float = 180.0
    local: bool = False
    demo: bool = False

    def __hash__(self) -> int:
        return hash((self.name, self.base_url))


@dataclass(frozen=True)
class AppSettings:
    """The ``[app]`` table, with the app's own remembered state laid over it."""

    default_model: str | None = None
    theme: str | None = None
    favourites: tuple[str, ...] = ()
    recent: tuple[str, ...] = ()
    sessions_dir: Path | None = None
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class Config:
    app: AppSettings = field(default_factory=AppSettings)
    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    path: Path | None = None


@dataclass(frozen=True)
class Problem:
    """Something wrong in a config file, said so a person can find and fix it."""

    file: Path
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        place = f"{self.file.name}:{self.line}" if self.line else self.file.name
        key = f" {self.key}:" if self.key else ""
        return f"{place}:{key} {self.message}"
