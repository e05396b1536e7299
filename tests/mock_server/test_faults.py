"""Every fault chosen through the model name produces what it says, on the wire."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from chat_tui.mock_server import make_code_reply, tokenize
from chat_tui.mock_server.options import parse_model
from tests.conftest import MockServerFactory
from tests.mock_server.wire import chat_body, chunks_of, content_of, request, sse_events

REPLY = "The quick brown fox jumps over the lazy dog again and again."
TOKENS = tokenize(REPLY)


@pytest.mark.parametrize(
    ("status", "words", "code"),
    [
        (401, "Incorrect API key provided: sk-...xyz. You can find your API key at", None),
        (404, "The model `mock-gpt` does not exist or you do not have access to it.", None),
        (429, "Rate limit reached for requests", "rate_limit_exceeded"),
        (500, "The server had an error while processing your request.", "internal_error"),
        (503, "overloaded", "service_unavailable"),
    ],
)
async def test_http_status_faults_have_openai_error_bodies(
    mock_server_factory: MockServerFactory, status: int, words: str, code: str | None
) -> None:
    async with mock_server_factory() as server:
        response = await request(server.port, chat_body(f"mock-gpt+http-{status}"))
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert words in error["message"]
    assert error["param"] is None and error["type"]
    if code:
        assert error["code"] == code
    assert ("retry-after" in response.headers) == (status == 429)
    if status == 429:
        assert response.headers["retry-after"] == "1"


async def test_http_502_is_an_nginx_html_page(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory() as server:
        response = await request(server.port, chat_body("mock-gpt+http-502"))
    assert response.status == 502
    assert response.headers["content-type"] == "text/html"
    assert response.body.startswith(b"<html>\r\n<head><title>502 Bad Gateway</title>")
    assert b"nginx" in response.body


@pytest.mark.parametrize("reply", [REPLY, "short"])
@pytest.mark.parametrize("typed", [False, True])
async def test_error_event_ends_the_stream(
    mock_server_factory: MockServerFactory, reply: str, typed: bool
) -> None:
    model = "mock-gpt+error-event-typed" if typed else "mock-gpt+error-event"
    async with mock_server_factory(reply_text=reply) as server:
        response = await request(server.port, chat_body(model))
    assert response.status == 200 and response.complete
    events = sse_events(response.body)
    last = events[-1]
    assert json.loads(last["data"]) == {
        "error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "code": "internal_error",
        }
    }
    assert last["event"] == ("error" if typed else None)
    if typed:
        assert b"event: error\ndata: {" in response.body
    text = content_of([json.loads(e["data"]) for e in events[:-1]])
    assert text == ("".join(TOKENS[:3]) if reply == REPLY else "short")


async def test_drop_closes_without_the_terminating_chunk(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+drop-4"))
        assert response.chunked and not response.complete
        assert content_of(chunks_of(response.body)) == "".join(TOKENS[:4])
        assert b"[DONE]" not in response.body
        async with httpx.AsyncClient() as client:
            url = f"{server.base_url}/chat/completions"
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(url, json=chat_body("mock-gpt+drop-4"))
            # The connection the drop broke is not reused: the next request works.
            assert (await client.post(url, json=chat_body())).status_code == 200
        assert server.disconnects == 0


@pytest.mark.parametrize(("model", "tokens"), [("mock-gpt+stall", 0), ("mock-gpt+stall-3", 3)])
async def test_stall_sends_headers_then_nothing(
    mock_server_factory: MockServerFactory, model: str, tokens: int
) -> None:
    async with (
        mock_server_factory(reply_text=REPLY) as server,
        httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.4)) as client,
    ):
        url = f"{server.base_url}/chat/completions"
        async with client.stream("POST", url, json=chat_body(model)) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            received = b""
            with pytest.raises(httpx.ReadTimeout):
                async for data in response.aiter_raw():
                    received += data
        chunks = chunks_of(received)
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert content_of(chunks) == "".join(TOKENS[:tokens])
        assert await server.wait_for_disconnect(0.5)


async def test_keepalive_comments_before_and_between_chunks(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory() as server:
        response = await request(server.port, chat_body("mock-gpt+keepalive+tokens-40"))
    assert response.body.startswith(b": OPENROUTER PROCESSING\n\n")
    kinds = ["comment" if e["comments"] else "data" for e in sse_events(response.body)]
    assert kinds[0] == "comment"
    between = [i for i, kind in enumerate(kinds) if kind == "comment" and 0 < i < len(kinds) - 1]
    assert len(between) >= 3
    assert kinds[-1] == "data"


@pytest.mark.parametrize(
    ("option", "wanted", "unwanted"),
    [
        ("crlf", b"\r\n\r\n", b"\n\n"),
        ("cr", b"\r\r", b"\n"),
        ("nospace", b"data:{", b"data: "),
    ],
)
async def test_line_framing_variants(
    mock_server_factory: MockServerFactory, option: str, wanted: bytes, unwanted: bytes
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body(f"mock-gpt+{option}"))
    body = response.body
    assert wanted in body and unwanted not in body
    if option == "crlf":
        assert body.count(b"\n") == body.count(b"\r\n")
    assert content_of(chunks_of(body)) == REPLY
    assert sse_events(body)[-1]["data"] == "[DONE]"


async def test_bytewise_writes_one_byte_per_chunk_with_non_ascii(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text="plain ascii") as server:
        response = await request(server.port, chat_body("mock-gpt+bytewise"))
    assert response.complete
    assert set(response.chunk_sizes) == {1}
    text = content_of(chunks_of(response.body))
    assert text.endswith("plain ascii")
    assert {"é", "中", "😀"} <= set(text)
    # Splitting into single bytes must land inside multi-byte characters.
    assert len(response.body) > len(response.body.decode())


async def test_bytewise_reaches_a_streaming_reader_in_pieces(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text="héllo wörld") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        body = json.dumps(chat_body("mock-gpt+bytewise")).encode()
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        reads = 0
        while await asyncio.wait_for(reader.read(65536), 5):
            reads += 1
        writer.close()
    assert reads > 20


@pytest.mark.parametrize(
    ("option", "field"),
    [("reasoning", "reasoning_content"), ("reasoning-openrouter", "reasoning")],
)
async def test_reasoning_deltas_come_before_the_answer(
    mock_server_factory: MockServerFactory, option: str, field: str
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body(f"mock-gpt+{option}"))
    chunks = chunks_of(response.body)
    thinking = [i for i, c in enumerate(chunks) if c["choices"][0]["delta"].get(field)]
    answer = [i for i, c in enumerate(chunks) if c["choices"][0]["delta"].get("content")]
    assert thinking and answer and max(thinking) < min(answer)
    assert content_of(chunks, field).startswith("Let me think")
    assert content_of(chunks) == REPLY
    other = "reasoning" if field == "reasoning_content" else "reasoning_content"
    assert not content_of(chunks, other)


async def test_tool_call_deltas(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+tools"))
    chunks = chunks_of(response.body)
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[1:-1]]
    first = calls[0]
    assert first["index"] == 0 and first["id"].startswith("call_")
    assert first["type"] == "function" and first["function"]["name"] == "get_weather"
    assert all(call["index"] == 0 and "id" not in call for call in calls[1:])
    arguments = "".join(call["function"]["arguments"] for call in calls)
    assert json.loads(arguments) == {"location": "Paris", "unit": "celsius"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert sse_events(response.body)[-1]["data"] == "[DONE]"


async def test_no_done_ends_cleanly_without_done(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+no-done"))
    assert response.complete and b"[DONE]" not in response.body
    assert response.headers["connection"] == "close"
    chunks = chunks_of(response.body)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert content_of(chunks) == REPLY


async def test_azure_prompt_filter_chunk(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+azure"))
    chunks = chunks_of(response.body)
    assert chunks[0]["choices"] == [] and chunks[0]["prompt_filter_results"]
    assert chunks[1]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert content_of(chunks) == REPLY


async def test_null_role_and_empty_finish_reason(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+null-role"))
    chunks = chunks_of(response.body)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    for chunk in chunks[1:]:
        assert chunk["choices"][0]["delta"]["role"] is None
    assert all(c["choices"][0]["finish_reason"] == "" for c in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert content_of(chunks) == REPLY


async def test_no_stream_ignores_stream_true(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+no-stream"))
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload["object"] == "chat.completion"
    assert payload["choices"][0]["message"]["content"] == REPLY


async def test_reply_shape_options(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        sized = chunks_of((await request(server.port, chat_body("mock-gpt+tokens-50"))).body)
        per_event = chunks_of((await request(server.port, chat_body("mock-gpt+per-event-4"))).body)
        code = chunks_of((await request(server.port, chat_body("mock-gpt+code-12"))).body)
        echo = chunks_of(
            (await request(server.port, chat_body("mock-gpt+echo", "say *this* back"))).body
        )
        chars = chunks_of((await request(server.port, chat_body("mock-gpt+chars"))).body)
        ignored = chunks_of(
            (await request(server.port, chat_body("mock-gpt+frobnicate-9+whatever"))).body
        )
    assert len(tokenize(content_of(sized))) == 50
    assert content_of(per_event) == REPLY
    assert len(per_event) == 2 + -(-len(TOKENS) // 4)
    assert content_of(code) == make_code_reply(12)
    assert content_of(echo) == "say *this* back"
    assert [c["choices"][0]["delta"].get("content") for c in chars[1:-1]] == list(REPLY)
    assert content_of(ignored) == REPLY


async def test_rate_limits_the_stream(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        started = time.monotonic()
        response = await request(server.port, chat_body("mock-gpt+tokens-20+rate-100"))
        elapsed = time.monotonic() - started
        assert 0.18 < elapsed < 1.5
        assert len(tokenize(content_of(chunks_of(response.body)))) == 20
    async with mock_server_factory(reply_text=REPLY, tokens_per_second=200) as server:
        started = time.monotonic()
        await request(server.port, chat_body())
        assert time.monotonic() - started > (len(TOKENS) - 1) / 200


async def test_flaky_fails_first_then_answers(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        statuses = [
            (await request(server.port, chat_body("mock-gpt+flaky-2"))).status for _ in range(3)
        ]
    assert statuses == [503, 503, 200]


async def test_options_combine(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        model = "mock-gpt+crlf+keepalive+nospace+per-event-2+tokens-30"
        response = await request(server.port, chat_body(model))
    body = response.body
    assert body.startswith(b": OPENROUTER PROCESSING\r\n\r\n")
    assert b"data:{" in body and b"data: " not in body
    assert body.count(b"\n") == body.count(b"\r\n")
    assert len(tokenize(content_of(chunks_of(body)))) == 30


def test_model_name_parsing() -> None:
    options = parse_model("mock-gpt+http-429+drop-5+crlf+rate-50+per-event-3+whatever")
    assert options.model == "mock-gpt"
    assert (options.http_status, options.drop_after, options.line_ending) == (429, 5, "\r\n")
    assert (options.rate, options.per_event) == (50.0, 3)
    plain = parse_model("llama3.2:latest")
    assert plain.model == "llama3.2:latest" and plain.http_status is None
    assert parse_model("m+stall").stall_after == 0
    assert parse_model("m+stall-7").stall_after == 7
