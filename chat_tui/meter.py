"""The arithmetic of the context meter and of cost: plain functions over a session.

How full the window is comes from the server's own count where there is one: the last
reply's ``prompt_tokens + completion_tokens`` is the whole conversation up to that reply as
the model saw it. Whatever came after it (a prompt sent since, the text in the box) is
estimated, and the figure is then marked as an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chat_tui.sessions import Message
from chat_tui.tokens import estimate_tokens

#: Above this share of the window the meter turns to a warning colour.
WARN_FRACTION = 0.8


@dataclass(frozen=True)
class ContextUse:
    """How many tokens the conversation fills, and whether any part is an estimate."""

    tokens: int
    estimated: bool

    def plus(self, text: str) -> ContextUse:
        """With ``text`` (typed, not yet counted by the server) added as an estimate."""
        if not text:
            return self
        return ContextUse(self.tokens + estimate_tokens(text), True)


def context_use(system_prompt: str, messages: Sequence[Message]) -> ContextUse:
    """The conversation's size in tokens: the last counted reply's figures, plus an
    estimate of every message after it (or of everything, when no reply was counted)."""
    last = None
    for index in range(len(messages) - 1, -1, -1):
        usage = messages[index].usage
        if messages[index].role == "assistant" and usage is not None and usage.total_tokens:
            last = index
            break
    if last is None:
        texts = [system_prompt, *(_sent_text(m) for m in messages)]
        tokens = sum(estimate_tokens(t) for t in texts)
        return ContextUse(tokens, tokens > 0)
    usage = messages[last].usage
    assert usage is not None
    base = ContextUse(usage.prompt_tokens + usage.completion_tokens, usage.estimated)
    after = messages[last + 1 :]
    for message in after:
        base = base.plus(_sent_text(message))
    return base


def _sent_text(message: Message) -> str:
    """What of a message goes to the model again: a failed reply is left out."""
    if message.role == "assistant" and message.status == "error":
        return ""
    return message.content


def room_left(window: int | None, use: ContextUse, reserve: int = 0) -> int | None:
    """Tokens left in ``window`` for the next prompt (never below 0), keeping ``reserve``
    for the reply (the request's ``max_tokens``); None when the window is unknown."""
    if window is None:
        return None
    return max(0, window - use.tokens - reserve)


def would_overflow(window: int | None, use: ContextUse, prompt: str, reserve: int = 0) -> bool:
    """Whether sending ``prompt`` clearly does not fit: the estimate is over the window."""
    if window is None:
        return False
    return use.plus(prompt).tokens + reserve > window


def short_count(tokens: int) -> str:
    """``12.4k`` for thousands, the number itself below 1,000."""
    if tokens < 1000:
        return str(tokens)
    if tokens < 100_000:
        return f"{tokens / 1000:.1f}k"
    return f"{tokens / 1000:.0f}k"


def window_size(tokens: int) -> str:
    """A context window as people name it: ``32k`` for 32,768 (a power-of-two size), ``128k``
    for 131,072, ``200k`` for 200,000, ``1M`` for 1,048,576."""
    if tokens >= 1_000_000:
        millions = tokens / (1024 * 1024) if tokens % (1024 * 1024) == 0 else tokens / 1e6
        return f"{millions:g}M"
    if tokens >= 1024 and tokens % 1024 == 0:
        return f"{tokens // 1024}k"
    if tokens >= 1000:
        return f"{tokens / 1000:.1f}".removesuffix(".0") + "k"
    return str(tokens)


def meter_text(use: ContextUse, window: int) -> str:
    """``ctx 12.4k/32k``, with ``~`` before an estimated count."""
    return f"ctx {'~' if use.estimated else ''}{short_count(use.tokens)}/{window_size(window)}"


def is_crowded(use: ContextUse, window: int) -> bool:
    return use.tokens > window * WARN_FRACTION


def format_cost(dollars: float) -> str:
    """Dollars to the precision that matters: ``$0.000027``, ``$0.0012``, ``$0.034``,
    ``$1.27``: small amounts keep two significant digits, never rounded to a zero."""
    if dollars <= 0:
        return "$0"
    if dollars < 0.000_000_01:
        return "<$0.00000001"
    if dollars < 0.01:
        decimals = min(8, 1 - math.floor(math.log10(dollars)))
        return f"${dollars:.{decimals}f}"
    if dollars < 1:
        return f"${dollars:.3f}"
    return f"${dollars:.2f}"


def conversation_cost(messages: Sequence[Message]) -> tuple[float | None, bool]:
    """The known costs of the conversation's replies added up, and whether any is an
    estimate; None when no reply has a known cost."""
    costs = [m.usage for m in messages if m.usage is not None and m.usage.cost is not None]
    if not costs:
        return None, False
    return sum(u.cost or 0.0 for u in costs), any(u.estimated for u in costs)
