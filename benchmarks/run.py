"""Run every benchmark against the real app in a pseudo-terminal and print a table.

Usage: python benchmarks/run.py [--runs 3] [--only NAME ...] [--clients chat-tui naive]
                                [--write-readme]

The app runs as a real process on a pty, its screen interpreted by pyte; the mock server
runs in this process on a thread of its own. Each figure is the median of --runs runs.
The comparable benchmarks also run the naive reference client (benchmarks/naive_client.py:
Textual's Markdown widget and MarkdownStream) in the same run, and each figure is given as
a ratio to it: only ratios measured in one run mean anything across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.terminal import Terminal, app_argv, bench_env  # noqa: E402
from chat_tui.mock_server import MockServer, make_code_reply, make_reply  # noqa: E402
from chat_tui.mock_server.replies import tokenize  # noqa: E402

MARKER = "ZZEND"
PLACEHOLDER = "Message the model"
#: The terminal every benchmark runs in (the issue's size: a common full-screen terminal).
COLUMNS, LINES = 120, 40
#: The apps measured: chat-tui, and the naive reference client beside it.
CLIENTS = ("chat-tui", "naive")
NAIVE = ROOT / "benchmarks" / "naive_client.py"


@contextmanager
def mock_server(**options: Any) -> Iterator[MockServer]:
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        async with MockServer(**options) as server:
            holder["server"] = server
            holder["stop"] = asyncio.Event()
            ready.set()
            await holder["stop"].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield holder["server"]
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)


def start_app(
    server: MockServer, model: str, tmp: Path, *extra: str, client: str = "chat-tui"
) -> Terminal:
    if client == "naive":
        argv = [sys.executable, str(NAIVE), server.base_url, model]
    else:
        argv = app_argv("--base-url", server.base_url, "--model", model, *extra)
    return Terminal(argv, columns=COLUMNS, lines=LINES, env=bench_env(tmp))


def bench_startup(tmp: Path, client: str = "chat-tui") -> dict[str, float]:
    with mock_server() as server:
        terminal = start_app(server, "mock-gpt", tmp, client=client)
        try:
            ready = terminal.wait_for(lambda text: PLACEHOLDER in text, 30)
            return {"startup_s": ready - terminal.started, "rss_mb": terminal.peak_rss_mb()}
        finally:
            terminal.close()


@dataclass
class Sent:
    """What one prompt cost, from Enter to the screen showing ``done``."""

    seconds: float
    cpu_s: float
    bytes: int
    #: When the screen showed ``done`` (monotonic, comparable with the mock server's clock).
    seen: float


def settle(terminal: Terminal, timeout: float = 5.0) -> None:
    """Wait until the app is idle: work it does after its first frame (imports, connecting
    the backend) must not be counted as the cost of the reply measured next."""
    time.sleep(0.3)
    deadline = time.monotonic() + timeout
    before = terminal.cpu_seconds()
    while time.monotonic() < deadline:
        window = time.monotonic() + 0.2
        while time.monotonic() < window:
            terminal.pump(0.02)
        now = terminal.cpu_seconds()
        if now - before <= 0.01:
            return
        before = now


def send_and_wait(terminal: Terminal, done: Callable[[str], bool], timeout: float = 600) -> Sent:
    """Type a prompt, press Enter, and wait until the screen satisfies ``done``."""
    terminal.wait_for(lambda text: PLACEHOLDER in text, 30)
    settle(terminal)
    terminal.type("go")
    time.sleep(0.05)
    terminal.pump(0.05)
    cpu_before = terminal.cpu_seconds()
    bytes_before = terminal.output_bytes
    sent = time.monotonic()
    terminal.type("\r")
    finished = terminal.wait_for(done, timeout)
    return Sent(
        finished - sent,
        terminal.cpu_seconds() - cpu_before,
        terminal.output_bytes - bytes_before,
        finished,
    )


def reply_figures(sent: Sent, server: MockServer, tokens: int) -> dict[str, float]:
    lag = sent.seen - server.last_stream_end if server.last_stream_end else float("nan")
    return {
        "final_s": sent.seconds,
        # The screen is read every 5 ms, so a lag below that reads as about zero.
        "lag_after_server_s": max(0.0, lag),
        "cpu_s": sent.cpu_s,
        "cpu_ms_per_token": sent.cpu_s * 1000 / tokens,
        "kb_per_token": sent.bytes / 1024 / tokens,
    }


def bench_reply(
    tmp: Path, text: str, model: str = "mock-gpt", client: str = "chat-tui"
) -> dict[str, float]:
    tokens = len(tokenize(text))
    with mock_server(reply_text=text + f"\n\n{MARKER}\n") as server:
        terminal = start_app(server, model, tmp, client=client)
        try:
            sent = send_and_wait(terminal, lambda screen: MARKER in screen)
            return reply_figures(sent, server, tokens) | {"rss_mb": terminal.peak_rss_mb()}
        finally:
            terminal.close()


def bench_first_token(tmp: Path, client: str = "chat-tui") -> dict[str, float]:
    with mock_server(reply_text="FIRSTTOKEN and the rest of the reply.\n") as server:
        terminal = start_app(server, "mock-gpt", tmp, client=client)
        try:
            sent = send_and_wait(terminal, lambda screen: "FIRSTTOKEN" in screen)
            return {"first_token_s": sent.seconds}
        finally:
            terminal.close()


def bench_rate(tmp: Path, client: str = "chat-tui") -> dict[str, float]:
    """2,000 tokens of mixed Markdown at 100 tokens a second, one token per SSE event."""
    tokens = 2000
    text = make_reply("rate benchmark", tokens, seed=1)
    with mock_server(reply_text=text + f"\n\n{MARKER}\n") as server:
        terminal = start_app(server, "mock-gpt+rate-100+per-event-1", tmp, client=client)
        try:
            sent = send_and_wait(terminal, lambda screen: MARKER in screen, 120)
            return reply_figures(sent, server, tokens)
        finally:
            terminal.close()


def bench_long_session(tmp: Path) -> dict[str, float]:
    from chat_tui.sessions import Message, Session, SessionStore

    store = SessionStore(tmp / "sessions")
    session = Session(title="long session")
    for index in range(2500):
        session.add(Message("user", f"question {index}"))
        reply = make_reply(f"question {index}", 60 + (index % 9) * 40, seed=index)
        session.add(Message("assistant", reply + ("\n\nLASTREPLY\n" if index == 2499 else "")))
    store.save(session)
    with mock_server() as server:
        argv = app_argv(
            "--base-url",
            server.base_url,
            "--model",
            "mock-gpt",
            "--sessions-dir",
            str(store.root),
            "--session",
            session.id,
        )
        terminal = Terminal(argv, columns=COLUMNS, lines=LINES, env=bench_env(tmp))
        try:
            ready = terminal.wait_for(lambda text: PLACEHOLDER in text and "LASTREPLY" in text, 60)
            return {"interactive_s": ready - terminal.started, "rss_mb": terminal.peak_rss_mb()}
        finally:
            terminal.close()


def bench_ask(tmp: Path, text: str, model: str = "mock-gpt") -> dict[str, float]:
    with mock_server(reply_text=text) as server:
        argv = app_argv("ask", "--base-url", server.base_url, "--model", model, "go")
        started = time.monotonic()
        before = os.times()
        completed = subprocess.run(
            argv,
            env=bench_env(tmp),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        wall = time.monotonic() - started
        after = os.times()
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr.decode())
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        return {"wall_s": wall, "cpu_s": cpu}


Bench = Callable[[Path, str], dict[str, float]]


def benchmarks() -> dict[str, tuple[Bench, tuple[str, ...]]]:
    """Each benchmark and the clients it runs against (the naive client where it compares)."""
    reply_2k = make_reply("burst benchmark", 2000, seed=2)
    reply_20k = make_reply("burst benchmark", 20000, seed=3)
    both = CLIENTS
    ours = ("chat-tui",)
    return {
        "startup": (bench_startup, both),
        "first-token": (bench_first_token, both),
        "burst-2k": (lambda tmp, client: bench_reply(tmp, reply_2k, client=client), both),
        "burst-20k": (lambda tmp, client: bench_reply(tmp, reply_20k, client=client), both),
        "rate-100": (bench_rate, both),
        "code-3000": (
            lambda tmp, client: bench_reply(tmp, make_code_reply(3000), client=client),
            both,
        ),
        # The naive client needs minutes for this one; the figure that matters is ours
        # against our own 3,000-line block (is it linear?).
        "code-6000": (
            lambda tmp, client: bench_reply(tmp, make_code_reply(6000), client=client),
            ours,
        ),
        "long-session-5000": (lambda tmp, client: bench_long_session(tmp), ours),
        "ask-20k": (lambda tmp, client: bench_ask(tmp, reply_20k), ours),
        "ask-50k-deltas": (
            lambda tmp, client: bench_ask(tmp, "x" * 50_000, "mock-gpt+chars"),
            ours,
        ),
    }


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


Results = dict[str, dict[str, dict[str, float]]]  # benchmark -> client -> figure -> median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="benchmark names (default: all)")
    parser.add_argument("--clients", nargs="*", choices=CLIENTS, default=list(CLIENTS))
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    results: Results = {}
    for name, (bench, clients) in benchmarks().items():
        if args.only and name not in args.only:
            continue
        chosen = [client for client in clients if client in args.clients]
        runs: dict[str, list[dict[str, float]]] = {client: [] for client in chosen}
        for _ in range(args.runs):
            # The clients take turns within each run, so that a noisy moment on the
            # machine weighs on both alike and the ratio stays meaningful.
            for client in chosen:
                with tempfile.TemporaryDirectory() as tmp:
                    runs[client].append(bench(Path(tmp), client))
        results[name] = {
            client: {key: statistics.median(run[key] for run in found) for key in found[0]}
            for client, found in runs.items()
        }
        for client, figures in results[name].items():
            text = ", ".join(f"{key}={value:.4g}" for key, value in figures.items())
            print(f"{name} [{client}]: {text}", flush=True)
    table = render_table(results, args.runs)
    print(table)
    if args.write_readme:
        write_readme(table)


def _format(key: str, value: float) -> str:
    if key.endswith("_s"):
        return f"{value:.3f} s"
    if key.endswith("_mb"):
        return f"{value:.0f} MB"
    if key == "kb_per_token":
        return f"{value:.2f} KB"
    if key.endswith("_ms_per_token"):
        return f"{value:.2f} ms"
    return f"{value:.3g}"


def render_table(results: Results, runs: int) -> str:
    lines = [
        f"Measured on {machine()}, {COLUMNS}x{LINES} terminal, on {time.strftime('%Y-%m-%d')}, "
        f"median of {runs} runs, both clients in the same run.",
        "",
        "| benchmark | figure | chat-tui | naive Textual | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, by_client in results.items():
        ours = by_client.get("chat-tui", {})
        naive = by_client.get("naive", {})
        for key in ours or naive:
            mine = _format(key, ours[key]) if key in ours else ""
            theirs = _format(key, naive[key]) if key in naive else ""
            ratio = ""
            if key in ours and key in naive and naive[key] > 0:
                ratio = f"{ours[key] / naive[key]:.2f}x"
            lines.append(f"| {name} | {key} | {mine} | {theirs} | {ratio} |")
    code_3k = results.get("code-3000", {}).get("chat-tui", {}).get("final_s")
    code_6k = results.get("code-6000", {}).get("chat-tui", {}).get("final_s")
    if code_3k and code_6k:
        lines.append(f"| code-6000 / code-3000 | final_s | {code_6k / code_3k:.2f}x | | |")
    return "\n".join(lines)


def write_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"<!-- benchmarks:start -->\n{table}\n<!-- benchmarks:end -->"
    pattern = re.compile(r"<!-- benchmarks:start -->.*?<!-- benchmarks:end -->", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        # First time: at the end of the Performance section, under the hand-written table.
        section = text.index("## Performance")
        following = text.find("\n## ", section + 1)
        end = following + 1 if following != -1 else len(text)
        text = text[:end] + block + "\n\n" + text[end:]
    readme.write_text(text)


if __name__ == "__main__":
    main()
