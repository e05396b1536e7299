"""The llama.cpp options of the mock server (``llamacpp``, ``ctx-N``, ``interrupt-N``), on the wire.

What they reproduce was captured from ``python3 -m llama_cpp.server``; the real-server suite
(``tests/real_server/test_wire.py``) checks the same shapes against the real thing.
"""

from __future__ import annotations

import asyncio
import re

from chat_tui.mock_server import tokenize
from chat_tui.mock_server.options import parse_model
from tests.conftest import MockServerFactory
from tests.mock_server.wire import (
    chat_body,
    chunks_of,
    content_of,
    dechunk,
    encode_request,
    request,
    sse_events,
)

REPLY = "The quick brown fox jumps over the lazy dog again and again."
TOKENS = tokenize(REPLY)
#: A prompt of 600 mock tokens: far over a ``ctx-100`` window.
LONG_PROMPT = "word " * 600
UUID_ID = re.compile(r"^chatcmpl-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def test_llamacpp_stream_has_llamacpps_chunk_shape(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        # include_usage is asked for and, as on the real server, ignored.
        body = chat_body("mock-gpt+llamacpp", stream_options={"include_usage": True})
        response = await request(server.port, body)
    assert response.status == 200 and response.chunked and response.complete
    events = sse_events(response.body)
    assert events[-1]["data"] == "[DONE]"
    chunks = chunks_of(response.body)
    for chunk in chunks:
        assert list(chunk) == ["id", "model", "created", "object", "choices"]
        assert list(chunk["choices"][0]) == ["index", "delta", "logprobs", "finish_reason"]
        assert chunk["choices"][0]["logprobs"] is None
        assert chunk["id"] == chunks[0]["id"] and UUID_ID.match(chunk["id"])
        assert chunk["model"] == "mock-gpt+llamacpp"
        assert chunk["created"] == chunks[0]["created"]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert [c["choices"][0]["delta"] for c in chunks[1:-1]] == [{"content": t} for t in TOKENS]
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert b'"usage"' not in response.body
    # One HTTP chunk per event, as uvicorn writes them.
    assert len(response.chunk_sizes) == len(events)
    assert response.body.startswith(b'data: {"id": "chatcmpl-')


async def test_llamacpp_stream_headers(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+llamacpp"))
    headers = response.headers
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert headers["x-accel-buffering"] == "no"
    assert headers["server"] == "uvicorn"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    assert headers["openai-processing-ms"].isdigit()


async def test_llamacpp_escapes_non_ascii_in_the_stream(
    mock_server_factory: MockServerFactory,
) -> None:
    text = "Café 中文 😀"
    async with mock_server_factory(reply_text=text) as server:
        response = await request(server.port, chat_body("mock-gpt+llamacpp"))
        plain = await request(server.port, chat_body("mock-gpt"))
    assert response.body.isascii()
    assert b"\\u00e9" in response.body and b"\\ud83d\\ude00" in response.body
    assert content_of(chunks_of(response.body)) == text
    # Without the option the mock keeps sending raw UTF-8, as before.
    assert "中文".encode() in plain.body


async def test_llamacpp_max_tokens_ends_with_length(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+llamacpp", max_tokens=3))
    chunks = chunks_of(response.body)
    assert content_of(chunks) == "".join(TOKENS[:3])
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "length",
    }


async def test_llamacpp_keepalive_is_sse_starlettes_ping(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        response = await request(server.port, chat_body("mock-gpt+llamacpp+keepalive"))
    comments = [c for event in sse_events(response.body) for c in event["comments"]]
    assert comments
    for comment in comments:
        assert re.fullmatch(r"ping - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00:00", comment)
    assert content_of(chunks_of(response.body)) == REPLY


async def test_llamacpp_without_stream_is_compact_json(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        body = chat_body("mock-gpt+llamacpp", stream=False, max_tokens=2)
        response = await request(server.port, body)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert b", " not in response.body.split(b'"content":')[0]
    payload = response.json()
    assert list(payload) == ["id", "object", "created", "model", "choices", "usage"]
    choice = payload["choices"][0]
    assert choice == {
        "index": 0,
        "message": {"content": "".join(TOKENS[:2]), "role": "assistant"},
        "logprobs": None,
        "finish_reason": "length",
    }
    assert list(choice["message"]) == ["content", "role"]
    assert payload["usage"]["completion_tokens"] == 2
    assert UUID_ID.match(payload["id"])


async def test_llamacpp_http_faults_have_llamacpps_bodies(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        unauthorised = await request(server.port, chat_body("mock-gpt+llamacpp+http-401"))
        invalid = await request(server.port, chat_body("mock-gpt+llamacpp+http-500"))
        limited = await request(server.port, chat_body("mock-gpt+llamacpp+http-429"))
    assert unauthorised.status == 401
    assert unauthorised.body == b'{"detail":"Invalid API key"}'
    assert invalid.status == 500
    error = invalid.json()["error"]
    assert error["type"] == "internal_server_error"
    assert error["code"] is None and error["param"] is None
    assert error["message"].startswith("1 validation error:\n")
    assert "llama_cpp/server/app.py" in error["message"]
    # llama.cpp never rate-limits: a 429 can only come from something in front of it.
    assert limited.status == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"


async def test_llamacpp_context_overflow_streams_an_empty_body(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        body = chat_body("mock-gpt+llamacpp+ctx-100", LONG_PROMPT, max_tokens=8)
        response = await request(server.port, body)
    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.complete and response.body == b""


async def test_llamacpp_context_overflow_without_stream_is_a_400(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        sized = await request(
            server.port,
            chat_body("mock-gpt+llamacpp+ctx-100", LONG_PROMPT, stream=False, max_tokens=8),
        )
        unsized = await request(
            server.port, chat_body("mock-gpt+llamacpp+ctx-100", LONG_PROMPT, stream=False)
        )
    assert sized.status == 400 and sized.headers["content-type"] == "application/json"
    error = sized.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        "messages",
        "context_length_exceeded",
    )
    match = re.fullmatch(
        r"This model's maximum context length is 100 tokens\. However, you requested "
        r"(\d+) tokens \((\d+) in the messages, 8 in the completion\)\. Please reduce the "
        r"length of the messages or completion\.",
        error["message"],
    )
    assert match and int(match[1]) == int(match[2]) + 8
    # llama.cpp formats a missing max_tokens as Python's None.
    assert "None in the completion" in unsized.json()["error"]["message"]


async def test_llamacpp_shortens_max_tokens_to_the_room_left(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        # "hi" is 5 mock tokens with its framing: 8 - 5 leaves room for 3.
        response = await request(server.port, chat_body("mock-gpt+llamacpp+ctx-8"))
    chunks = chunks_of(response.body)
    assert content_of(chunks) == "".join(TOKENS[:3])
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_openai_context_overflow_is_a_400_before_streaming(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        streamed = await request(server.port, chat_body("mock-gpt+ctx-100", LONG_PROMPT))
        sized = await request(server.port, chat_body("mock-gpt+ctx-100", "short", max_tokens=200))
        fits = await request(server.port, chat_body("mock-gpt+ctx-100", "short", max_tokens=8))
    assert streamed.status == 400
    error = streamed.json()["error"]
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert re.fullmatch(
        r"This model's maximum context length is 100 tokens\. However, your messages "
        r"resulted in \d+ tokens\. Please reduce the length of the messages\.",
        error["message"],
    )
    assert sized.status == 400
    assert "200 in the completion" in sized.json()["error"]["message"]
    assert fits.status == 200
    assert content_of(chunks_of(fits.body)) == "".join(TOKENS[:8])


async def test_interrupt_ends_with_done_and_no_finish_reason(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        llama = await request(server.port, chat_body("mock-gpt+llamacpp+interrupt-4"))
        plain = await request(server.port, chat_body("mock-gpt+interrupt-2"))
        short = await request(server.port, chat_body("mock-gpt+interrupt-500"))
    for response, sent in ((llama, 4), (plain, 2), (short, len(TOKENS))):
        assert response.status == 200
        assert sse_events(response.body)[-1]["data"] == "[DONE]"
        # The body is cut: no terminating zero-size chunk after [DONE].
        assert not response.complete
        assert response.raw_body.endswith(b"data: [DONE]\n\n\r\n")
        chunks = chunks_of(response.body)
        assert content_of(chunks) == "".join(TOKENS[:sent])
        assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks)


async def test_interrupted_stream_closes_a_kept_alive_connection(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text=REPLY) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(encode_request(chat_body("mock-gpt+llamacpp+interrupt-1")))
            await writer.drain()
            received = await asyncio.wait_for(reader.read(-1), 5)
        finally:
            writer.close()
    assert received.endswith(b"data: [DONE]\n\n\r\n")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    chunks, complete = dechunk(body)
    assert not complete
    assert content_of(chunks_of(b"".join(chunks))) == TOKENS[0]


def test_llamacpp_options_parse() -> None:
    options = parse_model("gemma+llamacpp+ctx-2048+interrupt-5")
    assert options.model == "gemma"
    assert options.llamacpp
    assert (options.context_window, options.interrupt_after) == (2048, 5)
    plain = parse_model("mock-gpt")
    assert not plain.llamacpp
    assert plain.context_window is None and plain.interrupt_after is None
    assert parse_model("m+ctx-x").context_window is None
