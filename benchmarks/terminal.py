"""Run the real app in a pseudo-terminal with pyte as the screen, and measure it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent


class Terminal:
    """A child process on a pty, its output interpreted by pyte."""

    def __init__(
        self, argv: list[str], *, columns: int = 100, lines: int = 30, env: dict[str, str]
    ) -> None:
        self.columns, self.lines = columns, lines
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.started = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # the child
            os.chdir(ROOT)
            os.execve(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.output_bytes = 0

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def pump(self, timeout: float) -> bool:
        """Read what the app wrote within ``timeout``; returns whether there was anything."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                data = os.read(self.fd, 1 << 20)
            except OSError:
                return False
            self.output_bytes += len(data)
            self.stream.feed(data)
            # Answer terminal queries so Textual does not wait for them.
            if b"\x1b[6n" in data:
                os.write(self.fd, b"\x1b[1;1R")
            return True
        return False

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> float:
        """Seconds since start until the screen satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        changed = True
        while time.monotonic() < deadline:
            # Reading the whole pyte screen costs CPU that the app, on two cores, competes
            # for: look again only when the app has written something.
            if changed and predicate(self.text()):
                return time.monotonic()
            changed = self.pump(0.005)
        raise TimeoutError(f"screen never matched; it shows:\n{self.text()}")

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                self.pump(0.01)
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def app_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "chat_tui", *args]


def bench_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHAT_TUI_"))}
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        CHAT_TUI_CONFIG_DIR=str(tmp / "config"),
        CHAT_TUI_DATA_DIR=str(tmp / "data"),
        CHAT_TUI_CACHE_DIR=str(tmp / "cache"),
    )
    return env
