"""Every model of every provider, for the model picker and ``chat-tui models``.

Each provider's ``/models`` is fetched in parallel with a short timeout; a provider that
cannot be reached is listed as unavailable with the reason instead of being hidden.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from chat_tui.client import ChatClient
from chat_tui.config import Config, ProviderConfig, resolve_api_key
from chat_tui.errors import ChatTuiError


@dataclass(frozen=True)
class ModelEntry:
    """One model the user can switch to (or a provider that offers none right now)."""

    provider: str
    model: str
    favourite: bool = False
    recent: bool = False

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


async def fetch_catalog(
    config: Config,
    *,
    timeout: float = 3.0,
    include: Iterable[str] | None = None,
) -> Catalog:
    """Models of every provider worth asking (those with a key, local servers, the demo)."""
    names = list(include) if include is not None else list(config.providers)
    results = await asyncio.gather(
        *(_provider_models(config.providers[name], timeout) for name in names)
    )
    favourites = set(config.app.favourites)
    recent = list(config.app.recent)
    entries: list[ModelEntry] = []
    statuses: list[ProviderStatus] = []
    for name, (models, status) in zip(names, results, strict=True):
        statuses.append(status)
        for model in models:
            ref = f"{name}/{model}"
            entries.append(ModelEntry(name, model, ref in favourites, ref in recent))
    rank = {ref: index for index, ref in enumerate(recent)}
    entries.sort(
        key=lambda e: (not e.favourite, not e.recent, rank.get(e.ref, 0), e.provider, e.model)
    )
    return Catalog(tuple(entries), tuple(statuses))


async def _provider_models(
    provider: ProviderConfig, timeout: float
) -> tuple[list[str], ProviderStatus]:
    configured = list(provider.models)
    if provider.default_model and provider.default_model not in configured:
        configured.insert(0, provider.default_model)
    if provider.demo:
        return configured, ProviderStatus(provider.name, True)
    try:
        # A key command (a password manager) may take a while: keep the event loop free.
        api_key = await asyncio.to_thread(resolve_api_key, provider)
    except ChatTuiError as error:
        return configured, ProviderStatus(provider.name, False, str(error))
    if api_key is None and not provider.local:
        hint = f"set {provider.api_key_env}" if provider.api_key_env else "add a key"
        return configured, ProviderStatus(provider.name, False, f"no API key ({hint})")
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
        reason = str(error) or f"no answer within {timeout:g} s"
        return configured, ProviderStatus(provider.name, False, reason)
    merged = configured + [model for model in listed if model not in configured]
    return merged, ProviderStatus(provider.name, True)
