"""The streaming client over real loopback HTTP against the project's mock server."""

from __future__ import annotations

import asyncio
import socket

import pytest

from chat_tui.client import (
    ChatClient,
    ContentDelta,
    Finish,
    ReasoningDelta,
    StreamEvent,
    ToolCallDelta,
    Usage,
    join_url,
)
from chat_tui.errors import (
    ConnectError,
    HTTPStatusError,
    ReadTimeoutError,
    ServerStreamError,
    StreamCutError,
)
from chat_tui.mock_server import MockServer

REPLY = "Hello **there**: café 中文 😀\n\n```python\nprint('hi')\n```\n"
PROMPT = [{"role": "user", "content": "hi"}]


async def collect(client: ChatClient, model: str, **params: object) -> list[StreamEvent]:
    async with client.stream_chat(PROMPT, model, **params) as stream:
        return [event async for event in stream]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, ContentDelta))


@pytest.fixture
async def server() -> MockServer:
    async with MockServer(reply_text=REPLY) as running:
        yield running


@pytest.fixture
async def client(server: MockServer) -> ChatClient:
    async with ChatClient(server.base_url, "sk-test-key") as chat_client:
        yield chat_client


async def test_streams_text_finish_and_usage(client: ChatClient, server: MockServer) -> None:
    events = await collect(client, "mock-gpt")
    assert text_of(events) == REPLY
    finishes = [event for event in events if isinstance(event, Finish)]
    assert finishes == [Finish("stop")]
    usage = [event for event in events if isinstance(event, Usage)]
    assert len(usage) == 1 and usage[0].completion_tokens > 0
    assert usage[0].total_tokens == usage[0].prompt_tokens + usage[0].completion_tokens
    body = server.requests[-1].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert server.requests[-1].headers.get("authorization") == "Bearer sk-test-key"


async def test_stream_options_can_be_left_out(server: MockServer) -> None:
    async with ChatClient(server.base_url, send_stream_options=False) as plain:
        events = await collect(plain, "mock-gpt")
    assert "stream_options" not in server.requests[-1].body
    assert text_of(events) == REPLY
    assert not [event for event in events if isinstance(event, Usage)]


async def test_parameters_are_sent_and_nones_left_out(
    client: ChatClient, server: MockServer
) -> None:
    await collect(client, "mock-gpt", temperature=0.5, max_tokens=None)
    body = server.requests[-1].body
    assert body["temperature"] == 0.5
    assert "max_tokens" not in body


@pytest.mark.parametrize(
    "options",
    [
        "crlf",
        "cr",
        "nospace",
        "bytewise",
        "keepalive",
        "azure",
        "null-role",
        "no-done",
        "crlf+bytewise+keepalive",
        "no-stream",
    ],
)
async def test_framing_quirks_give_the_same_text(client: ChatClient, options: str) -> None:
    events = await collect(client, f"mock-gpt+{options}")
    assert text_of(events) == REPLY
    assert any(isinstance(event, Finish) for event in events)


@pytest.mark.parametrize("field", ["reasoning", "reasoning-openrouter"])
async def test_reasoning_deltas(client: ChatClient, field: str) -> None:
    events = await collect(client, f"mock-gpt+{field}")
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning.strip()
    first_content = next(i for i, e in enumerate(events) if isinstance(e, ContentDelta))
    last_reasoning = max(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    assert last_reasoning < first_content
    assert text_of(events) == REPLY


async def test_tool_call_deltas(client: ChatClient) -> None:
    events = await collect(client, "mock-gpt+tools")
    calls = [event for event in events if isinstance(event, ToolCallDelta)]
    assert calls and calls[0].name
    arguments = "".join(call.arguments for call in calls)
    assert arguments.startswith("{") and arguments.endswith("}")
    assert Finish("tool_calls") in events


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "Incorrect API key"),
        (404, "does not exist"),
        (429, "Rate limit"),
        (500, ""),
        (503, ""),
    ],
)
async def test_http_errors_carry_the_servers_message(
    client: ChatClient, status: int, words: str
) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await collect(client, f"mock-gpt+http-{status}")
    error = caught.value
    assert error.status_code == status
    assert error.server_message
    assert words in str(error)
    assert "sk-test-key" not in str(error)
    assert error.hint
    if status == 429:
        assert error.retry_after == 1


async def test_html_502_gives_a_short_excerpt(client: ChatClient) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await collect(client, "mock-gpt+http-502")
    assert "502 Bad Gateway" in str(caught.value)
    assert "<" not in str(caught.value)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize("options", ["error-event", "error-event-typed"])
async def test_error_event_mid_stream(client: ChatClient, options: str) -> None:
    received: list[str] = []
    with pytest.raises(ServerStreamError) as caught:
        async with client.stream_chat(PROMPT, f"mock-gpt+{options}") as stream:
            async for event in stream:
                if isinstance(event, ContentDelta):
                    received.append(event.text)
    assert "server had an error" in str(caught.value)
    assert received, "text before the error is delivered"


async def test_dropped_connection_keeps_text_and_says_cut_off(client: ChatClient) -> None:
    received: list[str] = []
    with pytest.raises(StreamCutError) as caught:
        async with client.stream_chat(PROMPT, "mock-gpt+drop-5") as stream:
            async for event in stream:
                if isinstance(event, ContentDelta):
                    received.append(event.text)
    assert "cut off" in str(caught.value)
    assert "".join(received) == stream.content
    assert 0 < len(stream.content) < len(REPLY)


async def test_stall_times_out_instead_of_hanging(server: MockServer) -> None:
    async with ChatClient(server.base_url, read_timeout=0.3) as impatient:
        with pytest.raises(ReadTimeoutError) as caught:
            await asyncio.wait_for(collect(impatient, "mock-gpt+stall-3"), 5)
    assert "cut off" in str(caught.value)
    async with ChatClient(server.base_url, read_timeout=0.3) as impatient:
        with pytest.raises(ReadTimeoutError) as caught:
            await asyncio.wait_for(collect(impatient, "mock-gpt+stall"), 5)
    assert "no reply within" in str(caught.value)


async def test_connect_error_names_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    async with ChatClient(url, connect_timeout=2) as nowhere:
        with pytest.raises(ConnectError) as caught:
            await collect(nowhere, "mock-gpt")
    assert url in str(caught.value)


async def test_cancelling_the_consumer_closes_the_connection(
    client: ChatClient, server: MockServer
) -> None:
    started = asyncio.Event()

    async def consume() -> None:
        async with client.stream_chat(PROMPT, "mock-gpt+stall-2") as stream:
            async for _ in stream:
                started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await server.wait_for_disconnect(2)


async def test_list_models(client: ChatClient) -> None:
    # In the server's order: the first is the one used when no model is named.
    assert await client.list_models() == ["mock-gpt", "mock-reasoner", "mock-coder"]


async def test_bearer_key_is_checked() -> None:
    async with MockServer(api_key="right") as guarded:
        async with ChatClient(guarded.base_url, "wrong") as wrong:
            with pytest.raises(HTTPStatusError) as caught:
                await collect(wrong, "mock-gpt")
        assert caught.value.status_code == 401
        assert "wrong" not in str(caught.value).replace("wrong API key", "")
        async with ChatClient(guarded.base_url, "right") as right:
            assert text_of(await collect(right, "mock-gpt"))


async def test_metrics(client: ChatClient) -> None:
    async with client.stream_chat(PROMPT, "mock-gpt") as stream:
        async for _ in stream:
            pass
    assert stream.metrics.time_to_first_token is not None
    assert stream.metrics.time_to_first_token >= 0
    assert stream.metrics.tokens > 1


def test_join_url_keeps_path_prefixes() -> None:
    assert join_url("https://h/api/openai/v1/", "chat/completions") == (
        "https://h/api/openai/v1/chat/completions"
    )
    assert join_url("http://h:1/v1", "/models") == "http://h:1/v1/models"


async def test_a_missing_ca_bundle_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from chat_tui.errors import ClientError

    with pytest.raises(ClientError, match="CA bundle"):
        ChatClient("https://example.invalid/v1", verify=str(tmp_path / "missing.pem"))


def test_ca_bundle_is_read_from_the_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from chat_tui.config import load

    path = tmp_path / "config.toml"
    path.write_text('[providers.corp]\nbase_url = "https://llm.corp/v1"\nca_bundle = "~/ca.pem"\n')
    config, problems = load(path)
    assert problems == []
    assert config.providers["corp"].ca_bundle is not None
    assert config.providers["corp"].ca_bundle.name == "ca.pem"
