"""Typed errors that carry a message meant for a person, never a traceback."""

from __future__ import annotations

import re


class ChatTuiError(Exception):
    """Base of every error chat-tui shows to a user.

    ``str(error)`` is a complete sentence fit for a status line or ``error: ...`` on stderr.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ClientError(ChatTuiError):
    """Something went wrong talking to a chat server."""

    #: Short hint for the user about what to do next, if there is a useful one.
    hint: str | None = None
    #: Whether sending the same request again later may well succeed.
    retryable: bool = False


class HTTPStatusError(ClientError):
    """The server answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        url: str,
        server_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url
        self.server_message = server_message
        self.retry_after = retry_after
        self.retryable = status_code in (408, 409, 429, 500, 502, 503, 504)
        if status_code == 401 or status_code == 403:
            self.hint = "Check the API key for this provider."
        elif status_code == 404:
            self.hint = "Check the base URL and the model name."
        elif status_code == 429:
            self.hint = "Rate-limited by the server: wait a moment, then retry."
        elif status_code >= 500:
            self.hint = "The server had a problem: retrying may help."
        if status_code in (400, 413) and is_context_overflow(server_message or ""):
            self.hint = (
                "Too long for the model's context window: send a shorter prompt, or start a "
                "new conversation if this one has grown long."
            )


#: How servers word a request longer than the model's context window (OpenAI, llama.cpp,
#: vLLM, Ollama, Anthropic-style proxies, LM Studio).
_CONTEXT_OVERFLOW = re.compile(
    r"context[ _-]?(length|window|size)|maximum context|too many tokens|prompt is too long"
    r"|exceeds? the (available )?context|n_ctx",
    re.IGNORECASE,
)


def is_context_overflow(message: str) -> bool:
    """Whether a server's error message says the request did not fit the context window."""
    return bool(_CONTEXT_OVERFLOW.search(message))


class ConnectError(ClientError):
    """The server could not be reached at all."""

    retryable = True
    hint = "Is the server running, and is the base URL right?"


class ReadTimeoutError(ClientError):
    """The server went silent for longer than the read timeout."""

    retryable = True


class StreamCutError(ClientError):
    """The connection ended before the reply was complete; the text so far is kept."""

    retryable = True


class ServerStreamError(ClientError):
    """The server sent an error event inside an otherwise successful stream."""

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ProtocolError(ClientError):
    """The server's answer was not something an OpenAI-compatible client can read."""


class ConfigError(ChatTuiError):
    """A configuration problem that stops a command from running."""


class SessionFileError(ChatTuiError):
    """A session file could not be read or written."""


class UsageError(ChatTuiError):
    """The command was asked for something it cannot do as given (an empty prompt, stdin
    that is not text): the user has to change the command, so it exits with the usage code."""


class OutputError(ChatTuiError):
    """Standard output could not be written: the disk is full, it was closed, or the program
    reading a pipe went away (``broken_pipe``)."""

    def __init__(self, message: str, *, broken_pipe: bool = False) -> None:
        super().__init__(message)
        self.broken_pipe = broken_pipe
