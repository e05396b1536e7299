"""The mock server itself, seen from the wire: framing, keep-alive, replies, options."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_tui.mock_server import MockServer, make_code_reply, make_reply, tokenize
from chat_tui.mock_server.options import parse_model

BODY = {"model": "mock-gpt", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


async def raw_request(server: MockServer, body: dict[str, object]) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    payload = json.dumps(body).encode()
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


async def test_stream_is_chunked_openai_framing_with_usage_and_done() -> None:
    async with MockServer(reply_text="one two") as server:
        data = await raw_request(server, {**BODY, "stream_options": {"include_usage": True}})
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"text/event-stream" in head
    assert body.endswith(b"0\r\n\r\n")
    events = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: ")]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2
    assert all(c["usage"] is None for c in chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text == "one two"


async def test_dropped_stream_has_no_terminating_chunk() -> None:
    async with MockServer(reply_text="a b c d e f g") as server:
        data = await raw_request(server, {**BODY, "model": "mock-gpt+drop-2"})
    assert not data.endswith(b"0\r\n\r\n") and b"[DONE]" not in data


async def test_keep_alive_serves_two_requests_on_one_connection() -> None:
    async with MockServer(reply_text="hello") as server:
        transport = httpx.AsyncHTTPTransport()
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(2):
                response = await client.post(f"{server.base_url}/chat/completions", json=BODY)
                assert response.status_code == 200 and b"[DONE]" in response.content
            pool = transport._pool
            assert len(pool.connections) == 1
        assert len(server.requests) == 2


async def test_max_tokens_stops_with_length_and_plain_json_without_stream() -> None:
    async with MockServer(reply_text="a b c d e f") as server, httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.base_url}/chat/completions",
            json={**BODY, "stream": False, "max_tokens": 2},
        )
        payload = response.json()
        assert payload["object"] == "chat.completion"
        assert payload["choices"][0]["finish_reason"] == "length"
        assert payload["choices"][0]["message"]["content"] == "a b"
        bad = await client.post(f"{server.base_url}/chat/completions", content=b"{nope")
        assert bad.status_code == 400 and "parse" in bad.json()["error"]["message"]
        missing = await client.get(f"{server.base_url}/nothing")
        assert missing.status_code == 404


@given(st.text(max_size=300))
def test_tokenize_round_trips(text: str) -> None:
    assert "".join(tokenize(text)) == text


@pytest.mark.parametrize("tokens", [50, 300, 2000])
def test_replies_are_complete_documents(tokens: int) -> None:
    reply = make_reply("How do streams work?", tokens, seed=1)
    assert reply == make_reply("How do streams work?", tokens, seed=1)
    assert reply.count("```") % 2 == 0
    assert "*How do streams work*" in reply
    assert abs(len(tokenize(reply)) - tokens) < max(60, tokens // 4)


def test_code_reply_has_exactly_the_lines_asked_for() -> None:
    lines = make_code_reply(300).splitlines()
    assert lines[0] == "```python" and lines[-1] == "```" and len(lines) == 302


def test_options_parse_and_unknown_ones_are_ignored() -> None:
    options = parse_model("mock-gpt+http-429+drop-5+crlf+rate-50+per-event-3+whatever")
    assert options.model == "mock-gpt"
    assert (options.http_status, options.drop_after, options.line_ending) == (429, 5, "\r\n")
    assert (options.rate, options.per_event) == (50.0, 3)
