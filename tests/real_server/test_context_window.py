"""What the real llama.cpp server (llama-cpp-python's) says about its context window, and
that the mock's ``llamacpp`` flavour says the same: nothing. Its ``/v1/models`` lists the
model with no figures and it has no ``/props`` (llama.cpp's C++ server has; the mock's
``props`` flavour imitates that one). So the window is unknown unless the config names it."""

from __future__ import annotations

import httpx

from chat_tui.client import ChatClient
from chat_tui.config import ProviderConfig, Target
from chat_tui.config.model import ModelSettings
from chat_tui.context_window import ModelFacts, discover, facts_for
from chat_tui.mock_server import MockServer
from tests.real_server.conftest import RealServer


async def test_the_real_server_says_nothing_of_its_window(real_server: RealServer) -> None:
    root = real_server.base_url.removesuffix("/v1")
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        listing = (await http.get(f"{real_server.base_url}/models")).json()
        props = await http.get(f"{root}/props")
    (entry,) = listing["data"]
    assert entry == {
        "id": real_server.model,
        "object": "model",
        "owned_by": "me",
        "permissions": [],
    }
    assert props.status_code == 404 and props.json() == {"detail": "Not Found"}

    async with ChatClient(real_server.base_url) as client:
        assert await discover(client, real_server.base_url, real_server.model) == ModelFacts()
    # The mock's llamacpp flavour answers the same.
    name = "gemma+llamacpp"
    async with MockServer(models=[name]) as mock, ChatClient(mock.base_url) as client:
        listed = (await client.get_json(f"{mock.base_url}/models"))["data"][0]
        assert listed.keys() == entry.keys() and listed["owned_by"] == "me"
        assert await discover(client, mock.base_url, name) == ModelFacts()


async def test_the_config_names_the_window_of_the_real_server(real_server: RealServer) -> None:
    provider = ProviderConfig(
        name="llamacpp",
        base_url=real_server.base_url,
        local=True,
        model_defaults=ModelSettings(context=real_server.context_window),
    )
    facts = await facts_for(Target(provider=provider, model=real_server.model))
    assert facts.context == real_server.context_window == 2048
    assert facts.source == "config" and facts.price_in is None
