"""What the client tells its callers about how a request went (issue 14): unreadable events
as SkippedEvent, request URLs built from any base URL, unusable URLs in words, timeouts
that say "timed out", and a retry budget the caller chooses."""

from __future__ import annotations

import pytest

from chat_tui.client import ChatClient, ContentDelta, SkippedEvent, StreamEvent, join_url
from chat_tui.client.openai import PREVIEW_BYTES, check_url
from chat_tui.client.retry import should_retry
from chat_tui.errors import ClientError, HTTPStatusError, ReadTimeoutError
from chat_tui.mock_server import MockServer

PROMPT = [{"role": "user", "content": "hi"}]


async def collect(client: ChatClient, model: str) -> list[StreamEvent]:
    async with client.stream_chat(PROMPT, model) as stream:
        return [event async for event in stream]


async def test_unreadable_events_are_yielded_numbered_with_their_first_bytes() -> None:
    async with (
        MockServer(reply_text="The reply.\n") as server,
        ChatClient(server.base_url) as client,
        client.stream_chat(PROMPT, "mock-gpt+hostile") as stream,
    ):
        events = [event async for event in stream]
    skipped = [event for event in events if isinstance(event, SkippedEvent)]
    # Data event 1 is the role chunk, 2 JSON nested 10,000 deep, 3 a chunk with invalid
    # UTF-8 (readable once decoded), 4 "{not json", 5 an empty data line.
    assert [event.number for event in skipped] == [2, 4]
    assert skipped[0].preview == "[" * PREVIEW_BYTES
    assert skipped[1].preview == "{not json"
    assert stream.skipped_events == 2
    # The rest of the reply is kept.
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)).endswith("The reply.\n")


def test_a_preview_is_cut_at_a_character_boundary() -> None:
    from chat_tui.client.openai import ChatStream

    stream = ChatStream.__new__(ChatStream)
    stream.skipped_events = 0
    stream._data_events = 6
    event = stream._skipped("é" * 100)
    assert event == SkippedEvent(6, "é" * (PREVIEW_BYTES // 2))


@pytest.mark.parametrize(
    ("base", "path", "joined"),
    [
        (
            "https://h/api/openai/v1/",
            "chat/completions",
            "https://h/api/openai/v1/chat/completions",
        ),
        (
            "https://r.openai.azure.com/openai/deployments/gpt?api-version=2024-10-21",
            "chat/completions",
            "https://r.openai.azure.com/openai/deployments/gpt/chat/completions"
            "?api-version=2024-10-21",
        ),
        ("https://h/v1/?k=v#frag", "models", "https://h/v1/models?k=v"),
        ("http://h:1/v1/chat/completions", "chat/completions", "http://h:1/v1/chat/completions"),
        ("http://h:1/v1/chat/completions/", "/models", "http://h:1/v1/models"),
        (
            "http://h:1/v1/chat/completions?x=1",
            "chat/completions",
            "http://h:1/v1/chat/completions?x=1",
        ),
    ],
)
def test_join_url(base: str, path: str, joined: str) -> None:
    assert join_url(base, path) == joined


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:99999/v1/chat/completions", "port out of range 0-65535"),
        ("http://[::1/v1/chat/completions", "invalid IPv6 URL"),
        ("http://h:port/v1", "port could not be cast"),
        ("ftp://h/v1", "it must be http(s)://host/"),
    ],
)
def test_unusable_urls_are_client_errors_in_words(url: str, words: str) -> None:
    with pytest.raises(ClientError, match="is not a usable URL") as caught:
        check_url(url)
    assert words in str(caught.value)


async def test_an_unusable_url_fails_the_request_not_the_program() -> None:
    async with ChatClient("http://127.0.0.1:99999/v1") as client:
        with pytest.raises(ClientError, match="port out of range"):
            await collect(client, "m")
        with pytest.raises(ClientError, match="port out of range"):
            await client.list_models()


async def test_a_read_timeout_says_timed_out() -> None:
    async with MockServer() as server, ChatClient(server.base_url, read_timeout=0.2) as client:
        with pytest.raises(ReadTimeoutError, match=r"^Timed out: .* no reply within 0.2 s"):
            await collect(client, "mock-gpt+stall")
        with pytest.raises(ReadTimeoutError, match=r"^Timed out: .* nothing for 0.2 s; .*cut off"):
            await collect(client, "mock-gpt+stall-3")


def test_the_caller_chooses_how_many_retries() -> None:
    busy = HTTPStatusError("busy", status_code=503, url="u")
    assert not should_retry(busy, 0, received_any=False, max_retries=0)
    assert should_retry(busy, 4, received_any=False, max_retries=5)
    assert not should_retry(busy, 5, received_any=False, max_retries=5)


async def test_a_reply_ended_by_done_without_a_finish_reason_is_cut_off() -> None:
    # llama.cpp ends a running reply this way when another request arrives (seen against
    # the real server in tests/real_server): the text so far is kept, the reply is not
    # complete.
    from chat_tui.errors import StreamCutError

    async with MockServer() as server, ChatClient(server.base_url) as client:
        stream = client.stream_chat(PROMPT, "mock-gpt+llamacpp+interrupt-3")
        with pytest.raises(StreamCutError, match="no finish_reason"):
            async with stream:
                async for _ in stream:
                    pass
        assert len(stream.content.split()) == 3  # the three tokens sent are kept


async def test_an_empty_stream_says_the_server_may_have_refused_the_request() -> None:
    # llama.cpp answers a prompt longer than its context window with an empty 200 stream.
    from chat_tui.errors import StreamCutError

    async with MockServer() as server, ChatClient(server.base_url) as client:
        long_prompt = [{"role": "user", "content": "word " * 400}]
        with pytest.raises(StreamCutError) as caught:
            async with client.stream_chat(long_prompt, "mock-gpt+llamacpp+ctx-50") as stream:
                async for _ in stream:
                    pass
    assert "without sending a reply" in str(caught.value)
    assert "context window" in (caught.value.hint or "")


async def test_secrets_in_the_url_never_reach_an_error_message() -> None:
    async with MockServer(api_key="right") as server:
        host = server.base_url.split("//", 1)[1]
        url = f"http://user:hunter2@{host}?api-version=2024-01-01&key=TOPSECRET"
        async with ChatClient(url, "wrong") as client:
            with pytest.raises(HTTPStatusError) as caught:
                await collect(client, "mock-gpt")
    message = str(caught.value)
    assert "hunter2" not in message and "TOPSECRET" not in message
    assert "api-version=2024-01-01&key=…" in message
    assert "hunter2" not in caught.value.url
