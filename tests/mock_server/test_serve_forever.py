"""``serve_forever``: the blocking entry point behind ``chat-tui mock-server``."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx

SCRIPT = (
    "from chat_tui.mock_server import serve_forever; "
    "serve_forever('127.0.0.1', 0, reply_text='from the command line', api_key='k')"
)


def test_prints_its_url_serves_and_exits_cleanly_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        response = httpx.post(
            f"{base_url}/chat/completions",
            json={"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": "Bearer k"},
        )
        assert response.json()["choices"][0]["message"]["content"] == "from the command line"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Traceback" not in err and err == ""
    assert out == ""


def test_the_mock_server_does_not_import_textual() -> None:
    """Only chat_tui.tui may import Textual; the server runs in tests and scripts without it."""
    code = (
        "import sys, chat_tui.mock_server; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == "[]"
