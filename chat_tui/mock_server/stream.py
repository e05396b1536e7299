"""One streamed reply: OpenAI's SSE framing, and the faults a request asked for."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import uuid
from typing import Any

from chat_tui.mock_server import llamacpp, model_info
from chat_tui.mock_server.connection import ClientGone, Connection
from chat_tui.mock_server.options import RequestOptions
from chat_tui.mock_server.replies import tokenize

#: Bytes gathered before a write when no rate is set: one syscall per ~16 KB, not per token.
FLUSH_BYTES = 16 * 1024
#: Content tokens sent before an ``error-event`` fault.
ERROR_AFTER = 3
#: How often (in events) the ``keepalive`` fault repeats its comment line.
KEEPALIVE_EVERY = 10
THINKING = (
    "Let me think about what is being asked. The user wants a clear answer with an "
    "example, so I will explain the idea first and then show code."
)
ERROR_EVENT = {
    "error": {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "code": "internal_error",
    }
}
TOOL_CALL_NAME = "get_weather"
TOOL_CALL_ARGUMENTS = ('{"loc', 'ation": "Par', 'is", "unit"', ': "celsius"}')
_MARK = "\x00piece\x00"


class SseStream:
    """Writes one ``text/event-stream`` response with a chunked body.

    ``run`` returns whether the connection may serve another request; it raises
    ``ClientGone`` when the client closed the connection before the stream was over.
    """

    def __init__(
        self,
        connection: Connection,
        body: dict[str, Any],
        options: RequestOptions,
        *,
        tokens_per_second: float,
        tokens_per_event: int,
    ) -> None:
        self.connection = connection
        self.options = options
        self.ended_at: float | None = None
        self.model = str(body.get("model", ""))
        stream_options = body.get("stream_options")
        # llama.cpp does not know stream_options: it never sends usage in a stream.
        self.include_usage = (
            not options.llamacpp
            and isinstance(stream_options, dict)
            and bool(stream_options.get("include_usage"))
        )
        # llama.cpp's stream JSON is json.dumps with its defaults: non-ASCII as \uXXXX.
        self.ensure_ascii = options.llamacpp
        limit = body.get("max_tokens")
        self.max_tokens = limit if isinstance(limit, int) and limit > 0 else None
        self.id = (
            llamacpp.completion_id() if options.llamacpp else f"chatcmpl-{uuid.uuid4().hex[:24]}"
        )
        self.created = int(time.time())
        self.per_event = max(1, options.per_event or tokens_per_event)
        rate = options.rate if options.rate is not None else tokens_per_second
        self.interval = self.per_event / rate if rate > 0 else 0.0
        self.end = options.line_ending
        self.data_prefix = "data: " if options.space_after_colon else "data:"
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.events = 0
        self.started = time.monotonic()
        # Content chunks differ only in their text: build the JSON around it once.
        template = json.dumps(self._chunk_dict({"content": _MARK}), ensure_ascii=self.ensure_ascii)
        self.content_head, self.content_tail = template.split(json.dumps(_MARK))

    # Framing

    def _chunk_dict(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if self.options.null_role and "role" not in delta:
            delta = {"role": None, **delta}
        if finish is None and self.options.null_role:
            finish = ""  # Ollama has sent "" rather than null on content chunks.
        if self.options.llamacpp:
            return llamacpp.chunk_dict(self.id, self.model, self.created, delta, finish)
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def _raw(self, data: bytes) -> None:
        self.buffer.append(data)
        self.buffered += len(data)

    def _event(self, payload: str, event_type: str | None = None) -> None:
        end = self.end
        head = f"event: {event_type}{end}" if event_type else ""
        self._raw(f"{head}{self.data_prefix}{payload}{end}{end}".encode())

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> None:
        chunk = self._chunk_dict(delta, finish)
        self._event(json.dumps(chunk, ensure_ascii=self.ensure_ascii))

    def _content(self, text: str) -> None:
        text_json = json.dumps(text, ensure_ascii=self.ensure_ascii)
        self._event(self.content_head + text_json + self.content_tail)

    def _comment(self) -> None:
        if self.options.llamacpp:
            self._raw(llamacpp.ping_comment(self.end).encode())
            return
        self._raw(f": OPENROUTER PROCESSING{self.end}{self.end}".encode())

    # Writing and pacing

    async def flush(self, force: bool = False) -> None:
        """Write what is buffered: always when forced or paced, else once enough has built up."""
        if not self.buffer or (not force and not self.interval and self.buffered < FLUSH_BYTES):
            return
        items, self.buffer = self.buffer, []
        data = b"".join(items)
        self.buffered = 0
        if self.options.bytewise:
            # One byte per chunk and per write, so reads split events and UTF-8 characters.
            for index in range(len(data)):
                await self.connection.write(b"1\r\n" + data[index : index + 1] + b"\r\n")
                await asyncio.sleep(0)
        elif self.options.llamacpp:
            # uvicorn writes every SSE event as an HTTP chunk of its own.
            await self.connection.write(
                b"".join(b"%x\r\n%s\r\n" % (len(item), item) for item in items)
            )
        else:
            await self.connection.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def _after_event(self) -> None:
        """Count an event, add keep-alive comments, and keep to the requested rate."""
        self.events += 1
        if self.options.keepalive and self.events % KEEPALIVE_EVERY == 0:
            self._comment()
        if self.interval:
            await self.flush(force=True)
            delay = self.started + self.events * self.interval - time.monotonic()
            if delay > 0:
                await self._sleep(delay)
        else:
            await self.flush(force=self.options.keepalive or self.options.bytewise)

    async def _sleep(self, delay: float | None) -> None:
        """Sleep for ``delay`` seconds (None: forever), ending early if the client goes away."""
        watch = self.connection.watch_for_close()
        if watch.done() and not self.connection.client_gone:
            # The client sent bytes ahead (a pipelined request), so the watch can no longer
            # see EOF; plain sleeping is the best we can do.
            await asyncio.sleep(delay if delay is not None else 3600)
            return
        await asyncio.wait({watch}, timeout=delay)
        if self.connection.client_gone:
            raise ClientGone

    async def _stall(self) -> None:
        """Send what is buffered, then nothing more until the client gives up."""
        await self.flush(force=True)
        while True:
            await self._sleep(None)

    # The body

    async def _send_headers(self) -> None:
        connection_header = b"" if self.options.send_done else b"Connection: close\r\n"
        if self.options.llamacpp:
            await self.connection.write(self._llamacpp_headers() + connection_header + b"\r\n")
            return
        await self.connection.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\n"
            + connection_header
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )

    def _llamacpp_headers(self) -> bytes:
        """uvicorn + sse-starlette's response head, in their order (no blank line yet)."""
        elapsed_ms = int((time.monotonic() - self.started) * 1000)
        lines = [
            "HTTP/1.1 200 OK",
            f"date: {email.utils.formatdate(usegmt=True)}",
            "server: uvicorn",
            *(f"{name}: {value}" for name, value in llamacpp.STREAM_HEADERS),
            f"openai-processing-ms: {elapsed_ms}",
            f"x-request-id: {llamacpp.request_id()}",
            "vary: Origin",
            "Transfer-Encoding: chunked",
        ]
        return ("\r\n".join(lines) + "\r\n").encode("latin-1")

    async def run_empty(self) -> bool:
        """llama.cpp's answer to a streamed prompt longer than its context window.

        The error is raised inside the stream's task after the 200 headers went out, and
        sse-starlette then just ends the body: no event, no error, no ``[DONE]``.
        """
        await self._send_headers()
        await self._end()
        return self.options.send_done

    async def run(self, tokens: list[str], prompt_tokens: int) -> bool:
        """Send the headers and the whole stream; True if the connection can be reused."""
        options = self.options
        await self._send_headers()
        self.connection.watch_for_close()
        self.started = time.monotonic()
        if options.keepalive:
            self._comment()
            await self.flush(force=True)
        if options.azure:
            self._send_azure_filter_results()
        quiet_role = options.azure or options.null_role or options.tools
        if options.llamacpp:
            self._chunk({"role": "assistant"})  # llama.cpp's role delta has no content key
        else:
            self._chunk({"role": "assistant", "content": None if quiet_role else ""})
        if options.keepalive:
            self._comment()
        if options.hostile:
            self._send_hostile()
        if options.stall_after == 0:
            await self._stall()
        completion = 0
        if options.reasoning_field:
            for piece in tokenize(THINKING):
                self._chunk({options.reasoning_field: piece, "content": None})
                completion += 1
                await self._after_event()
        if options.tools:
            completion += await self._send_tool_call()
            return await self._finish("tool_calls", prompt_tokens, completion)
        finish = options.finish_reason or "stop"
        if self.max_tokens is not None and self.max_tokens < len(tokens):
            tokens, finish = tokens[: self.max_tokens], "length"
        if await self._fault(0, at_end=False):
            return self.reusable
        per_event = self.per_event
        for start in range(0, len(tokens), per_event):
            self._content("".join(tokens[start : start + per_event]))
            sent = min(start + per_event, len(tokens))
            if await self._fault(sent, at_end=False):
                return self.reusable
            await self._after_event()
        completion += len(tokens)
        # A reply shorter than the fault's threshold still gets its fault, at the end.
        if await self._fault(len(tokens), at_end=True):
            return self.reusable
        return await self._finish(finish, prompt_tokens, completion)

    @property
    def reusable(self) -> bool:
        """Whether the connection is still open for another request (a drop closes it)."""
        return not self.connection.writer.is_closing()

    async def _fault(self, sent: int, *, at_end: bool) -> bool:
        """Inject a mid-stream fault once ``sent`` content tokens are out; True if it ended us."""
        options = self.options
        if options.error_event and (sent >= ERROR_AFTER or at_end):
            self._event(json.dumps(ERROR_EVENT), "error" if options.error_event_typed else None)
            await self._end()
            return True
        if options.drop_after is not None and (sent >= options.drop_after or at_end):
            # No terminating zero-size chunk: the client can tell this from a clean end.
            await self.flush(force=True)
            self.connection.close()
            return True
        if options.stall_after and (sent >= options.stall_after or at_end):
            await self._stall()
        if options.interrupt_after is not None and (sent >= options.interrupt_after or at_end):
            # What llama.cpp sends when a newer request takes the model: [DONE] at once, with
            # no finish_reason chunk before it, then the connection closes without the
            # terminating zero-size chunk (the stream's task was cancelled mid-response).
            self._event("[DONE]")
            await self.flush(force=True)
            self.connection.close()
            return True
        return False

    async def _finish(self, finish: str, prompt_tokens: int, completion: int) -> bool:
        self._chunk({}, finish)
        if self.include_usage:
            usage: dict[str, Any] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion,
            }
            cost = model_info.usage_cost(self.options, prompt_tokens, completion)
            if cost is not None:
                usage["cost"] = cost
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
        if self.options.send_done:
            self._event("[DONE]")
        await self._end()
        return self.options.send_done

    async def _end(self) -> None:
        """Flush, then the zero-size chunk that marks a complete body."""
        await self.flush(force=True)
        await self.connection.write(b"0\r\n\r\n")
        self.ended_at = time.monotonic()

    # Variations

    def _send_azure_filter_results(self) -> None:
        """Azure OpenAI's first chunk: no choices, only the prompt's content-filter results."""
        verdict = {"filtered": False, "severity": "safe"}
        chunk: dict[str, Any] = {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [],
            "prompt_filter_results": [
                {
                    "prompt_index": 0,
                    "content_filter_results": {
                        kind: verdict for kind in ("hate", "self_harm", "sexual", "violence")
                    },
                }
            ],
        }
        self._event(json.dumps(chunk))

    async def _send_tool_call(self) -> int:
        """OpenAI-style ``tool_calls`` deltas; returns how many were sent."""
        call = {
            "index": 0,
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": TOOL_CALL_NAME, "arguments": ""},
        }
        self._chunk({"tool_calls": [call]})
        await self._after_event()
        for fragment in TOOL_CALL_ARGUMENTS:
            self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
            await self._after_event()
        return 1 + len(TOOL_CALL_ARGUMENTS)

    def _send_hostile(self) -> None:
        """Events a broken or malicious server might send before the real reply."""
        end = self.end
        # JSON nested 10,000 deep: a naive parser overflows the stack.
        self._raw(b"data: " + b"[" * 10_000 + b"]" * 10_000 + (end * 2).encode())
        # Invalid UTF-8 inside a content string.
        head = json.dumps(self._chunk_dict({"content": "bad:"}))[:-1].encode()
        self._raw(
            b"data: " + head.replace(b'"bad:"', b'"bad:\xff\xfe"') + b"}" + (end * 2).encode()
        )
        # Garbage that is not JSON at all, and an empty data line.
        self._raw(f"data: {{not json{end}{end}data:{end}{end}".encode())
