"""Providers that work with nothing configured beyond a key (or nothing at all)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from chat_tui.config.model import ProviderConfig

PRESETS: dict[str, ProviderConfig] = {
    provider.name: provider
    for provider in (
        ProviderConfig(
            "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", default_model="gpt-4o-mini"
        ),
        ProviderConfig(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            default_model="openai/gpt-4o-mini",
        ),
        ProviderConfig(
            "groq",
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            default_model="llama-3.3-70b-versatile",
        ),
        ProviderConfig(
            "deepseek",
            "https://api.deepseek.com/v1",
            "DEEPSEEK_API_KEY",
            default_model="deepseek-chat",
        ),
        ProviderConfig("ollama", "http://127.0.0.1:11434/v1", local=True),
        ProviderConfig("lmstudio", "http://127.0.0.1:1234/v1", local=True),
        ProviderConfig("llamacpp", "http://127.0.0.1:8080/v1", local=True),
        ProviderConfig("vllm", "http://127.0.0.1:8000/v1", local=True),
        ProviderConfig(
            "demo",
            "",
            demo=True,
            default_model="mock-gpt",
            models=("mock-gpt", "mock-reasoner+reasoning", "mock-coder"),
        ),
    )
}


async def probe_local(providers: Mapping[str, ProviderConfig], timeout: float = 0.3) -> set[str]:
    """Names of the local servers that answer ``GET /models`` on loopback right now."""
    local = [p for p in providers.values() if p.local]

    async def answers(client: httpx.AsyncClient, provider: ProviderConfig) -> bool:
        try:
            response = await client.get(provider.base_url.rstrip("/") + "/models")
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        results = await asyncio.gather(*(answers(client, p) for p in local))
    return {provider.name for provider, ok in zip(local, results, strict=True) if ok}
