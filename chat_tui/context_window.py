"""What a model holds and costs: its context window and prices, from the config or the server.

The config wins (``[providers.NAME.models.MODEL]``, then the provider's own ``context``,
``price_in``, ``price_out``); then what the server says, asked in this order until one
answers with a context length:

1. the model list (``GET /models``): OpenRouter's ``context_length`` and ``pricing``,
   vLLM's ``max_model_len``, LM Studio's ``loaded_context_length`` / ``max_context_length``;
2. llama.cpp's ``GET /props``: ``default_generation_settings.n_ctx``;
3. Ollama's ``POST /api/show``: ``num_ctx`` in its ``parameters`` (what the server runs
   the model with), else ``model_info["<arch>.context_length"]``.

Unknown stays unknown (None): callers show nothing rather than a guess. Discovery is
best-effort and quiet: a server that answers none of these is no error. Plain asyncio
(no Textual); the app runs it in the background and caches it per endpoint and model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chat_tui.config import ProviderConfig, Target
from chat_tui.config.model import ModelSettings
from chat_tui.errors import ChatTuiError

if TYPE_CHECKING:
    # httpx (with the click, Pygments and Rich its command line pulls in) is 40 ms of
    # imports: the app imports it after its first frame, and this module is needed before.
    from chat_tui.client import ChatClient

#: Seconds each discovery request may take: it runs beside the chat, never before it.
DISCOVERY_TIMEOUT = 5.0
PER_MILLION = 1_000_000


@dataclass(frozen=True)
class ModelFacts:
    """A model's context window in tokens and prices in US dollars per million tokens;
    None where nobody said. ``source`` says where the context length came from."""

    context: int | None = None
    price_in: float | None = None
    price_out: float | None = None
    source: str = ""

    @property
    def priced(self) -> bool:
        return self.price_in is not None and self.price_out is not None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """What a request costs at these prices, or None when they are not both known."""
        if self.price_in is None or self.price_out is None:
            return None
        return (prompt_tokens * self.price_in + completion_tokens * self.price_out) / PER_MILLION

    def under(self, other: ModelFacts) -> ModelFacts:
        """These facts, with ``other``'s filling the gaps (these win)."""
        return ModelFacts(
            context=self.context if self.context is not None else other.context,
            price_in=self.price_in if self.price_in is not None else other.price_in,
            price_out=self.price_out if self.price_out is not None else other.price_out,
            source=self.source if self.context is not None else other.source,
        )


def configured_facts(provider: ProviderConfig, model: str) -> ModelFacts:
    """What the config says about ``model``: its own table, then the provider's defaults."""
    own = provider.model_settings.get(model, ModelSettings())
    defaults = provider.model_defaults
    return _from_settings(own, "config").under(_from_settings(defaults, "config"))


def _from_settings(settings: ModelSettings, source: str) -> ModelFacts:
    return ModelFacts(
        settings.context,
        settings.price_in,
        settings.price_out,
        source if settings.context is not None else "",
    )


# What the servers say, shape by shape (pure functions, tested one by one).


def facts_from_listing(entry: Mapping[str, Any]) -> ModelFacts:
    """Context window and prices from one entry of a ``/models`` list."""
    context = None
    source = ""
    # LM Studio: the loaded context is what the server runs with; the maximum is what the
    # model could take if reloaded.
    for key in ("context_length", "max_model_len", "loaded_context_length", "max_context_length"):
        value = _tokens(entry.get(key))
        if value is not None:
            context, source = value, f"model list ({key})"
            break
    top = entry.get("top_provider")
    if context is None and isinstance(top, dict):
        context = _tokens(top.get("context_length"))
        source = "model list (top_provider.context_length)" if context else ""
    price_in = price_out = None
    pricing = entry.get("pricing")
    if isinstance(pricing, dict):
        # OpenRouter gives dollars per token, as strings ("0.000003").
        price_in = _per_million(pricing.get("prompt"))
        price_out = _per_million(pricing.get("completion"))
    return ModelFacts(context, price_in, price_out, source)


def context_from_props(payload: object) -> int | None:
    """llama.cpp server's ``GET /props``: ``default_generation_settings.n_ctx``."""
    if not isinstance(payload, dict):
        return None
    settings = payload.get("default_generation_settings")
    if isinstance(settings, dict):
        return _tokens(settings.get("n_ctx"))
    return None


def context_from_show(payload: object) -> int | None:
    """Ollama's ``POST /api/show``: ``num_ctx`` from ``parameters`` (what the model is
    run with), else the model's own ``<architecture>.context_length``."""
    if not isinstance(payload, dict):
        return None
    parameters = payload.get("parameters")
    if isinstance(parameters, str):
        for line in parameters.splitlines():
            name, _, value = line.strip().partition(" ")
            if name == "num_ctx":
                found = _tokens(_int_text(value.strip()))
                if found is not None:
                    return found
    info = payload.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if isinstance(key, str) and key.endswith(".context_length"):
                found = _tokens(value)
                if found is not None:
                    return found
    return None


def server_root(base_url: str) -> str:
    """Where a server's own endpoints live: the base URL without its ``/v1``."""
    base = base_url.partition("?")[0].partition("#")[0].rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


async def discover(client: ChatClient, base_url: str, model: str) -> ModelFacts:
    """What the server at ``base_url`` says about ``model``: see the module's docstring.
    Never raises for what a server does or does not answer."""
    from chat_tui.client.openai import join_url

    facts = ModelFacts()
    listing = await _quietly(client.get_json(join_url(base_url, "models")))
    entry = _entry_for(listing, model)
    if entry is not None:
        facts = facts_from_listing(entry)
    if facts.context is not None:
        return facts
    root = server_root(base_url)
    context = context_from_props(await _quietly(client.get_json(root + "/props")))
    if context is not None:
        return replace(facts, context=context, source="llama.cpp /props")
    show = await _quietly(client.get_json(root + "/api/show", {"model": model}))
    context = context_from_show(show)
    if context is not None:
        return replace(facts, context=context, source="Ollama /api/show")
    return facts


async def facts_for(target: Target, *, timeout: float = DISCOVERY_TIMEOUT) -> ModelFacts:
    """The config's facts about the target's model, with the server's filling the gaps.

    The server is asked only for what the config leaves out, on a connection of its own
    (the reply's is never held up), and not at all for the offline demo."""
    provider = target.provider
    model = target.model or ""
    configured = configured_facts(provider, model)
    if configured.context is not None and configured.priced:
        return configured
    if provider.demo or not provider.base_url or not model or provider.unusable_reason:
        return configured
    from chat_tui.client import ChatClient

    try:
        async with ChatClient(
            provider.base_url,
            target.api_key,
            headers=dict(provider.headers),
            connect_timeout=min(timeout, provider.connect_timeout),
            read_timeout=timeout,
            verify=str(provider.ca_bundle) if provider.ca_bundle else True,
        ) as client:
            found = await asyncio.wait_for(discover(client, provider.base_url, model), timeout * 3)
    except (ChatTuiError, TimeoutError):
        return configured
    return configured.under(found)


async def _quietly(request: Any) -> object:
    """The answer, or None when the server cannot give one: discovery asks servers about
    endpoints that most of them do not have."""
    try:
        return await request
    except ChatTuiError:
        return None


def _entry_for(listing: object, model: str) -> Mapping[str, Any] | None:
    entries = listing.get("data") if isinstance(listing, dict) else listing
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("id") == model:
            return entry
    return None


def _tokens(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value > 0 else None


def _int_text(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _per_million(value: object) -> float | None:
    """A per-token price (a number, or a string as OpenRouter sends) per million tokens.
    OpenRouter marks a price it does not know with ``"-1"``: unknown, not free."""
    if isinstance(value, bool):
        return None
    try:
        price = float(value) if isinstance(value, str | int | float) else None
    except ValueError:
        return None
    if price is None or price < 0 or price != price:
        return None
    return price * PER_MILLION
