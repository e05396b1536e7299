"""The official openai SDK and our client read the mock server's stream the same way."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI

from chat_tui.client import ChatClient, ContentDelta, Usage
from chat_tui.mock_server import MockServer


@pytest.mark.parametrize("model", ["mock-gpt", "mock-gpt+tokens-400", "mock-gpt+crlf+keepalive"])
async def test_same_text_and_usage_as_the_openai_sdk(model: str) -> None:
    messages = [{"role": "user", "content": "Explain streams, with code."}]
    async with MockServer() as server:
        sdk = AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        sdk_text: list[str] = []
        sdk_usage = None
        stream = await sdk.chat.completions.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                sdk_text.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                sdk_usage = chunk.usage
        await sdk.close()

        async with (
            ChatClient(server.base_url, "sk-test") as client,
            client.stream_chat(messages, model) as ours,
        ):
            events = [event async for event in ours]

    our_text = "".join(e.text for e in events if isinstance(e, ContentDelta))
    (our_usage,) = [e for e in events if isinstance(e, Usage)]
    assert our_text == "".join(sdk_text)
    assert len(our_text) > 100
    assert sdk_usage is not None
    assert (our_usage.prompt_tokens, our_usage.completion_tokens, our_usage.total_tokens) == (
        sdk_usage.prompt_tokens,
        sdk_usage.completion_tokens,
        sdk_usage.total_tokens,
    )
