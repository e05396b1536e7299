"""Typed events yielded by a streaming chat completion."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's visible thinking (``reasoning_content`` or ``reasoning``)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call; fragments with the same index belong together."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The server said why the reply ended (``stop``, ``length``, ``tool_calls``...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for one request, as reported by the server."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    #: What the reply cost in US dollars, when the server says (OpenRouter's ``usage.cost``).
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """An event the client could not read (not JSON, not an object) and left out: the reply
    around it is kept but may be missing text. ``number`` counts the stream's data events
    from 1; ``preview`` is its first bytes, for the user to see what arrived."""

    number: int
    preview: str


StreamEvent = ContentDelta | ReasoningDelta | ToolCallDelta | Finish | Usage | SkippedEvent
