"""Run every benchmark against the real app in a pseudo-terminal and print a table.

Usage: python benchmarks/run.py [--runs 3] [--only NAME ...] [--write-readme]

The app runs as a real process on a pty, its screen interpreted by pyte; the mock server
runs in this process on a thread of its own. Each figure is the median of --runs runs.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.terminal import Terminal, app_argv, bench_env  # noqa: E402
from chat_tui.mock_server import MockServer, make_code_reply, make_reply  # noqa: E402

MARKER = "ZZEND"
PLACEHOLDER = "Message the model"


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


def start_app(server: MockServer, model: str, tmp: Path, *extra: str) -> Terminal:
    argv = app_argv("--base-url", server.base_url, "--model", model, *extra)
    return Terminal(argv, columns=100, lines=30, env=bench_env(tmp))


def bench_startup(tmp: Path) -> dict[str, float]:
    with mock_server() as server:
        terminal = start_app(server, "mock-gpt", tmp)
        try:
            ready = terminal.wait_for(lambda text: PLACEHOLDER in text, 30)
            return {"startup_s": ready - terminal.started, "rss_mb": terminal.peak_rss_mb()}
        finally:
            terminal.close()


def send_and_wait(
    terminal: Terminal, done: Callable[[str], bool], timeout: float = 600
) -> tuple[float, float]:
    """Type a prompt, press Enter; returns (seconds to ``done``, app CPU seconds used)."""
    terminal.wait_for(lambda text: PLACEHOLDER in text, 30)
    time.sleep(0.3)
    terminal.pump(0.05)
    cpu_before = terminal.cpu_seconds()
    terminal.type("go")
    time.sleep(0.05)
    sent = time.monotonic()
    terminal.type("\r")
    finished = terminal.wait_for(done, timeout)
    return finished - sent, terminal.cpu_seconds() - cpu_before


def bench_reply(tmp: Path, text: str, model: str = "mock-gpt") -> dict[str, float]:
    with mock_server(reply_text=text + f"\n\n{MARKER}\n") as server:
        terminal = start_app(server, model, tmp)
        try:
            first = terminal
            seconds, cpu = send_and_wait(first, lambda screen: MARKER in screen)
            return {"final_s": seconds, "cpu_s": cpu, "rss_mb": terminal.peak_rss_mb()}
        finally:
            terminal.close()


def bench_first_token(tmp: Path) -> dict[str, float]:
    with mock_server(reply_text="FIRSTTOKEN and the rest of the reply.\n") as server:
        terminal = start_app(server, "mock-gpt", tmp)
        try:
            seconds, _ = send_and_wait(terminal, lambda screen: "FIRSTTOKEN" in screen)
            return {"first_token_s": seconds}
        finally:
            terminal.close()


def bench_rate(tmp: Path) -> dict[str, float]:
    tokens = 2000
    text = make_reply("rate benchmark", tokens, seed=1)
    with mock_server(reply_text=text + f"\n\n{MARKER}\n") as server:
        terminal = start_app(server, "mock-gpt+rate-100", tmp)
        try:
            seconds, cpu = send_and_wait(terminal, lambda screen: MARKER in screen, 120)
            seen = time.monotonic()
            lag = seen - server.last_stream_end if server.last_stream_end else float("nan")
            return {
                "final_s": seconds,
                "cpu_ms_per_token": cpu * 1000 / tokens,
                "lag_after_server_s": max(0.0, lag),
            }
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
        terminal = Terminal(argv, columns=100, lines=30, env=bench_env(tmp))
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


def benchmarks() -> dict[str, Callable[[Path], dict[str, float]]]:
    reply_2k = make_reply("burst benchmark", 2000, seed=2)
    reply_20k = make_reply("burst benchmark", 20000, seed=3)
    return {
        "startup": bench_startup,
        "first-token": bench_first_token,
        "burst-2k": lambda tmp: bench_reply(tmp, reply_2k),
        "burst-20k": lambda tmp: bench_reply(tmp, reply_20k),
        "rate-100": bench_rate,
        "code-3000": lambda tmp: bench_reply(tmp, make_code_reply(3000)),
        "code-6000": lambda tmp: bench_reply(tmp, make_code_reply(6000)),
        "long-session-5000": bench_long_session,
        "ask-20k": lambda tmp: bench_ask(tmp, reply_20k),
        "ask-50k-deltas": lambda tmp: bench_ask(tmp, "x" * 50_000, "mock-gpt+chars"),
    }


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for name, bench in benchmarks().items():
        if args.only and name not in args.only:
            continue
        runs: list[dict[str, float]] = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(bench(Path(tmp)))
        results[name] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        figures = ", ".join(f"{key}={value:.3f}" for key, value in results[name].items())
        print(f"{name}: {figures}", flush=True)
    table = render_table(results, args.runs)
    print(table)
    if args.write_readme:
        write_readme(table)


def render_table(results: dict[str, dict[str, float]], runs: int) -> str:
    lines = [
        f"Measured on {machine()}, median of {runs} runs.",
        "",
        "| benchmark | figures |",
        "| --- | --- |",
    ]
    for name, figures in results.items():
        text = ", ".join(f"{key} {value:.3f}" for key, value in figures.items())
        lines.append(f"| {name} | {text} |")
    return "\n".join(lines)


def write_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"<!-- benchmarks:start -->\n{table}\n<!-- benchmarks:end -->"
    pattern = re.compile(r"<!-- benchmarks:start -->.*?<!-- benchmarks:end -->", re.DOTALL)
    text = pattern.sub(block, text) if pattern.search(text) else text + "\n" + block + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
