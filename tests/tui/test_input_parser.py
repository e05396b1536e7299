"""The input parser: whole bracketed pastes, Alt+Enter as ESC CR, keys typed at start-up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual import events
from textual.drivers import linux_driver

from chat_tui.tui import early_keys
from chat_tui.tui.input_parser import HOLD_SECONDS, ChatInputParser, install_input_parser

PASTE = "\x1b[200~C1 pre \x1b[31mred\x1b[0m post\nline two\x1b[201~"


def parse(*chunks: str) -> list[object]:
    parser = ChatInputParser()
    found: list[object] = []
    for chunk in chunks:
        found.extend(parser.feed(chunk))
    time.sleep(HOLD_SECONDS + 0.01)
    found.extend(parser.tick())
    return found


def describe(tokens: list[object]) -> list[str]:
    out = []
    for token in tokens:
        if isinstance(token, events.Paste):
            out.append(f"paste:{token.text}")
        elif isinstance(token, events.Key):
            out.append(token.key)
    return out


def test_a_paste_with_escape_sequences_arrives_whole_and_in_order() -> None:
    assert describe(parse("a" + PASTE + "b")) == [
        "a",
        "paste:C1 pre \x1b[31mred\x1b[0m post\nline two",
        "b",
    ]


@pytest.mark.parametrize("split", range(1, len(PASTE) + 2))
def test_a_paste_split_across_reads_at_any_point(split: int) -> None:
    text = "a" + PASTE + "b"
    assert describe(parse(text[:split], text[split:])) == describe(parse(text))


def test_escape_return_is_alt_enter() -> None:
    assert describe(parse("one\x1b\rtwo\x1b\nthree\r")) == [
        "o", "n", "e", "alt+enter", "t", "w", "o", "alt+enter", "t", "h", "r", "e", "e", "enter",
    ]  # fmt: skip


def test_a_lone_escape_is_still_the_escape_key() -> None:
    parser = ChatInputParser()
    assert list(parser.feed("\x1b")) == []  # Textual waits briefly for a longer sequence
    time.sleep(0.2)
    assert describe(list(parser.tick())) == ["escape"]


def test_arrow_keys_and_a_held_marker_prefix_still_work() -> None:
    assert describe(parse("\x1b[A")) == ["up"]
    assert describe(parse("\x1b[2", "~")) == ["insert"]


def test_keys_typed_at_start_up_come_first() -> None:
    early_keys._early_input.append("hi\r")
    assert describe(parse("x")) == ["h", "i", "enter", "x"]
    assert early_keys.take_early_input() == ""


def test_the_terminal_driver_uses_our_parser() -> None:
    install_input_parser()
    # The Linux driver builds its parser from this name; if Textual stops doing so, the
    # fixes above silently stop applying: this test is the alarm.
    assert linux_driver.XTermParser is ChatInputParser
    source = Path(linux_driver.__file__).read_text(encoding="utf-8")
    assert "parser = XTermParser(" in source
