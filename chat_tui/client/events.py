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


StreamEvent = ContentDelta | ReasoningDelta | ToolCallDelta | Finish | Usage
