"""resolve_api_key(): literal, environment variable, command; and failing commands."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chat_tui.config import ProviderConfig, forget_command_keys, resolve_api_key
from chat_tui.config import keys as keys_module
from chat_tui.errors import ConfigError


def python(code: str) -> tuple[str, ...]:
    """argv running ``code`` in this Python: a key command that exists everywhere."""
    return (sys.executable, "-c", code)


def provider(**fields: object) -> ProviderConfig:
    return ProviderConfig("work", "https://llm.example.com/v1", **fields)  # type: ignore[arg-type]


def test_no_key_at_all() -> None:
    assert resolve_api_key(provider(), env={}) is None


def test_literal_key_wins() -> None:
    p = provider(api_key="sk-literal", api_key_env="K", api_key_command=python("print('x')"))
    assert resolve_api_key(p, env={"K": "sk-env"}) == "sk-literal"


def test_key_from_the_environment() -> None:
    p = provider(api_key_env="WORK_KEY", api_key_command=python("raise SystemExit(3)"))
    assert resolve_api_key(p, env={"WORK_KEY": " sk-env\n"}) == "sk-env"


def test_missing_or_blank_variable_falls_through_to_the_command() -> None:
    p = provider(api_key_env="WORK_KEY", api_key_command=python("print('sk-test')"))
    assert resolve_api_key(p, env={}) == "sk-test"
    assert resolve_api_key(p, env={"WORK_KEY": "  "}) == "sk-test"


def test_missing_variable_without_a_command_is_none() -> None:
    assert resolve_api_key(provider(api_key_env="WORK_KEY"), env={"OTHER": "x"}) is None


def test_key_from_a_command() -> None:
    p = provider(api_key_command=python("print('sk-test')"))
    assert resolve_api_key(p, env={}) == "sk-test"


def test_command_runs_without_a_shell(tmp_path: Path) -> None:
    # With a shell, the ";" would run a second command and create the marker file.
    marker = tmp_path / "marker"
    code = "import sys; print(sys.argv[1])"
    p = provider(api_key_command=(*python(code), f"sk-a; touch {marker}"))
    assert resolve_api_key(p, env={}) == f"sk-a; touch {marker}"
    assert not marker.exists()


def test_first_line_only_like_pass() -> None:
    p = provider(api_key_command=python("print('sk-first'); print('login: me')"))
    assert resolve_api_key(p, env={}) == "sk-first"


def test_failing_command_names_the_provider_and_stderr_not_the_key() -> None:
    code = (
        "import sys; print('sk-leaked'); "
        "sys.stderr.write('gpg: decryption failed\\nmore detail\\n'); sys.exit(2)"
    )
    p = provider(api_key_command=python(code))
    with pytest.raises(ConfigError) as caught:
        resolve_api_key(p, env={})
    message = str(caught.value)
    assert "'work'" in message
    assert "exit status 2" in message
    assert "gpg: decryption failed" in message
    assert "more detail" not in message
    assert "sk-leaked" not in message


def test_command_that_prints_nothing() -> None:
    with pytest.raises(ConfigError, match="printed nothing"):
        resolve_api_key(provider(api_key_command=python("pass")), env={})


def test_command_not_found(tmp_path: Path) -> None:
    p = provider(api_key_command=(str(tmp_path / "no-such-program"), "show"))
    with pytest.raises(ConfigError, match="was not found"):
        resolve_api_key(p, env={})


def test_command_that_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "KEY_COMMAND_TIMEOUT", 0.5)
    p = provider(api_key_command=python("import time; time.sleep(30)"))
    with pytest.raises(ConfigError, match=r"took more than 0\.5 s"):
        resolve_api_key(p, env={})


def test_command_key_is_remembered_until_forgotten(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    code = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
        "p.write_text(p.read_text() + 'x' if p.exists() else 'x'); print('sk-counted')"
    )
    p = provider(api_key_command=(*python(code), str(counter)))
    assert resolve_api_key(p, env={}) == "sk-counted"
    assert resolve_api_key(p, env={}) == "sk-counted"
    assert counter.read_text() == "x"  # a password manager prompts once, not twice
    forget_command_keys()
    assert resolve_api_key(p, env={}) == "sk-counted"
    assert counter.read_text() == "xx"


def test_failures_are_not_remembered(tmp_path: Path) -> None:
    flag = tmp_path / "unlocked"
    code = (
        "import pathlib, sys; "
        "sys.exit('locked') if not pathlib.Path(sys.argv[1]).exists() else print('sk-now')"
    )
    p = provider(api_key_command=(*python(code), str(flag)))
    with pytest.raises(ConfigError, match="locked"):
        resolve_api_key(p, env={})
    flag.touch()
    assert resolve_api_key(p, env={}) == "sk-now"
