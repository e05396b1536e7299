"""The streaming client for OpenAI-compatible ``/chat/completions`` servers."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from functools import lru_cache
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from chat_tui.client.errors_body import message_from_json, retry_after_seconds, server_message
from chat_tui.client.events import (
    ContentDelta,
    Finish,
    ReasoningDelta,
    SkippedEvent,
    StreamEvent,
    ToolCallDelta,
    Usage,
)
from chat_tui.client.metrics import ReplyMetrics
from chat_tui.client.sse import SSEDecoder
from chat_tui.errors import (
    ClientError,
    ConnectError,
    HTTPStatusError,
    ProtocolError,
    ReadTimeoutError,
    ServerStreamError,
    StreamCutError,
)
from chat_tui.urls import shown_url

ChatMessage = Mapping[str, Any]
MAX_ERROR_BODY = 64 * 1024
#: A chunk that took longer than this to come was waited for from the network; one that
#: came sooner was already buffered (h11 hands out one HTTP chunk at a time).
CAUGHT_UP = 0.001
#: Fewer bytes than this between two waits for the network is a trickle, not a burst.
TRICKLE_BYTES = 8 * 1024
#: How much of an unreadable event a SkippedEvent shows.
PREVIEW_BYTES = 40
#: What a base URL that is already the full chat endpoint ends with.
CHAT_PATH = "chat/completions"


def join_url(base_url: str, path: str) -> str:
    """Join a base URL (with or without a trailing slash or a path prefix) and a path.

    A query string stays at the end (Azure's ``?api-version=...`` goes with every request),
    and a base URL that already ends in ``/chat/completions`` is taken as that endpoint: it
    is what people copy from a server's documentation.
    """
    # Plain string work, not urlsplit: a malformed URL must reach check_url's clear error,
    # not raise here.
    # A fragment is never sent to a server.
    base, mark, query = base_url.partition("#")[0].partition("?")
    base = base.rstrip("/")
    if base.endswith("/" + CHAT_PATH):
        base = base[: -len(CHAT_PATH) - 1]
    joined = base + "/" + path.lstrip("/")
    if mark:
        joined += "?" + query
    return joined


def check_url(url: str) -> None:
    """Raise a ClientError in words when ``url`` cannot be requested at all (a port out of
    range, a broken IPv6 address, no host): httpx and the socket layer raise assorted
    exceptions for these that are no HTTP error."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it is what validates it
    except ValueError as error:
        reason = str(error)
        why = reason[:1].lower() + reason[1:]
        raise ClientError(f"{shown_url(url)} is not a usable URL: {why}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"{shown_url(url)} is not a usable URL: it must be http(s)://host/...")


@lru_cache(maxsize=8)
def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS settings for ``verify`` (True, False, or a CA bundle's path), made once.

    Loading the CA certificates costs 0.1 to 0.2 s of CPU, and httpx does it for every
    client it makes: the app makes one per provider it lists models from, while a reply
    streams. A context can be shared by any number of connections."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify, trust_env=True)


class ChatClient:
    """An async client for one OpenAI-compatible endpoint.

    Use as an async context manager, or call :meth:`aclose` when done. The API key is only
    ever put in the ``Authorization`` header: no message or exception carries it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        send_stream_options: bool = True,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        verify: bool | str = True,
    ) -> None:
        self.base_url = base_url
        self.send_stream_options = send_stream_options
        self.read_timeout = read_timeout
        request_headers = {"Accept": "application/json"}
        if headers:
            request_headers.update(headers)
        if api_key:
            request_headers["Authorization"] = f"Bearer {api_key}"
        try:
            context = tls_context(verify)
        except (OSError, ssl.SSLError) as error:
            raise ClientError(f"Could not load the CA bundle {verify}: {error}") from None
        self._http = httpx.AsyncClient(
            headers=request_headers,
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=30.0, pool=30.0
            ),
            verify=context,
            trust_env=True,
        )

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        model: str,
        **parameters: Any,
    ) -> ChatStream:
        """Start a streamed completion; use as ``async with client.stream_chat(...) as s``.

        ``parameters`` (temperature, max_tokens, ...) are sent as given; None values are left
        out so that the server's defaults apply.
        """
        body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": True}
        if self.send_stream_options:
            body["stream_options"] = {"include_usage": True}
        body.update({key: value for key, value in parameters.items() if value is not None})
        return ChatStream(self._http, join_url(self.base_url, "chat/completions"), body, self)

    async def list_models(self) -> list[str]:
        """The ids of the models the server offers (``GET /models``), in the server's order
        (the first is the one to use when the user names none)."""
        url = join_url(self.base_url, "models")
        check_url(url)
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as error:
            raise _transport_error(error, url, self.read_timeout, received_any=False) from None
        if response.status_code >= 400:
            raise _status_error(response.status_code, url, response.content, response.headers)
        try:
            payload = response.json()
            entries = payload["data"] if isinstance(payload, dict) else payload
            return list(dict.fromkeys(str(entry["id"]) for entry in entries))
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ProtocolError(f"{shown_url(url)} did not answer with a list of models.") from None

    async def get_json(self, url: str, body: Mapping[str, Any] | None = None) -> Any:
        """The JSON a GET of ``url`` (a POST of ``body``, when given) answers with: for the
        servers' own endpoints beside the OpenAI API (llama.cpp's ``/props``, Ollama's
        ``/api/show``). Errors are the client's usual ones, in words."""
        check_url(url)
        try:
            if body is None:
                response = await self._http.get(url)
            else:
                response = await self._http.post(url, json=dict(body))
        except httpx.HTTPError as error:
            raise _transport_error(error, url, self.read_timeout, received_any=False) from None
        if response.status_code >= 400:
            raise _status_error(response.status_code, url, response.content, response.headers)
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise ProtocolError(f"{shown_url(url)} did not answer with JSON.") from None


class ChatStream:
    """One streamed reply: an async iterator of :data:`StreamEvent` with live metrics.

    Leaving the ``async with`` block, normally or by cancellation, closes the HTTP
    response at once, so the server sees the disconnect and stops generating.
    """

    def __init__(
        self, http: httpx.AsyncClient, url: str, body: dict[str, Any], client: ChatClient
    ) -> None:
        self._http = http
        self.url = url
        self._body = body
        self._client = client
        self._response: httpx.Response | None = None
        self.metrics = ReplyMetrics()
        # Parts, joined on demand: appending to a growing str attribute copies it every time,
        # which turns 100,000 tiny deltas into gigabytes of copying.
        self._content_parts: list[str] = []
        self._reasoning_parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.skipped_events = 0
        #: Data events seen so far, counting from 1, so a skipped one can be pointed at.
        self._data_events = 0
        #: Once the reader has caught up with the server, the least seconds before it reads
        #: the socket again; 0 reads each event as it comes. A reader that shows text a few
        #: times a second gains nothing from waking for every event: at 100 events a second,
        #: reading each one alone cost 0.4 ms of CPU per event (the loop's wakeup, anyio,
        #: httpcore and h11 for a few bytes), while the events that arrive during a pause
        #: are read in one go. A burst or a backlog is read without pausing.
        self.read_interval = 0.0

    async def __aenter__(self) -> ChatStream:
        check_url(self.url)
        request = self._http.build_request(
            "POST", self.url, json=self._body, headers={"Accept": "text/event-stream"}
        )
        try:
            self._response = await self._http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise _transport_error(
                error, self.url, self._client.read_timeout, received_any=False
            ) from None
        if self._response.status_code >= 400:
            try:
                body = await _read_limited(self._response, MAX_ERROR_BODY)
            except httpx.HTTPError:
                body = b""
            finally:
                await self._response.aclose()
            raise _status_error(self._response.status_code, self.url, body, self._response.headers)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._response is not None:
            await self._response.aclose()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        response = self._response
        if response is None:
            raise RuntimeError("use 'async with client.stream_chat(...)' before iterating")
        content_type = response.headers.get("content-type", "")
        if "event-stream" not in content_type:
            # Some servers ignore "stream": true and answer one chat.completion object.
            for event in await self._read_whole_completion(response):
                yield event
            return
        decoder = SSEDecoder()
        done = False
        chunks = response.aiter_bytes().__aiter__()
        # Bytes read since the reader last had to wait for the network: a trickle is a few
        # events between waits, a burst many more (and it is never paused).
        batch = TRICKLE_BYTES
        try:
            while True:
                asked = time.monotonic()
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                arrived = time.monotonic()
                trickle = False
                if arrived - asked > CAUGHT_UP:
                    trickle, batch = batch < TRICKLE_BYTES, 0
                batch += len(chunk)
                for sse in decoder.feed(chunk):
                    for event in self._interpret(sse.data, sse.event):
                        if event is None:
                            done = True
                            break
                        yield event
                    if done:
                        break
                if done:
                    break
                if self.read_interval > 0 and trickle:
                    # The chunk had to be waited for, after only a few since the last wait:
                    # the server trickles. While the reader sleeps, anyio has paused
                    # reading the socket, and what arrives meanwhile waits in the kernel,
                    # to be read as one piece.
                    pause = self.read_interval - (time.monotonic() - arrived)
                    if pause > 0:
                        await asyncio.sleep(pause)
            if not done:
                for sse in decoder.close():
                    for event in self._interpret(sse.data, sse.event):
                        if event is None:
                            done = True
                            break
                        yield event
        except httpx.HTTPError as error:
            raise _transport_error(
                error, self.url, self._client.read_timeout, received_any=self._received_any
            ) from None
        if self.finish_reason is None and (not done or self._received_any):
            # Every OpenAI-compatible server says why a reply ended. Text followed by
            # [DONE] and no reason is how llama.cpp ends a reply it interrupted for another
            # request: the reply is cut off, not complete.
            if done:
                raise StreamCutError(
                    f"{_host(self.url)} ended the reply without saying it was finished "
                    "(no finish_reason); it may be cut off."
                )
            if self._received_any:
                raise StreamCutError(
                    f"The connection to {_host(self.url)} ended before the reply was "
                    "complete; it was cut off."
                )
            error = StreamCutError(f"{_host(self.url)} closed the stream without sending a reply.")
            # llama.cpp answers a prompt longer than its context window this way.
            error.hint = (
                "The server may have refused the request without saying why, for example a "
                "conversation longer than the model's context window: a new conversation "
                "may help, and the server's log says more."
            )
            raise error

    @property
    def content(self) -> str:
        """The answer's text received so far."""
        if len(self._content_parts) > 1:
            self._content_parts[:] = ["".join(self._content_parts)]
        return self._content_parts[0] if self._content_parts else ""

    @property
    def reasoning(self) -> str:
        """The reasoning text received so far."""
        if len(self._reasoning_parts) > 1:
            self._reasoning_parts[:] = ["".join(self._reasoning_parts)]
        return self._reasoning_parts[0] if self._reasoning_parts else ""

    @property
    def _received_any(self) -> bool:
        return bool(self._content_parts or self._reasoning_parts)

    def _interpret(self, data: str, event_type: str) -> list[StreamEvent | None]:
        """The events in one SSE payload; None marks the end of the stream."""
        self._data_events += 1
        if data == "[DONE]":
            return [None]
        if not data.strip():
            return []
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            if event_type == "error":
                raise ServerStreamError(f"The server reported an error: {data[:200]}") from None
            return [self._skipped(data)]
        if not isinstance(chunk, dict):
            return [self._skipped(data)]
        if "error" in chunk or event_type == "error":
            message = message_from_json(chunk) or "The server reported an error mid-stream."
            error = chunk.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            raise ServerStreamError(message, code=code)
        events: list[StreamEvent | None] = []
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._read_delta(delta, events)
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason
                events.append(Finish(reason))
        usage = _parse_usage(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
            self.metrics.reported_completion_tokens = usage.completion_tokens
            events.append(usage)
        return events

    def _skipped(self, data: str) -> SkippedEvent:
        """An unreadable event, left out but reported: the reply around it may miss text."""
        self.skipped_events += 1
        preview = data.encode("utf-8", "replace")[:PREVIEW_BYTES].decode("utf-8", "ignore")
        return SkippedEvent(self._data_events, preview)

    def _read_delta(self, delta: dict[str, Any], events: list[StreamEvent | None]) -> None:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self._reasoning_parts.append(reasoning)
            self.metrics.record_token()
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._content_parts.append(content)
            self.metrics.record_token()
            events.append(ContentDelta(content))
        tool_calls = delta.get("tool_calls")
        if isinstance(tool_calls, list):
            for call in tool_calls:
                if not isinstance(call, dict):
                    continue
                function = call.get("function")
                if not isinstance(function, dict):
                    function = {}
                events.append(
                    ToolCallDelta(
                        index=_typed(call.get("index"), int, 0),
                        id=_typed(call.get("id"), str, None),
                        name=_typed(function.get("name"), str, None),
                        arguments=_typed(function.get("arguments"), str, ""),
                    )
                )

    async def _read_whole_completion(self, response: httpx.Response) -> list[StreamEvent]:
        try:
            body = await _read_limited(response, 64 * 1024 * 1024)
        except httpx.HTTPError as error:
            raise _transport_error(
                error, self.url, self._client.read_timeout, received_any=False
            ) from None
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            excerpt = server_message(body, response.headers.get("content-type", ""))
            raise ProtocolError(
                f"{shown_url(self.url)} answered with something that is not a chat completion"
                + (f": {excerpt}" if excerpt else ".")
            ) from None
        if isinstance(payload, dict) and "error" in payload:
            raise ServerStreamError(message_from_json(payload) or "The server reported an error.")
        events: list[StreamEvent] = []
        try:
            choice = payload["choices"][0]
            message = choice.get("message") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ProtocolError(
                f"{shown_url(self.url)} answered with a completion that has no choices."
            ) from None
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self._reasoning_parts = [reasoning]
            self.metrics.record_token()
            events.append(ReasoningDelta(reasoning))
        content = message.get("content")
        if isinstance(content, str) and content:
            self._content_parts = [content]
            self.metrics.record_token()
            events.append(ContentDelta(content))
        reason = choice.get("finish_reason")
        self.finish_reason = reason if isinstance(reason, str) and reason else "stop"
        events.append(Finish(self.finish_reason))
        usage = _parse_usage(payload.get("usage"))
        if usage is not None:
            self.usage = usage
            self.metrics.reported_completion_tokens = usage.completion_tokens
            events.append(usage)
        return events


def _typed(value: Any, kind: type, default: Any) -> Any:
    """``value`` if it has the expected JSON type, else ``default`` (servers send nulls)."""
    return value if isinstance(value, kind) and not isinstance(value, bool) else default


def _parse_usage(value: object) -> Usage | None:
    if not isinstance(value, dict):
        return None

    def number(key: str) -> int:
        item = value.get(key)
        return item if isinstance(item, int) and not isinstance(item, bool) else 0

    prompt, completion = number("prompt_tokens"), number("completion_tokens")
    cost = value.get("cost")
    known = isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0
    return Usage(
        prompt,
        completion,
        number("total_tokens") or prompt + completion,
        float(cost) if known else None,
    )


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or shown_url(url)


def _status_error(
    status: int, url: str, body: bytes, headers: httpx.Headers | Mapping[str, str]
) -> HTTPStatusError:
    reason = _REASONS.get(status, "error")
    found = server_message(body, headers.get("content-type", ""))
    # Messages are shown and saved: never with a password or a key from the URL.
    url = shown_url(url)
    message = f"HTTP {status} {reason} from {url}"
    message += f": {found}" if found else "."
    return HTTPStatusError(
        message,
        status_code=status,
        url=url,
        server_message=found,
        retry_after=retry_after_seconds(headers.get("retry-after")),
    )


def _transport_error(
    error: httpx.HTTPError, url: str, read_timeout: float, *, received_any: bool
) -> ClientError:
    host = _host(url)
    url = shown_url(url)
    if isinstance(error, httpx.ConnectTimeout):
        return ConnectError(f"Timed out connecting to {url}.")
    if isinstance(error, httpx.ConnectError):
        detail = _short_reason(error)
        return ConnectError(f"Could not connect to {url}" + (f": {detail}." if detail else "."))
    if isinstance(error, httpx.ReadTimeout):
        # "Timed out" first: it is the word people look for, and what the read timeout
        # setting (read_timeout, --timeout) is named after.
        if received_any:
            return ReadTimeoutError(
                f"Timed out: {host} sent nothing for {read_timeout:g} s; the reply was cut off."
            )
        return ReadTimeoutError(f"Timed out: {host} sent no reply within {read_timeout:g} s.")
    if isinstance(error, httpx.TimeoutException):
        return ReadTimeoutError(f"Timed out talking to {host}.")
    if received_any:
        return StreamCutError(
            f"The connection to {host} was lost in the middle of the reply; it was cut off."
        )
    return StreamCutError(f"The connection to {host} was lost before any reply arrived.")


def _short_reason(error: Exception) -> str:
    text = str(error).strip()
    if "Connection refused" in text or "connection refused" in text.lower():
        return "connection refused (is the server running?)"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host name"
    return text[:160]


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
