"""What llama-cpp-python's server (``python3 -m llama_cpp.server``, 0.3.x) sends differently.

Captured from the real server (see ``tests/real_server/test_wire.py``, which checks these
shapes against it) and reproduced by the ``llamacpp``, ``ctx-N`` and ``interrupt-N`` options:

* chunk keys in the order ``id, model, created, object, choices``; every choice carries
  ``"logprobs": null``; the id is ``chatcmpl-`` and a dashed UUID;
* the first delta is ``{"role": "assistant"}``, with no ``content`` key at all;
* ``stream_options.include_usage`` is ignored: no ``usage`` key in any chunk, no usage chunk;
* stream JSON is ``json.dumps`` with its defaults, so non-ASCII text arrives as ``\\uXXXX``
  escapes; plain JSON responses are FastAPI's compact JSON with raw UTF-8;
* one HTTP chunk per SSE event, ``\\n`` line endings, and a ``: ping - <UTC time>`` comment
  every 15 s;
* a prompt longer than the context window fails *before* streaming when ``stream`` is false
  (400, ``context_length_exceeded``) but *after the 200 headers* when it is true: the event
  stream is simply empty, no event, no ``[DONE]``;
* a stream that a newer request interrupts (llama.cpp serves one at a time and, by default,
  ends the running one) gets ``data: [DONE]`` with no ``finish_reason`` chunk before it, and
  then the connection closes without the terminating zero-size chunk;
* a request body that fails validation is a 500 whose message is pydantic's error list plus a
  source location; a missing or wrong key is FastAPI's ``{"detail": "Invalid API key"}``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

#: Headers the real server adds to an event stream (uvicorn's own ``date``/``server`` left out).
STREAM_HEADERS = (
    ("cache-control", "no-store"),
    ("x-accel-buffering", "no"),
    ("content-type", "text/event-stream; charset=utf-8"),
)

#: What the real server answers for the ``http-N`` faults it can produce itself. A 500 is how
#: it reports a request body that fails validation (here ``"temperature": "hot"``).
VALIDATION_MESSAGE = (
    "1 validation error:\n"
    "  {'type': 'float_parsing', 'loc': ('body', 'temperature'), 'msg': 'Input should be a "
    "valid number, unable to parse string as a number', 'input': 'hot'}\n\n"
    '  File "llama_cpp/server/app.py", line 376, in create_chat_completion\n'
    "    POST /v1/chat/completions"
)
FAULT_BODIES: dict[int, dict[str, Any]] = {
    401: {"detail": "Invalid API key"},
    404: {"detail": "Not Found"},
    500: {
        "error": {
            "message": VALIDATION_MESSAGE,
            "type": "internal_server_error",
            "param": None,
            "code": None,
        }
    },
}


def completion_id() -> str:
    """``chatcmpl-`` and a dashed UUID, as the real server makes them."""
    return f"chatcmpl-{uuid.uuid4()}"


def request_id() -> str:
    """The ``x-request-id`` header: starlette-context's plain hex UUID."""
    return uuid.uuid4().hex


def compact_json(payload: object) -> bytes:
    """FastAPI's ``JSONResponse`` encoding: no spaces, raw UTF-8."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def chunk_dict(
    chunk_id: str, model: str, created: int, delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with llama.cpp's key order and its ``logprobs`` field."""
    return {
        "id": chunk_id,
        "model": model,
        "created": created,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def ping_comment(end: str) -> str:
    """sse-starlette's keep-alive comment, sent every 15 s while a stream is open."""
    return f": ping - {datetime.now(UTC)}{end}{end}"


def completion(
    model: str, content: str, finish: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """A non-streamed ``chat.completion``: ``content`` before ``role``, ``logprobs`` null."""
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"content": content, "role": "assistant"},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def context_overflow_body(
    context_window: int, prompt_tokens: int, max_tokens: object
) -> dict[str, Any]:
    """llama.cpp's 400 for a prompt that does not fit (``stream`` false only).

    Its formatter prints the request's ``max_tokens`` as is, so a request without one reads
    "None in the completion"; kept, because that is what clients get to show.
    """
    requested = (max_tokens if isinstance(max_tokens, int) else 0) + prompt_tokens
    message = (
        f"This model's maximum context length is {context_window} tokens. However, you "
        f"requested {requested} tokens ({prompt_tokens} in the messages, {max_tokens} in the "
        "completion). Please reduce the length of the messages or completion."
    )
    return _context_length_exceeded(message)


def openai_context_overflow_body(
    context_window: int, prompt_tokens: int, max_tokens: object
) -> dict[str, Any]:
    """OpenAI's 400 for the same case (checked before any streaming starts)."""
    if isinstance(max_tokens, int) and max_tokens > 0:
        message = (
            f"This model's maximum context length is {context_window} tokens. However, you "
            f"requested {prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, "
            f"{max_tokens} in the completion). Please reduce the length of the messages or "
            "completion."
        )
    else:
        message = (
            f"This model's maximum context length is {context_window} tokens. However, your "
            f"messages resulted in {prompt_tokens} tokens. Please reduce the length of the "
            "messages."
        )
    return _context_length_exceeded(message)


def overflows(
    context_window: int, prompt_tokens: int, max_tokens: object, *, llamacpp: bool
) -> bool:
    """Whether a request does not fit the context window.

    llama.cpp only refuses a prompt that alone fills the window (it quietly shortens
    ``max_tokens`` to what is left); OpenAI refuses when prompt and ``max_tokens`` together
    exceed it.
    """
    if llamacpp:
        return prompt_tokens >= context_window
    limit = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
    return prompt_tokens + limit > context_window


def _context_length_exceeded(message: str) -> dict[str, Any]:
    """The error body both servers send for a prompt that does not fit."""
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    }
