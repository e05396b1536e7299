"""The mock server as an HTTP/1.1 + OpenAI server, seen from the wire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx

from chat_tui.mock_server import MockServer, tokenize
from tests.conftest import MockServerFactory
from tests.mock_server.wire import (
    chat_body,
    chunks_of,
    content_of,
    encode_request,
    read_response,
    request,
    sse_events,
)


async def test_stream_has_openai_framing_with_usage(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text="one two three") as server:
        body = chat_body("mock-coder", stream_options={"include_usage": True})
        response = await request(server.port, body)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.chunked and response.complete
    events = sse_events(response.body)
    assert events[-1]["data"] == "[DONE]"
    chunks = chunks_of(response.body)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]] == ["one", " two", " three"]
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    assert usage["completion_tokens"] == 3
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert all(c["usage"] is None for c in chunks[:-1])
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "mock-coder"
        assert chunk["id"] == chunks[0]["id"] and chunk["id"].startswith("chatcmpl-")
        assert isinstance(chunk["created"], int)


async def test_without_include_usage_there_is_no_usage_at_all(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text="a b") as server:
        response = await request(server.port, chat_body())
    chunks = chunks_of(response.body)
    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks)
    assert content_of(chunks) == "a b"
    assert sse_events(response.body)[-1]["data"] == "[DONE]"


async def test_max_tokens_cuts_the_stream_with_length(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text="a b c d e f") as server:
        response = await request(server.port, chat_body(max_tokens=2))
    chunks = chunks_of(response.body)
    assert content_of(chunks) == "a b"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_without_stream_one_completion_object(
    mock_server_factory: MockServerFactory,
) -> None:
    async with (
        mock_server_factory(reply_text="a b c d e f") as server,
        httpx.AsyncClient() as client,
    ):
        url = f"{server.base_url}/chat/completions"
        payload = (await client.post(url, json={**chat_body(), "stream": False})).json()
        assert payload["object"] == "chat.completion"
        assert payload["choices"][0]["message"] == {"role": "assistant", "content": "a b c d e f"}
        assert payload["choices"][0]["finish_reason"] == "stop"
        assert payload["usage"]["completion_tokens"] == 6
        cut = await client.post(url, json={**chat_body(), "stream": False, "max_tokens": 2})
        assert cut.json()["choices"][0]["message"]["content"] == "a b"
        assert cut.json()["choices"][0]["finish_reason"] == "length"


async def test_keep_alive_serves_several_requests_on_one_connection(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text="hello there") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            bodies = (
                chat_body(),
                {**chat_body(), "stream": False},
                chat_body("mock-gpt+error-event"),  # an error event still ends the body cleanly
                chat_body(),
            )
            for body in bodies:
                writer.write(encode_request(body))
                await writer.drain()
                response = await asyncio.wait_for(read_response(reader), 5)
                assert response.status == 200
                if body["stream"]:
                    assert content_of(chunks_of(response.body)) == "hello there"
                else:
                    assert response.json()["choices"][0]["message"]["content"] == "hello there"
            writer.write(encode_request(method="GET", path="/v1/models"))
            models = await asyncio.wait_for(read_response(reader), 5)
            assert models.json()["object"] == "list"
        finally:
            writer.close()
        assert len(server.requests) == 4


async def test_httpx_reuses_its_connection(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text="x") as server:
        peers: set[object] = set()
        async with httpx.AsyncClient() as client:
            for _ in range(3):
                async with client.stream(
                    "POST", f"{server.base_url}/chat/completions", json=chat_body()
                ) as response:
                    stream = response.extensions["network_stream"]
                    peers.add(stream.get_extra_info("client_addr"))
                    assert b"[DONE]" in await response.aread()
        assert len(peers) == 1


async def test_models_list(mock_server_factory: MockServerFactory) -> None:
    async with (
        mock_server_factory(models=("a-model", "b-model")) as server,
        httpx.AsyncClient() as client,
    ):
        response = await client.get(f"{server.base_url}/models")
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "list"
    assert [m["id"] for m in payload["data"]] == ["a-model", "b-model"]
    for model in payload["data"]:
        assert model["object"] == "model" and model["owned_by"] == "mock"
        assert isinstance(model["created"], int)


async def test_bearer_key_is_checked(mock_server_factory: MockServerFactory) -> None:
    async with (
        mock_server_factory(api_key="sk-right-key-123", reply_text="ok") as server,
        httpx.AsyncClient() as client,
    ):
        url = f"{server.base_url}/chat/completions"
        missing = await client.post(url, json=chat_body())
        wrong = await client.post(
            url, json=chat_body(), headers={"Authorization": "Bearer sk-wrong-key-456"}
        )
        models = await client.get(f"{server.base_url}/models")
        right = await client.post(
            url, json=chat_body(), headers={"Authorization": "Bearer sk-right-key-123"}
        )
    assert missing.status_code == wrong.status_code == models.status_code == 401
    error = wrong.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"].startswith("Incorrect API key provided: sk-...456.")
    assert "sk-wrong-key-456" not in error["message"]
    assert "didn't provide an API key" in missing.json()["error"]["message"]
    assert right.status_code == 200 and b"[DONE]" in right.content
    assert server.requests[-1].headers["authorization"] == "Bearer sk-right-key-123"


async def test_unknown_path_and_bad_json(mock_server: MockServer) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{mock_server.base_url}/nothing")
        bad = await client.post(f"{mock_server.base_url}/chat/completions", content=b"{nope")
        not_object = await client.post(f"{mock_server.base_url}/chat/completions", json=[1])
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Invalid URL (GET /v1/nothing)"
    assert bad.status_code == not_object.status_code == 400
    assert "could not parse the JSON body" in bad.json()["error"]["message"]
    assert bad.json()["error"]["type"] == "invalid_request_error"


async def test_chunked_request_body_is_read(mock_server_factory: MockServerFactory) -> None:
    async def body() -> AsyncIterator[bytes]:
        payload = json.dumps(chat_body("mock-gpt+echo", "sent in pieces")).encode()
        for start in range(0, len(payload), 7):
            yield payload[start : start + 7]

    async with mock_server_factory() as server, httpx.AsyncClient() as client:
        response = await client.post(f"{server.base_url}/chat/completions", content=body())
    assert response.status_code == 200
    assert content_of(chunks_of(response.content)) == "sent in pieces"
    assert server.requests[-1].body["messages"][0]["content"] == "sent in pieces"


async def test_malformed_request_line_gets_400(mock_server: MockServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", mock_server.port)
    writer.write(b"NONSENSE\r\n\r\n")
    data = await asyncio.wait_for(reader.read(-1), 5)
    writer.close()
    assert data.startswith(b"HTTP/1.1 400 ")


async def test_requests_are_recorded_in_order(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_text="x") as server:
        await request(server.port, chat_body(content="first"), headers={"X-Test": "1"})
        await request(server.port, chat_body("mock-coder", content="second"))
    assert [r.body["messages"][0]["content"] for r in server.requests] == ["first", "second"]
    assert server.requests[0].headers["x-test"] == "1"
    assert server.requests[1].path == "/v1/chat/completions"
    assert server.requests[1].method == "POST"


async def test_default_reply_refers_to_the_prompt(mock_server: MockServer) -> None:
    response = await request(mock_server.port, chat_body(content="Explain sockets"))
    text = content_of(chunks_of(response.body))
    assert text.startswith("You asked about *Explain sockets*.")
    assert abs(len(tokenize(text)) - 300) < 80
    assert text.count("```") % 2 == 0


async def test_server_level_options(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory(reply_tokens=40, tokens_per_event=5) as server:
        response = await request(server.port, chat_body())
    chunks = chunks_of(response.body)
    content = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert all(len(tokenize(c["choices"][0]["delta"]["content"])) <= 5 for c in content)
    assert len(content) == -(-len(tokenize(content_of(chunks))) // 5)
