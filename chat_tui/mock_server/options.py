"""Per-request behaviour of the mock server, chosen through the model name.

``mock-gpt+http-429`` asks model ``mock-gpt`` for a 429; options combine with ``+``:
``mock-gpt+drop-20+crlf``. Unknown options are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Servers whose figures about a model (context window, prices) the mock can imitate.
FLAVOURS = ("openrouter", "vllm", "lmstudio", "props", "ollama")


@dataclass
class RequestOptions:
    """What one request asked for through its model name; defaults are a normal reply."""

    model: str
    http_status: int | None = None
    error_event: bool = False
    error_event_typed: bool = False
    drop_after: int | None = None
    stall_after: int | None = None
    keepalive: bool = False
    line_ending: str = "\n"
    space_after_colon: bool = True
    bytewise: bool = False
    reasoning_field: str | None = None
    tools: bool = False
    send_done: bool = True
    azure: bool = False
    null_role: bool = False
    no_stream: bool = False
    tokens: int | None = None
    rate: float | None = None
    per_event: int | None = None
    code_lines: int | None = None
    echo: bool = False
    chars: bool = False
    flaky: int = 0
    hostile: bool = False
    #: llama-cpp-python's server: its chunk shape, headers and error bodies (llamacpp.py).
    llamacpp: bool = False
    #: The model's context window in (mock) tokens: a longer prompt fails as the server would.
    context_window: int | None = None
    #: Content tokens after which ``[DONE]`` ends the stream with no ``finish_reason`` chunk
    #: and the connection closes mid-body, as llama.cpp ends a stream a newer request interrupted.
    interrupt_after: int | None = None
    #: The finish_reason the reply ends with instead of "stop" (``finish-content_filter``).
    finish_reason: str | None = None
    #: Whose model list, ``/props``, ``/api/show`` and usage cost to imitate (model_info.py).
    flavour: str | None = None


def parse_model(name: str) -> RequestOptions:
    """Split ``model+option+option`` into the model and its options."""
    model, *parts = name.split("+")
    options = RequestOptions(model=model)
    if model == "mock-reasoner":
        # The demo's reasoning model thinks out loud, as DeepSeek's does.
        options.reasoning_field = "reasoning_content"
    for part in parts:
        key, _, value = part.partition("-")
        number = _number(value)
        if key == "http" and number is not None:
            options.http_status = int(number)
        elif part == "error-event":
            options.error_event = True
        elif part == "error-event-typed":
            options.error_event = options.error_event_typed = True
        elif key == "drop" and number is not None:
            options.drop_after = int(number)
        elif part == "stall":
            options.stall_after = 0
        elif key == "stall" and number is not None:
            options.stall_after = int(number)
        elif part == "keepalive":
            options.keepalive = True
        elif part == "crlf":
            options.line_ending = "\r\n"
        elif part == "cr":
            options.line_ending = "\r"
        elif part == "nospace":
            options.space_after_colon = False
        elif part == "bytewise":
            options.bytewise = True
        elif part == "reasoning":
            options.reasoning_field = "reasoning_content"
        elif part == "reasoning-openrouter":
            options.reasoning_field = "reasoning"
        elif part == "tools":
            options.tools = True
        elif part == "no-done":
            options.send_done = False
        elif part == "azure":
            options.azure = True
        elif part == "null-role":
            options.null_role = True
        elif part == "no-stream":
            options.no_stream = True
        elif key == "tokens" and number is not None:
            options.tokens = int(number)
        elif key == "rate" and number is not None:
            options.rate = number
        elif part.startswith("per-event-") and _number(part[10:]) is not None:
            options.per_event = max(1, int(_number(part[10:]) or 1))
        elif key == "code" and number is not None:
            options.code_lines = int(number)
        elif part == "echo":
            options.echo = True
        elif part == "chars":
            options.chars = True
        elif part == "hostile":
            options.hostile = True
        elif key == "flaky" and number is not None:
            options.flaky = int(number)
        elif part == "llamacpp":
            options.llamacpp = True
        elif key == "ctx" and number is not None:
            options.context_window = max(1, int(number))
        elif key == "interrupt" and number is not None:
            options.interrupt_after = max(0, int(number))
        elif key == "finish" and value:
            options.finish_reason = value
        elif part in FLAVOURS:
            options.flavour = part
    return options


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
