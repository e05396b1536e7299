"""What the user types is what is sent: the real app in a pseudo-terminal, keys written in
bursts (as tmux, ssh and fast typists deliver them), checked against what the mock server
received."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.terminal import Terminal, app_argv, bench_env
from chat_tui.mock_server import MockServer
from tests.tui.threaded_server import threaded_mock_server

PLACEHOLDER = "Message the model"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with threaded_mock_server(tokens_per_second=2000) as running:
        yield running


class App:
    """The app on a pty, pointed at the mock server."""

    def __init__(self, server: MockServer, tmp: Path, model: str = "mock-gpt+echo") -> None:
        self.server = server
        self.first_request = len(server.requests)
        argv = app_argv("--base-url", server.base_url, "--model", model)
        self.terminal = Terminal(argv, columns=100, lines=30, env=bench_env(tmp))

    def wait_ready(self) -> None:
        self.terminal.wait_for(lambda text: PLACEHOLDER in text and "idle" in text, 20)

    def type(self, text: str) -> None:
        self.terminal.type(text)

    def prompts(self) -> list[str]:
        """The last user message of every chat request since the app started."""
        sent = []
        for request in self.server.requests[self.first_request :]:
            messages = request.body.get("messages") if isinstance(request.body, dict) else None
            if messages:
                sent.append(messages[-1]["content"])
        return sent

    def wait_for_prompts(self, count: int, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.terminal.pump(0.01)
            if len(self.prompts()) >= count:
                return self.prompts()
        raise AssertionError(f"expected {count} requests, got {self.prompts()}\n{self.screen()}")

    def settle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.terminal.pump(0.01)

    def wait_idle(self) -> None:
        """Until a reply has ended: "idle" alone is also what the bar says before the
        first reply has begun to stream, and an Enter then would (rightly) be refused."""
        self.terminal.wait_for(lambda text: "idle" in text and "ttft" in text, 15)
        self.settle(0.1)

    def screen(self) -> str:
        return self.terminal.text()

    def close(self) -> None:
        self.terminal.close()


@pytest.fixture
def app(server: MockServer, tmp_path: Path) -> Iterator[App]:
    running = App(server, tmp_path)
    yield running
    running.close()


def test_a_burst_while_idle_sends_exactly_what_was_typed(app: App) -> None:
    app.wait_ready()
    app.type("Alpha question one\rBravo two typed next")
    assert app.wait_for_prompts(1) == ["Alpha question one"]
    app.wait_idle()
    app.settle(0.3)
    assert app.prompts() == ["Alpha question one"]
    app.type("\r")
    assert app.wait_for_prompts(2) == ["Alpha question one", "Bravo two typed next"]


def test_a_burst_before_the_first_frame_is_kept_and_sent(app: App) -> None:
    app.type("Early bird question\rand the next one")
    assert app.wait_for_prompts(1) == ["Early bird question"]
    app.wait_idle()
    app.type("\r")
    assert app.wait_for_prompts(2) == ["Early bird question", "and the next one"]


def test_a_burst_right_after_the_first_frame(app: App) -> None:
    app.terminal.wait_for(lambda text: PLACEHOLDER in text, 20)
    app.type("What is SSE? Say it in one line.\rAnd then")
    assert app.wait_for_prompts(1) == ["What is SSE? Say it in one line."]
    app.wait_idle()
    app.type("\r")
    assert app.wait_for_prompts(2)[1] == "And then"


def test_enter_while_a_reply_streams_keeps_the_text(server: MockServer, tmp_path: Path) -> None:
    # The echoed reply streams for about three seconds: the next Enter lands in it even
    # when a loaded machine is slow to draw "streaming".
    app = App(server, tmp_path, model="mock-gpt+echo+rate-10")
    first = "first prompt here, " + " ".join(["word"] * 30)
    try:
        app.wait_ready()
        app.type(first + "\r")
        app.wait_for_prompts(1)
        app.terminal.wait_for(lambda text: "streaming" in text, 10)
        app.type("second prompt\rthird line")
        app.terminal.wait_for(lambda text: "still streaming" in text, 5)
        app.wait_idle()
        assert app.prompts() == [first]
        app.type("\r")
        # What was typed after the refused Enter is on a line of its own, not run into it.
        assert app.wait_for_prompts(2) == [first, "second prompt\nthird line"]
    finally:
        app.close()


def test_a_paste_with_newlines_arrives_whole_and_never_sends_itself(app: App) -> None:
    app.wait_ready()
    app.type(f"{PASTE_START}line one\nline two\r\nline three\n{PASTE_END}")
    app.settle(0.5)
    assert app.prompts() == []
    app.type("tail\r")
    assert app.wait_for_prompts(1) == ["line one\nline two\nline three\ntail"]


def test_a_paste_with_escape_sequences_is_kept_in_order(app: App) -> None:
    app.wait_ready()
    app.type(f"{PASTE_START}C1 pre \x1b[31mred\x1b[0m post{PASTE_END}")
    app.settle(0.5)
    app.type("\r")
    assert app.wait_for_prompts(1) == ["C1 pre red post"]


def test_alt_enter_as_escape_return_adds_a_line(app: App) -> None:
    app.wait_ready()
    app.type("one\x1b\rtwo\r")
    assert app.wait_for_prompts(1) == ["one\ntwo"]


def test_typed_format_characters_are_kept(app: App) -> None:
    app.wait_ready()
    typed = "a\u200db\u200cc\u200fd\u200ee"
    app.type(typed + "\r")
    assert app.wait_for_prompts(1) == [typed]


def test_a_global_key_in_a_burst_acts_after_the_characters_before_it(app: App) -> None:
    app.wait_ready()
    app.type("abc\x0c")  # Ctrl+L opens the model picker
    app.terminal.wait_for(lambda text: "Switch model" in text or "Filter" in text, 10)
    app.type("\x1b")
    app.terminal.wait_for(lambda text: PLACEHOLDER not in text and "abc" in text, 5)
    app.settle(0.2)
    app.type("\r")
    assert app.wait_for_prompts(1) == ["abc"]
