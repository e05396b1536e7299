"""Providers that work with nothing configured beyond a key (or nothing at all)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chat_tui.config.model import ProviderConfig

if TYPE_CHECKING:
    import httpx

#: Models the demo offers; the mock server answers to these names.
DEMO_MODELS = ("mock-gpt", "mock-reasoner", "mock-coder")

PRESETS: Mapping[str, ProviderConfig] = MappingProxyType(
    {
        provider.name: provider
        for provider in (
            ProviderConfig(
                "openai",
                "https://api.openai.com/v1",
                api_key_env="OPENAI_API_KEY",
                default_model="gpt-4o-mini",
            ),
            ProviderConfig(
                "openrouter", "https://openrouter.ai/api/v1", api_key_env="OPENROUTER_API_KEY"
            ),
            ProviderConfig("groq", "https://api.groq.com/openai/v1", api_key_env="GROQ_API_KEY"),
            ProviderConfig(
                "deepseek",
                "https://api.deepseek.com/v1",
                api_key_env="DEEPSEEK_API_KEY",
                default_model="deepseek-chat",
            ),
            ProviderConfig("ollama", "http://127.0.0.1:11434/v1", local=True),
            ProviderConfig("lmstudio", "http://127.0.0.1:1234/v1", local=True),
            ProviderConfig("llamacpp", "http://127.0.0.1:8080/v1", local=True),
            ProviderConfig("vllm", "http://127.0.0.1:8000/v1", local=True),
            ProviderConfig("demo", "", demo=True, default_model=DEMO_MODELS[0], models=DEMO_MODELS),
        )
    }
)


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (so probing it sends nothing over a network)."""
    host = urlsplit(url).hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def probe_local(providers: Mapping[str, ProviderConfig], timeout: float = 0.3) -> set[str]:
    """Names of the local providers whose server answers ``GET {base_url}/models`` right now.

    Only loopback addresses are probed, all at once, each within ``timeout`` seconds; a
    provider whose ``local`` base URL was moved to another machine is not probed at all.
    """
    # Imported here: httpx (and the rich it pulls in) costs more to import than every
    # other part of the config, and only probing needs it.
    import httpx

    candidates = [p for p in providers.values() if p.local and is_loopback(p.base_url)]
    if not candidates:
        return set()

    async def answers(client: httpx.AsyncClient, provider: ProviderConfig) -> bool:
        url = provider.base_url.rstrip("/") + "/models"
        try:
            # The overall bound also covers a server that accepts and then trickles bytes.
            async with asyncio.timeout(timeout * 2):
                response = await client.get(url)
        except (httpx.HTTPError, TimeoutError):
            # Nothing listening (or nothing useful): exactly what the probe asks about.
            return False
        # Something else on the port (a 404 page) is not the server we are looking for.
        return response.is_success

    # trust_env=False: a configured HTTP proxy must not see (or answer for) loopback probes.
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        results = await asyncio.gather(*(answers(client, p) for p in candidates))
    return {provider.name for provider, ok in zip(candidates, results, strict=True) if ok}
