"""A real OpenAI-compatible HTTP server on loopback, with faults on request.

Built on ``asyncio.start_server`` with a small HTTP/1.1 parser of its own, because the
faults need byte-level control: chunked bodies cut off mid-stream, one byte per write,
CR-only framing, a stall after the headers.
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

from chat_tui.mock_server.options import RequestOptions, parse_model
from chat_tui.mock_server.replies import make_code_reply, make_reply, tokenize

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
FLUSH_BYTES = 16 * 1024
THINKING = (
    "Let me think about what is being asked. The user wants a clear answer with an "
    "example, so I will explain the idea first and then show code."
)

ERRORS = {
    400: ("Bad Request", "invalid_request_error", "bad_request"),
    401: ("Unauthorized", "invalid_request_error", "invalid_api_key"),
    404: ("Not Found", "invalid_request_error", "model_not_found"),
    429: ("Too Many Requests", "requests", "rate_limit_exceeded"),
    500: ("Internal Server Error", "server_error", "internal_error"),
    503: ("Service Unavailable", "server_error", "service_unavailable"),
}
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


class _ClientGone(Exception):
    """The client closed the connection while the server was still answering."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.pushback = b""
        self.eof_watch: asyncio.Task[bytes] | None = None

    def watch_for_close(self) -> asyncio.Task[bytes]:
        if self.eof_watch is None:
            self.eof_watch = asyncio.ensure_future(self.reader.read(1))
        return self.eof_watch

    @property
    def client_gone(self) -> bool:
        watch = self.eof_watch
        return bool(watch and watch.done() and not watch.cancelled() and watch.result() == b"")

    async def end_watch(self) -> None:
        watch, self.eof_watch = self.eof_watch, None
        if watch is None:
            return
        if watch.done():
            self.pushback += watch.result() if not watch.cancelled() else b""
        else:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch


class MockServer:
    """An OpenAI-compatible server for tests, benchmarks and the offline demo.

    Use as an async context manager; ``base_url`` is ready inside the block.
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
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self.last_stream_end: float | None = None
        self._disconnected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._flaky_failures: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def __aenter__(self) -> MockServer:
        self._disconnected = asyncio.Event()
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self.port, limit=MAX_HEADER_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def wait_for_disconnect(self, timeout: float) -> bool:
        """Wait until a client has closed a stream early; True if one did."""
        if self.disconnects:
            return True
        try:
            await asyncio.wait_for(self._disconnected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # Connections and requests

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(reader, writer)
        try:
            while await self._serve_one(connection):
                pass
        except _ClientGone:
            self._note_disconnect()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # The server is shutting down; ending quietly keeps asyncio from logging it.
            pass
        finally:
            await connection.end_watch()
            with contextlib.suppress(Exception):
                writer.close()
            self._tasks.discard(task)  # type: ignore[arg-type]

    def _note_disconnect(self) -> None:
        self.disconnects += 1
        self._disconnected.set()

    async def _serve_one(self, connection: _Connection) -> bool:
        """Answer one request; False when the connection should close."""
        head = connection.pushback
        connection.pushback = b""
        reader = connection.reader
        while b"\r\n\r\n" not in head:
            chunk = await reader.read(4096)
            if not chunk:
                return False
            head += chunk
            if len(head) > MAX_HEADER_BYTES:
                return False
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = [*lines[0].split(" "), "", "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY_BYTES:
            await self._send_json_error(connection, 413, "Request body too large.")
            return False
        body = rest
        if len(body) < length:
            body += await reader.readexactly(length - len(body))
        connection.pushback = body[length:]
        body = body[:length]
        keep_alive = headers.get("connection", "").lower() != "close"
        await self._route(connection, method, path.split("?")[0], headers, body)
        return keep_alive

    async def _route(
        self,
        connection: _Connection,
        method: str,
        path: str,
        headers: dict[str, str],
        raw_body: bytes,
    ) -> None:
        if path.rstrip("/").endswith("/models") and method == "GET":
            if not self._authorised(headers):
                await self._send_auth_error(connection)
                return
            data = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "mock"}
                for m in self.models
            ]
            await self._send_json(connection, 200, {"object": "list", "data": data})
            return
        if not path.rstrip("/").endswith("/chat/completions") or method != "POST":
            await self._send_json_error(connection, 404, f"Unknown path {path}.")
            return
        try:
            body = json.loads(raw_body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):
            self.requests.append(RecordedRequest(method, path, headers, {}))
            await self._send_json_error(connection, 400, "We could not parse the JSON body.")
            return
        self.requests.append(RecordedRequest(method, path, headers, body))
        if not self._authorised(headers):
            await self._send_auth_error(connection)
            return
        model_name = str(body.get("model", ""))
        options = parse_model(model_name)
        if options.flaky and self._flaky_failures.get(model_name, 0) < options.flaky:
            # Fail the first N requests for this model name, then answer: for retry tests.
            self._flaky_failures[model_name] = self._flaky_failures.get(model_name, 0) + 1
            await self._send_json_error(connection, 503, "Overloaded, try again shortly.")
            return
        if options.http_status is not None:
            await self._send_fault(connection, options)
            return
        if options.no_stream or not body.get("stream"):
            await self._send_completion(connection, body, options)
            return
        await self._send_stream(connection, body, options)

    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.api_key is None:
            return True
        return headers.get("authorization", "") == f"Bearer {self.api_key}"

    # Plain responses

    async def _send(
        self,
        connection: _Connection,
        status: int,
        content_type: str,
        payload: bytes,
        extra: dict[str, str] | None = None,
    ) -> None:
        reason = ERRORS.get(status, ("OK" if status == 200 else "Error",))[0]
        if status == 502:
            reason = "Bad Gateway"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(payload)}",
        ]
        lines += [f"{key}: {value}" for key, value in (extra or {}).items()]
        connection.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await connection.writer.drain()

    async def _send_json(
        self,
        connection: _Connection,
        status: int,
        payload: object,
        extra: dict[str, str] | None = None,
    ) -> None:
        await self._send(
            connection, status, "application/json", json.dumps(payload).encode(), extra
        )

    async def _send_json_error(
        self,
        connection: _Connection,
        status: int,
        message: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        _, kind, code = ERRORS.get(status, ("", "server_error", "error"))
        error = {"message": message, "type": kind, "param": None, "code": code}
        await self._send_json(connection, status, {"error": error}, extra)

    async def _send_auth_error(self, connection: _Connection) -> None:
        await self._send_json_error(
            connection,
            401,
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
        )

    async def _send_fault(self, connection: _Connection, options: RequestOptions) -> None:
        status = options.http_status or 500
        if status == 502:
            await self._send(connection, 502, "text/html", HTML_502.encode())
            return
        messages = {
            401: "Incorrect API key provided: sk-...xyz. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            404: f"The model `{options.model}` does not exist or you do not have access to it.",
            429: f"Rate limit reached for requests on {options.model}: limit 3/min. "
            "Please try again in 1s.",
            500: "The server had an error while processing your request. Sorry about that!",
            503: "The engine is currently overloaded, please try again later.",
        }
        extra = {"Retry-After": "1"} if status == 429 else None
        message = messages.get(status, f"Mock error {status}.")
        await self._send_json_error(connection, status, message, extra)

    # Replies

    def _reply_tokens(self, body: dict[str, Any], options: RequestOptions) -> list[str]:
        if options.echo:
            messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
            users = [m for m in messages if m.get("role") == "user"]
            text = str(users[-1].get("content", "")) if users else ""
        elif options.code_lines is not None:
            text = make_code_reply(options.code_lines)
        elif self.reply_text is not None and options.tokens is None:
            text = self.reply_text
        else:
            prompt = _last_user_text(body)
            text = make_reply(prompt, options.tokens or self.reply_tokens)
        if options.bytewise and text.isascii():
            text = "Café 中文 😀 " + text
        return list(text) if options.chars else tokenize(text)

    def _prompt_tokens(self, body: dict[str, Any]) -> int:
        total = 0
        for message in body.get("messages", []):
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                total += len(tokenize(message["content"])) + 4
        return total

    async def _send_completion(
        self, connection: _Connection, body: dict[str, Any], options: RequestOptions
    ) -> None:
        tokens = self._reply_tokens(body, options)
        limit = body.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and 0 < limit < len(tokens):
            tokens, finish = tokens[:limit], "length"
        message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
        if options.reasoning_field:
            message[options.reasoning_field] = THINKING
        prompt_tokens = self._prompt_tokens(body)
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
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
        await self._send_json(connection, 200, payload)

    async def _send_stream(
        self, connection: _Connection, body: dict[str, Any], options: RequestOptions
    ) -> None:
        writer = connection.writer
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        await writer.drain()
        connection.watch_for_close()
        stream = _StreamWriter(self, connection, body, options)
        await stream.run(self._reply_tokens(body, options), self._prompt_tokens(body))
        await connection.end_watch()


class _StreamWriter:
    """Writes one SSE response body, honouring the request's options."""

    def __init__(
        self,
        server: MockServer,
        connection: _Connection,
        body: dict[str, Any],
        options: RequestOptions,
    ) -> None:
        self.server = server
        self.connection = connection
        self.options = options
        self.model = str(body.get("model", ""))
        self.include_usage = bool(
            isinstance(body.get("stream_options"), dict)
            and body["stream_options"].get("include_usage")
        )
        limit = body.get("max_tokens")
        self.max_tokens = limit if isinstance(limit, int) and limit > 0 else None
        self.id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        self.created = int(time.time())
        rate = options.rate if options.rate is not None else server.tokens_per_second
        self.interval = (options.per_event or server.tokens_per_event) / rate if rate else 0.0
        self.per_event = options.per_event or server.tokens_per_event
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.started = time.monotonic()
        self.events_sent = 0

    # Framing

    def _event(self, payload: str, event_type: str | None = None) -> None:
        end = self.options.line_ending
        prefix = "data: " if self.options.space_after_colon else "data:"
        text = (f"event: {event_type}{end}" if event_type else "") + prefix + payload + end + end
        self._raw(text.encode())

    def _raw(self, data: bytes) -> None:
        self.buffer.append(data)
        self.buffered += len(data)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> None:
        if self.options.null_role and "role" not in delta:
            delta = {"role": None, **delta}
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": finish
                    if finish is not None
                    else ("" if self.options.null_role else None),
                }
            ],
        }
        if self.include_usage:
            chunk["usage"] = None
        self._event(json.dumps(chunk, ensure_ascii=False))

    async def flush(self, force: bool = False) -> None:
        if not self.buffer or (not force and self.buffered < FLUSH_BYTES and not self.interval):
            return
        data = b"".join(self.buffer)
        self.buffer.clear()
        self.buffered = 0
        await self._write_chunked(data)

    async def _write_chunked(self, data: bytes) -> None:
        writer = self.connection.writer
        if self.connection.client_gone:
            raise _ClientGone
        try:
            if self.options.bytewise:
                for index in range(len(data)):
                    writer.write(b"1\r\n" + data[index : index + 1] + b"\r\n")
                    await writer.drain()
                    await asyncio.sleep(0)
            else:
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
        except (ConnectionError, RuntimeError) as error:
            raise _ClientGone from error

    async def _pace(self, index: int) -> None:
        if self.interval:
            await self.flush(force=True)
            delay = self.started + index * self.interval - time.monotonic()
            if delay > 0:
                await self._sleep(delay)
        elif self.options.keepalive or self.options.bytewise:
            await self.flush(force=True)
        else:
            await self.flush()

    async def _sleep(self, delay: float) -> None:
        watch = self.connection.watch_for_close()
        done, _ = await asyncio.wait({watch}, timeout=delay)
        if done and self.connection.client_gone:
            raise _ClientGone

    async def _stall(self) -> None:
        await self.flush(force=True)
        watch = self.connection.watch_for_close()
        await asyncio.wait({watch})
        raise _ClientGone

    # The body

    async def run(self, tokens: list[str], prompt_tokens: int) -> None:
        options = self.options
        if options.keepalive:
            self._raw(f": OPENROUTER PROCESSING{options.line_ending}{options.line_ending}".encode())
            await self.flush(force=True)
        if options.azure:
            self._event(json.dumps({"choices": [], "prompt_filter_results": [{"index": 0}]}))
        self._chunk({"role": "assistant", "content": None if options.azure else ""})
        if options.stall_after == 0:
            await self._stall()
        completion = 0
        if options.reasoning_field:
            for piece in tokenize(THINKING):
                self._chunk({options.reasoning_field: piece, "content": None})
                completion += 1
            await self.flush(force=True)
        if options.tools:
            await self._send_tool_call()
            return
        finish = "stop"
        if self.max_tokens is not None and self.max_tokens < len(tokens):
            tokens, finish = tokens[: self.max_tokens], "length"
        sent = 0
        per_event = self.per_event
        for start in range(0, len(tokens), per_event):
            piece = "".join(tokens[start : start + per_event])
            self._chunk({"content": piece})
            sent = start + per_event
            completion += min(per_event, len(tokens) - start)
            if options.keepalive and (start // per_event) % 10 == 9:
                self._raw(
                    f": OPENROUTER PROCESSING{options.line_ending}{options.line_ending}".encode()
                )
            if options.error_event and sent >= 3:
                error = {
                    "error": {
                        "message": "The server had an error while processing your request.",
                        "type": "server_error",
                        "code": "internal_error",
                    }
                }
                self._event(json.dumps(error), "error" if options.error_event_typed else None)
                await self._end()
                return
            if options.drop_after is not None and sent >= options.drop_after:
                await self.flush(force=True)
                self.connection.writer.close()
                return
            if options.stall_after is not None and sent >= options.stall_after:
                await self._stall()
            await self._pace(start // per_event + 1)
        self._chunk({}, finish)
        if self.include_usage:
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion,
            }
            self._event(
                json.dumps(
                    {
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": usage,
                    }
                )
            )
        if options.send_done:
            self._event("[DONE]")
        await self._end()

    async def _send_tool_call(self) -> None:
        call_id = f"call_{uuid.uuid4().hex[:8]}"
        self._chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        )
        for fragment in ('{"loc', 'ation": "Par', 'is", "unit"', ': "celsius"}'):
            self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
        self._chunk({}, "tool_calls")
        self._event("[DONE]")
        await self._end()

    async def _end(self) -> None:
        await self.flush(force=True)
        await self._write_terminator()
        self.server.last_stream_end = time.monotonic()

    async def _write_terminator(self) -> None:
        try:
            self.connection.writer.write(b"0\r\n\r\n")
            await self.connection.writer.drain()
        except (ConnectionError, RuntimeError) as error:
            raise _ClientGone from error


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", []) or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""


def serve_forever(host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
    """Run the mock server until Ctrl+C, printing its base URL once it listens."""

    async def main() -> None:
        async with MockServer(host=host, port=port, **options) as server:
            print(server.base_url, flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
