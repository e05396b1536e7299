"""Every model of every provider, for the model picker and ``chat-tui models``.

Each provider's ``/models`` is fetched concurrently, each within a time limit, so one dead
provider does not hold up the others. A provider that cannot be used (no key, server down)
is listed as unavailable with the reason in words, and its known models are listed as
unavailable too: shown, so the user sees why, but never offered as if they worked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace

from chat_tui.client import ChatClient
from chat_tui.config import Config, ProviderConfig, resolve_api_key
from chat_tui.errors import ChatTuiError


@dataclass(frozen=True)
class ModelEntry:
    """One model the user can switch to, or one they cannot use now (and why)."""

    provider: str
    model: str
    favourite: bool = False
    recent: bool = False
    available: bool = True
    #: Why the model cannot be used now (its provider's reason), when it cannot.
    reason: str = ""

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class ProviderStatus:
    """Whether a provider could list its models, and why not."""

    provider: str
    available: bool
    reason: str = ""


@dataclass(frozen=True)
class Catalog:
    entries: tuple[ModelEntry, ...]
    providers: tuple[ProviderStatus, ...]

    @property
    def available(self) -> tuple[ModelEntry, ...]:
        return tuple(entry for entry in self.entries if entry.available)


async def fetch_catalog(
    config: Config,
    *,
    timeout: float = 3.0,
    include: Iterable[str] | None = None,
) -> Catalog:
    """Models of every provider: those that can be used first, then the others with why."""
    names = list(include) if include is not None else list(config.providers)
    results = await asyncio.gather(
        *(_bounded(config.providers[name], timeout) for name in names)
    )
    entries: list[ModelEntry] = []
    statuses: list[ProviderStatus] = []
    for name, (models, status) in zip(names, results, strict=True):
        statuses.append(status)
        entries.extend(
            ModelEntry(name, model, available=status.available, reason=status.reason)
            for model in models
        )
    catalog = Catalog(tuple(entries), tuple(statuses))
    return with_marks(catalog, config.app.favourites, config.app.recent)


def with_marks(catalog: Catalog, favourites: Iterable[str], recent: Iterable[str]) -> Catalog:
    """The catalog with favourites and recent models marked and on top (after the usable
    ones): a cached catalog is re-marked as the user changes favourites."""
    favourite_refs = set(favourites)
    recent_refs = list(recent)
    rank = {ref: index for index, ref in enumerate(recent_refs)}
    entries = [
        replace(entry, favourite=entry.ref in favourite_refs, recent=entry.ref in rank)
        for entry in catalog.entries
    ]
    entries.sort(
        key=lambda e: (
            not e.available,
            not e.favourite,
            not e.recent,
            rank.get(e.ref, 0),
            e.provider,
            e.model,
        )
    )
    return Catalog(tuple(entries), catalog.providers)


async def _bounded(provider: ProviderConfig, timeout: float) -> tuple[list[str], ProviderStatus]:
    """``_provider_models`` within ``timeout`` seconds, whatever part of it is slow (a key
    command, a connection, a server that accepts and never answers)."""
    try:
        return await asyncio.wait_for(_provider_models(provider, timeout), timeout + 0.5)
    except TimeoutError:
        reason = f"no answer from {provider.base_url} within {timeout:g} s"
        return _known_models(provider), ProviderStatus(provider.name, False, reason)


def _known_models(provider: ProviderConfig) -> list[str]:
    known = list(provider.models)
    if provider.default_model and provider.default_model not in known:
        known.insert(0, provider.default_model)
    return known


def _missing_key_reason(provider: ProviderConfig) -> str:
    if provider.api_key_env:
        return f"no API key: set {provider.api_key_env}"
    return (
        f"no API key: add api_key_env or api_key_command to [providers.{provider.name}] "
        "in the config"
    )


async def _provider_models(
    provider: ProviderConfig, timeout: float
) -> tuple[list[str], ProviderStatus]:
    configured = _known_models(provider)
    if provider.demo:
        return configured, ProviderStatus(provider.name, True)
    if provider.unusable_reason:
        return configured, ProviderStatus(provider.name, False, provider.unusable_reason)
    try:
        # A key command (a password manager) may take a while: keep the event loop free.
        api_key = await asyncio.to_thread(resolve_api_key, provider)
    except ChatTuiError as error:
        return configured, ProviderStatus(provider.name, False, str(error))
    if api_key is None and provider.needs_key:
        return configured, ProviderStatus(provider.name, False, _missing_key_reason(provider))
    try:
        async with ChatClient(
            provider.base_url,
            api_key,
            headers=dict(provider.headers),
            connect_timeout=min(timeout, provider.connect_timeout),
            read_timeout=timeout,
        ) as client:
            listed = await asyncio.wait_for(client.list_models(), timeout)
    except (ChatTuiError, TimeoutError) as error:
        reason = str(error) or f"no answer from {provider.base_url} within {timeout:g} s"
        return configured, ProviderStatus(provider.name, False, reason)
    merged = configured + [model for model in listed if model not in configured]
    return merged, ProviderStatus(provider.name, True)
