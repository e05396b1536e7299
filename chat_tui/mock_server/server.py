"""A real OpenAI-compatible HTTP server on loopback, with faults on request.

Built on ``asyncio.start_server`` with a small HTTP/1.1 parser of its own
(``connection.py``), because the faults need byte-level control: chunked bodies cut off
mid-stream, one byte per write, CR-only framing, a stall after the headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chat_tui.mock_server import llamacpp, model_info
from chat_tui.mock_server.connection import BadRequest, ClientGone, Connection, Request
from chat_tui.mock_server.faults import (
    HTML_502,
    auth_error_message,
    error_body,
    fault_message,
)
from chat_tui.mock_server.options import RequestOptions, parse_model
from chat_tui.mock_server.replies import make_code_reply, make_reply, tokenize
from chat_tui.mock_server.stream import (
    THINKING,
    TOOL_CALL_ARGUMENTS,
    TOOL_CALL_NAME,
    SseStream,
)

#: How long ``__aexit__`` waits for connection tasks to finish after cancelling them.
SHUTDOWN_SECONDS = 2.0
MODEL_CREATED = 1_700_000_000
#: Prepended to an all-ASCII reply under ``bytewise`` so that byte splits land inside
#: multi-byte UTF-8 characters.
NON_ASCII_PREFIX = "Café, naïve façade: 中文字符 and emoji 😀🚀. "


@dataclass
class RecordedRequest:
    """One ``/chat/completions`` request the server received, for tests to inspect."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


class MockServer:
    """An OpenAI-compatible server for tests, benchmarks and the offline demo.

    Use as an async context manager; ``base_url`` is ready inside the block. Faults are
    chosen per request through the model name (see ``options.py``).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        tokens_per_second: float = 0,
        tokens_per_event: int = 1,
        reply_tokens: int = 300,
        reply_text: str | None = None,
        models: Sequence[str] = ("mock-gpt", "mock-reasoner", "mock-coder"),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.tokens_per_second = tokens_per_second
        self.tokens_per_event = max(1, tokens_per_event)
        self.reply_tokens = reply_tokens
        self.reply_text = reply_text
        self.models = tuple(models)
        self.host = host
        self.port = port
        #: Every ``/chat/completions`` request, in order of arrival.
        self.requests: list[RecordedRequest] = []
        #: Streams the client closed before the server had finished them.
        self.disconnects = 0
        #: Monotonic time the last complete stream's final byte was written (for benchmarks).
        self.last_stream_end: float | None = None
        self._disconnected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._flaky_failures: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://HOST:PORT/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    async def __aenter__(self) -> MockServer:
        self._disconnected = asyncio.Event()
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            # Each task ends itself on cancellation (see _on_connection); waiting does not
            # retrieve their results, so a genuine bug still gets logged by asyncio.
            await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
        await server.wait_closed()

    @property
    def open_connections(self) -> int:
        """How many client connections the server is serving right now."""
        return len(self._tasks)

    async def wait_for_disconnect(self, timeout: float) -> bool:
        """Wait until a client has closed a stream early; True if one did."""
        if self.disconnects:
            return True
        try:
            await asyncio.wait_for(self._disconnected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # Connections

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Small events must leave at once, not wait for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(reader, writer)
        try:
            await self._serve(connection)
        except ClientGone:
            self.disconnects += 1
            self._disconnected.set()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # The client went away between or inside requests: nothing to answer.
        except asyncio.CancelledError:
            pass  # The server is shutting down; ending quietly keeps asyncio from logging it.
        finally:
            await connection.end_watch()
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, connection: Connection) -> None:
        """Answer requests on one connection until either side ends it (HTTP keep-alive)."""
        while True:
            try:
                request = await connection.read_request()
            except BadRequest as error:
                payload = error_body(error.status, error.message)
                await self._send_json(connection, error.status, payload)
                return
            if request is None:
                return
            keep_alive = await self._route(connection, request)
            if not (keep_alive and request.keep_alive):
                return

    # Routing

    async def _route(self, connection: Connection, request: Request) -> bool:
        """Answer one request; False when the connection must close afterwards."""
        path = request.path.rstrip("/")
        if path.endswith("/models"):
            if request.method != "GET":
                return await self._not_found(connection, request)
            if not self._authorised(request.headers):
                return await self._send_auth_error(connection, request.headers)
            data = [model_info.listing_entry(model, MODEL_CREATED) for model in self.models]
            return await self._send_json(connection, 200, {"object": "list", "data": data})
        if path in ("/props", "/api/show"):
            return await self._model_info(connection, request, path)
        if not path.endswith("/chat/completions") or request.method != "POST":
            return await self._not_found(connection, request)
        body = _json_object(request.body)
        self.requests.append(
            RecordedRequest(request.method, request.path, request.headers, body or {})
        )
        if body is None:
            message = (
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON.)"
            )
            return await self._send_json(connection, 400, error_body(400, message))
        if not self._authorised(request.headers):
            return await self._send_auth_error(connection, request.headers)
        return await self._chat(connection, body)

    async def _chat(self, connection: Connection, body: dict[str, Any]) -> bool:
        model_name = str(body.get("model", ""))
        options = parse_model(model_name)
        if options.flaky and self._flaky_failures.get(model_name, 0) < options.flaky:
            # Fail the first N requests for this model name, then answer: for retry tests.
            self._flaky_failures[model_name] = self._flaky_failures.get(model_name, 0) + 1
            payload = error_body(503, fault_message(503, options.model))
            return await self._send_json(connection, 503, payload)
        if options.http_status is not None:
            return await self._send_fault(connection, options)
        if options.context_window is not None:
            prompt_tokens = _prompt_tokens(body)
            limit = body.get("max_tokens")
            window = options.context_window
            if llamacpp.overflows(window, prompt_tokens, limit, llamacpp=options.llamacpp):
                return await self._send_overflow(connection, body, options, prompt_tokens)
            fits = isinstance(limit, int) and limit > 0 and limit + prompt_tokens < window
            if options.llamacpp and not fits:
                # llama.cpp quietly shortens max_tokens to what is left of the window.
                body = {**body, "max_tokens": window - prompt_tokens}
        tokens = self._reply_tokens(body, options)
        if options.no_stream or not body.get("stream"):
            return await self._send_completion(connection, body, options, tokens)
        stream = self._sse_stream(connection, body, options)
        reusable = await stream.run(tokens, _prompt_tokens(body))
        if stream.ended_at is not None:
            self.last_stream_end = stream.ended_at
        await connection.end_watch()
        return reusable

    async def _model_info(self, connection: Connection, request: Request, path: str) -> bool:
        """llama.cpp's ``/props`` and Ollama's ``/api/show``, for the models whose flavour
        has them; anything else gets the 404 llama-cpp-python's server answers."""
        if path == "/props" and request.method == "GET":
            payload = model_info.props(self.models)
        elif path == "/api/show" and request.method == "POST":
            body = _json_object(request.body) or {}
            name = body.get("model", body.get("name"))
            payload = model_info.ollama_show(name) if isinstance(name, str) else None
        else:
            payload = None
        if payload is None:
            return await self._send_json(connection, 404, {"detail": "Not Found"})
        return await self._send_json(connection, 200, payload)

    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.api_key is None:
            return True
        return headers.get("authorization", "") == f"Bearer {self.api_key}"

    # Plain responses

    async def _send_json(
        self,
        connection: Connection,
        status: int,
        payload: object,
        extra: dict[str, str] | None = None,
    ) -> bool:
        data = json.dumps(payload, ensure_ascii=False).encode()
        await connection.send_response(status, "application/json", data, extra)
        return True

    async def _not_found(self, connection: Connection, request: Request) -> bool:
        message = f"Invalid URL ({request.method} {request.path})"
        return await self._send_json(connection, 404, error_body(404, message, code=""))

    async def _send_auth_error(self, connection: Connection, headers: dict[str, str]) -> bool:
        message = auth_error_message(headers.get("authorization"))
        return await self._send_json(connection, 401, error_body(401, message))

    async def _send_llamacpp_json(
        self, connection: Connection, status: int, payload: object
    ) -> bool:
        """A JSON answer as llama.cpp's FastAPI app writes it: compact, with its headers."""
        extra = {"x-request-id": llamacpp.request_id(), "vary": "Origin"}
        if status == 200:
            # Only answers that got through the route carry it; errors skip the timing.
            extra = {"openai-processing-ms": "0", **extra}
        await connection.send_response(
            status, "application/json", llamacpp.compact_json(payload), extra
        )
        return True

    async def _send_overflow(
        self,
        connection: Connection,
        body: dict[str, Any],
        options: RequestOptions,
        prompt_tokens: int,
    ) -> bool:
        """The answer to a prompt longer than the ``ctx-N`` window, as each server gives it."""
        window = options.context_window or 0
        limit = body.get("max_tokens")
        if not options.llamacpp:
            payload = llamacpp.openai_context_overflow_body(window, prompt_tokens, limit)
            return await self._send_json(connection, 400, payload)
        if body.get("stream") and not options.no_stream:
            return await self._sse_stream(connection, body, options).run_empty()
        payload = llamacpp.context_overflow_body(window, prompt_tokens, limit)
        return await self._send_llamacpp_json(connection, 400, payload)

    async def _send_fault(self, connection: Connection, options: RequestOptions) -> bool:
        status = options.http_status or 500
        if options.llamacpp and status in llamacpp.FAULT_BODIES:
            return await self._send_llamacpp_json(connection, status, llamacpp.FAULT_BODIES[status])
        if status == 502:
            await connection.send_response(502, "text/html", HTML_502.encode())
            return True
        extra = {"Retry-After": "1"} if status == 429 else None
        payload = error_body(status, fault_message(status, options.model))
        return await self._send_json(connection, status, payload, extra)

    def _sse_stream(
        self, connection: Connection, body: dict[str, Any], options: RequestOptions
    ) -> SseStream:
        """A streamed reply at the server's pace."""
        return SseStream(
            connection,
            body,
            options,
            tokens_per_second=self.tokens_per_second,
            tokens_per_event=self.tokens_per_event,
        )

    async def _send_completion(
        self,
        connection: Connection,
        body: dict[str, Any],
        options: RequestOptions,
        tokens: list[str],
    ) -> bool:
        """One ``chat.completion`` object: no ``stream``, or the ``no-stream`` fault."""
        limit = body.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and 0 < limit < len(tokens):
            tokens, finish = tokens[:limit], "length"
        message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
        if options.reasoning_field:
            message[options.reasoning_field] = THINKING
        if options.tools:
            finish = "tool_calls"
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {
                        "name": TOOL_CALL_NAME,
                        "arguments": "".join(TOOL_CALL_ARGUMENTS),
                    },
                }
            ]
        prompt_tokens = _prompt_tokens(body)
        if options.llamacpp and not (options.tools or options.reasoning_field):
            payload = llamacpp.completion(
                str(body.get("model", "")),
                str(message["content"]),
                finish,
                prompt_tokens,
                len(tokens),
            )
            return await self._send_llamacpp_json(connection, 200, payload)
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(tokens),
                "total_tokens": prompt_tokens + len(tokens),
            },
        }
        cost = model_info.usage_cost(options, prompt_tokens, len(tokens))
        if cost is not None:
            payload["usage"]["cost"] = cost
        return await self._send_json(connection, 200, payload)

    # Replies

    def _reply_tokens(self, body: dict[str, Any], options: RequestOptions) -> list[str]:
        """The reply for this request, already split into the pieces it is streamed in."""
        if options.echo:
            text = _last_user_text(body)
        elif options.code_lines is not None:
            text = make_code_reply(options.code_lines)
        elif self.reply_text is not None and options.tokens is None:
            text = self.reply_text
        else:
            length = options.tokens if options.tokens is not None else self.reply_tokens
            text = make_reply(_last_user_text(body), length)
        if options.bytewise and text.isascii():
            text = NON_ASCII_PREFIX + text
        return list(text) if options.chars else tokenize(text)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def _message_text(message: dict[str, Any]) -> str:
    """A message's text, whether ``content`` is a string or a list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _message_text(message)
    return ""


def _prompt_tokens(body: dict[str, Any]) -> int:
    """A rough prompt token count: the tokens of every message, plus 4 each for framing."""
    messages = body.get("messages")
    return sum(
        len(tokenize(_message_text(message))) + 4
        for message in (messages if isinstance(messages, list) else [])
        if isinstance(message, dict)
    )


def serve_forever(host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
    """Run the mock server until Ctrl+C, printing its base URL once it listens."""

    async def main() -> None:
        async with MockServer(host=host, port=port, **options) as server:
            print(server.base_url, flush=True)
            await asyncio.Event().wait()

    # Ctrl+C is how this command is meant to end, so it is not an error worth a traceback.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
