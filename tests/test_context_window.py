"""Learning a model's context window and prices: from the config, then from what each kind
of server says, asked of the mock server taught each shape (real HTTP on loopback)."""

from __future__ import annotations

import pytest

from chat_tui.client import ChatClient
from chat_tui.config import ProviderConfig, Target
from chat_tui.config.model import ModelSettings
from chat_tui.context_window import (
    ModelFacts,
    context_from_props,
    context_from_show,
    discover,
    facts_for,
    facts_from_listing,
    server_root,
)
from chat_tui.mock_server import MockServer


async def ask(models: list[str], model: str) -> ModelFacts:
    async with MockServer(models=models) as server, ChatClient(server.base_url) as client:
        return await discover(client, server.base_url, model)


@pytest.mark.parametrize(
    ("model", "context", "source"),
    [
        ("mock-gpt+openrouter+ctx-32768", 32768, "model list (context_length)"),
        ("mock-gpt+vllm+ctx-8192", 8192, "model list (max_model_len)"),
        # LM Studio: the loaded window, not the larger maximum the model could be loaded with.
        ("mock-gpt+lmstudio+ctx-4096", 4096, "model list (loaded_context_length)"),
    ],
)
async def test_context_from_the_model_list(model: str, context: int, source: str) -> None:
    facts = await ask(["other+vllm+ctx-100", model], model)
    assert (facts.context, facts.source) == (context, source)


async def test_openrouter_lists_prices_per_token() -> None:
    facts = await ask(["m+openrouter+ctx-200000"], "m+openrouter+ctx-200000")
    assert facts.context == 200000
    assert facts.price_in == pytest.approx(1.0) and facts.price_out == pytest.approx(2.0)


async def test_llamacpp_props() -> None:
    facts = await ask(["gemma+props+ctx-2048"], "gemma+props+ctx-2048")
    assert (facts.context, facts.source) == (2048, "llama.cpp /props")


async def test_ollama_show_prefers_num_ctx() -> None:
    facts = await ask(["llama3.2+ollama+ctx-8192"], "llama3.2+ollama+ctx-8192")
    assert (facts.context, facts.source) == (8192, "Ollama /api/show")
    # Without num_ctx in its parameters: the model's own context length.
    assert (await ask([], "llama3.2+ollama")).context == 131072


async def test_unknown_stays_unknown() -> None:
    # A plain OpenAI-style list, no /props, no /api/show: nothing is guessed.
    assert await ask(["mock-gpt"], "mock-gpt") == ModelFacts()
    # llama-cpp-python's server lists its model with no figures and has no /props.
    assert await ask(["gemma+llamacpp"], "gemma+llamacpp") == ModelFacts()
    # A model the list does not hold.
    assert (await ask(["a+vllm+ctx-10"], "b")).context is None


async def test_the_config_wins_and_the_server_fills_the_gaps() -> None:
    model = "m+openrouter+ctx-32768"
    async with MockServer(models=[model]) as server:
        provider = ProviderConfig(
            name="router",
            base_url=server.base_url,
            model_settings={model: ModelSettings(context=16000)},
        )
        facts = await facts_for(Target(provider=provider, model=model))
    assert (facts.context, facts.source) == (16000, "config")
    assert facts.price_in == pytest.approx(1.0)  # from the model list


async def test_a_dead_server_is_quietly_unknown() -> None:
    async with MockServer() as server:
        url = server.base_url
    provider = ProviderConfig(
        name="gone", base_url=url, model_defaults=ModelSettings(price_in=1, price_out=2)
    )
    facts = await facts_for(Target(provider=provider, model="m"), timeout=2)
    assert facts.context is None and facts.price_in == 1


async def test_a_server_that_refuses_the_key_is_quietly_unknown() -> None:
    async with MockServer(api_key="sk-right", models=["m+vllm+ctx-100"]) as server:
        provider = ProviderConfig(name="p", base_url=server.base_url)
        facts = await facts_for(Target(provider=provider, model="m+vllm+ctx-100", api_key="bad"))
        assert facts == ModelFacts()
        good = await facts_for(
            Target(provider=provider, model="m+vllm+ctx-100", api_key="sk-right")
        )
        assert good.context == 100


def test_listing_shapes_and_odd_values() -> None:
    assert facts_from_listing({"id": "m", "context_length": None}).context is None
    assert facts_from_listing({"id": "m", "max_model_len": True}).context is None
    assert facts_from_listing({"id": "m", "max_model_len": -5}).context is None
    entry = {
        "top_provider": {"context_length": 1000},
        "pricing": {"prompt": "-1", "completion": "x"},
    }
    facts = facts_from_listing(entry)
    # OpenRouter's "-1" is an unknown price, not a negative or free one.
    assert facts.context == 1000 and facts.price_in is None and facts.price_out is None
    both = {"loaded_context_length": 4096, "max_context_length": 32768}
    assert facts_from_listing(both).context == 4096
    assert facts_from_listing({"max_context_length": 32768}).context == 32768


def test_props_and_show_shapes() -> None:
    assert context_from_props({"default_generation_settings": {"n_ctx": 4096}}) == 4096
    assert context_from_props({"default_generation_settings": "x"}) is None
    assert context_from_props([1]) is None
    assert context_from_show({"parameters": "stop x\nnum_ctx     16384"}) == 16384
    assert context_from_show({"parameters": "num_ctx lots", "model_info": {}}) is None
    assert context_from_show({"model_info": {"qwen2.context_length": 32768}}) == 32768
    assert context_from_show("nope") is None


@pytest.mark.parametrize(
    ("base", "root"),
    [
        ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080"),
        ("https://host/api/openai", "https://host/api/openai"),
    ],
)
def test_server_root(base: str, root: str) -> None:
    assert server_root(base) == root
