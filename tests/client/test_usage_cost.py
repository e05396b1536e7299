"""OpenRouter's ``usage.cost``, and a context-overflow error said in words."""

from __future__ import annotations

import pytest

from chat_tui.client import ChatClient, Usage
from chat_tui.client.openai import _parse_usage
from chat_tui.errors import HTTPStatusError, is_context_overflow
from chat_tui.mock_server import MockServer

PROMPT = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("suffix", ["", "+no-stream"])
async def test_the_final_usage_carries_openrouters_cost(suffix: str) -> None:
    async with MockServer() as server, ChatClient(server.base_url) as client:
        async with client.stream_chat(PROMPT, "m+openrouter+tokens-10" + suffix) as stream:
            events = [event async for event in stream]
        usage = stream.usage
        assert usage is not None and usage in events
        expected = (usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1_000_000
        assert usage.cost == pytest.approx(expected) and usage.cost > 0
        async with client.stream_chat(PROMPT, "m+tokens-10" + suffix) as plain:
            _ = [event async for event in plain]
        assert plain.usage is not None and plain.usage.cost is None


@pytest.mark.parametrize(
    ("usage", "cost"),
    [
        ({"prompt_tokens": 1, "completion_tokens": 2, "cost": 0.25}, 0.25),
        ({"prompt_tokens": 1, "completion_tokens": 2, "cost": 0}, 0.0),
        ({"prompt_tokens": 1, "completion_tokens": 2}, None),
        ({"prompt_tokens": 1, "completion_tokens": 2, "cost": None}, None),
        ({"prompt_tokens": 1, "completion_tokens": 2, "cost": "0.25"}, None),
        ({"prompt_tokens": 1, "completion_tokens": 2, "cost": True}, None),
        ({"prompt_tokens": 1, "completion_tokens": 2, "cost": -1}, None),
    ],
)
def test_only_a_real_number_is_a_cost(usage: dict[str, object], cost: float | None) -> None:
    assert _parse_usage(usage) == Usage(1, 2, 3, cost)


async def test_a_context_overflow_says_so_and_what_helps() -> None:
    async with MockServer() as server, ChatClient(server.base_url) as client:
        long_prompt = [{"role": "user", "content": "word " * 400}]
        with pytest.raises(HTTPStatusError) as caught:
            async with client.stream_chat(long_prompt, "mock-gpt+ctx-100") as stream:
                _ = [event async for event in stream]
    error = caught.value
    assert error.status_code == 400 and "maximum context length is 100 tokens" in str(error)
    assert error.hint is not None and "context window" in error.hint
    assert "new conversation" in error.hint


def test_overflow_wordings() -> None:
    for message in (
        "This model's maximum context length is 8192 tokens.",
        "the request exceeds the available context size, try increasing it",
        "prompt is too long: 210000 tokens > 200000 maximum",
        "input length exceeds context_length",
    ):
        assert is_context_overflow(message), message
    assert not is_context_overflow("Invalid API key")
    assert HTTPStatusError("x", status_code=400, url="u", server_message="bad").hint is None
