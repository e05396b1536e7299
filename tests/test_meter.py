"""The context meter's and cost's arithmetic: pure functions over messages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chat_tui.context_window import ModelFacts
from chat_tui.meter import (
    ContextUse,
    context_use,
    conversation_cost,
    estimate_tokens,
    format_cost,
    is_crowded,
    meter_text,
    room_left,
    short_count,
    window_size,
    would_overflow,
)
from chat_tui.sessions import Message, Usage


def reply(text: str, usage: Usage | None, status: str = "complete") -> Message:
    return Message("assistant", text, usage=usage, status=status)  # type: ignore[arg-type]


def test_the_servers_count_of_the_last_reply_is_the_base() -> None:
    messages = [
        Message("user", "a" * 400),
        reply("b" * 400, Usage(100, 100, 200)),
        Message("user", "c" * 40),
        reply("d" * 80, Usage(300, 20, 320)),
    ]
    # Prompt and completion of the last reply: the whole conversation as the model saw it.
    assert context_use("system", messages) == ContextUse(320, False)


def test_what_came_after_the_last_count_is_estimated() -> None:
    messages = [
        Message("user", "hello"),
        reply("answer", Usage(1000, 200, 1200)),
        Message("user", "x" * 400),
    ]
    use = context_use("", messages)
    assert use == ContextUse(1200 + 100, True)
    # The box's text adds its estimate; an empty box adds nothing and keeps the mark.
    assert use.plus("y" * 40) == ContextUse(1310, True)
    assert ContextUse(5, False).plus("") == ContextUse(5, False)


def test_without_any_count_everything_is_estimated() -> None:
    messages = [Message("user", "q" * 80), reply("r" * 120, None)]
    assert context_use("s" * 40, messages) == ContextUse(10 + 20 + 30, True)
    assert context_use("", []) == ContextUse(0, False)


def test_failed_replies_and_estimated_counts() -> None:
    messages = [
        Message("user", "q" * 80),
        reply("", Usage(50, 10, 60, estimated=True)),
        Message("user", "again"),
        # A failed reply is never sent again, and carries no count.
        reply("HTTP 500", None, status="error"),
    ]
    use = context_use("", messages)
    assert use == ContextUse(60 + estimate_tokens("again"), True)


def test_room_and_overflow() -> None:
    use = ContextUse(7000, False)
    assert room_left(None, use) is None
    assert room_left(8192, use) == 1192
    assert room_left(8192, use, reserve=1000) == 192
    assert room_left(4096, use) == 0  # never below zero
    assert not would_overflow(None, use, "x" * 10**6)
    assert not would_overflow(8192, use, "x" * 4000)  # 1000 more: 8000 fits
    assert would_overflow(8192, use, "x" * 4800)  # 1200 more: 8200 does not
    assert would_overflow(8192, use, "x" * 4000, reserve=500)


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1.0k"),
        (12_400, "12.4k"),
        (99_949, "99.9k"),
        (250_000, "250k"),
    ],
)
def test_short_count(tokens: int, text: str) -> None:
    assert short_count(tokens) == text


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        (512, "512"),
        (2048, "2k"),
        (32_768, "32k"),
        (131_072, "128k"),
        (32_000, "32k"),
        (200_000, "200k"),
        (1000, "1k"),
        (4500, "4.5k"),
        (1_048_576, "1M"),
        (2_000_000, "2M"),
    ],
)
def test_window_size(tokens: int, text: str) -> None:
    assert window_size(tokens) == text


def test_meter_text_and_warning_threshold() -> None:
    assert meter_text(ContextUse(12_400, False), 32_768) == "ctx 12.4k/32k"
    assert meter_text(ContextUse(12_400, True), 32_768) == "ctx ~12.4k/32k"
    assert not is_crowded(ContextUse(800, False), 1000)
    assert is_crowded(ContextUse(801, False), 1000)


@pytest.mark.parametrize(
    ("dollars", "text"),
    [
        (0.0, "$0"),
        (0.000027, "$0.000027"),
        (0.0012, "$0.0012"),
        (0.034, "$0.034"),
        (1.234, "$1.23"),
        (1e-10, "<$0.00000001"),
    ],
)
def test_format_cost_never_rounds_to_zero(dollars: float, text: str) -> None:
    assert format_cost(dollars) == text


def test_cost_from_prices_needs_both() -> None:
    assert ModelFacts(price_in=3.0, price_out=15.0).cost(1000, 2000) == pytest.approx(0.033)
    assert ModelFacts(price_in=3.0).cost(1000, 2000) is None
    assert ModelFacts().cost(1000, 2000) is None


def test_conversation_cost_adds_known_costs_only() -> None:
    assert conversation_cost([reply("a", Usage(1, 1, 2))]) == (None, False)
    messages = [
        reply("a", Usage(1, 1, 2, cost=0.25)),
        reply("b", Usage(1, 1, 2)),
        reply("c", Usage(1, 1, 2, estimated=True, cost=0.5)),
    ]
    assert conversation_cost(messages) == (0.75, True)


def test_the_meter_and_discovery_know_nothing_of_textual() -> None:
    code = "import sys, chat_tui.meter, chat_tui.context_window; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
