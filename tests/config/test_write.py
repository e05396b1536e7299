"""state.toml and init_config(): atomic, private, and never touching the user's file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from chat_tui.config import (
    PRESETS,
    CorruptStateError,
    init_config,
    load,
    load_state,
    remember_model,
    save_state,
    state_path,
)
from chat_tui.config.write import STARTER
from chat_tui.errors import ConfigError

from .helpers import write_config

USER_FILE = """\
# my settings - do not reorder!
[app]
default_model = "openai/gpt-4o-mini"   # work default
theme = "nord"
favourites = ["openai/gpt-4o-mini"]

[providers.work]
base_url = "https://llm.example.com/api/v1"
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_path_is_beside_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert state_path(tmp_path / "c" / "my.toml") == tmp_path / "c" / "state.toml"
    assert state_path(tmp_path / "state.toml") == tmp_path / "state.toml"
    monkeypatch.setenv("CHAT_TUI_CONFIG_DIR", str(tmp_path / "dir"))
    assert state_path() == tmp_path / "dir" / "state.toml"


def test_round_trip_leaves_the_user_file_byte_for_byte(config_path: Path) -> None:
    write_config(config_path, USER_FILE)
    before = config_path.read_bytes()
    written = save_state(
        config_path,
        default_model="ollama/llama3.2",
        theme="dracula",
        favourites=("ollama/llama3.2", "openai/gpt-4o-mini"),
        recent=["ollama/llama3.2"],
    )
    assert written == config_path.with_name("state.toml")
    assert config_path.read_bytes() == before
    assert load_state(config_path) == {
        "default_model": "ollama/llama3.2",
        "theme": "dracula",
        "favourites": ["ollama/llama3.2", "openai/gpt-4o-mini"],
        "recent": ["ollama/llama3.2"],
    }
    config, problems = load(config_path)
    assert problems == []
    assert config.app.default_model == "ollama/llama3.2"
    assert config.app.theme == "dracula"
    assert config.app.favourites == ("ollama/llama3.2", "openai/gpt-4o-mini")
    assert config.app.recent == ("ollama/llama3.2",)
    assert "work" in config.providers  # the file's own entries are still read


def test_state_is_merged_and_none_forgets(config_path: Path) -> None:
    save_state(config_path, theme="nord", default_model="ollama/x")
    save_state(config_path, theme=None, favourites=["ollama/x"])
    assert load_state(config_path) == {"default_model": "ollama/x", "favourites": ["ollama/x"]}


def test_state_file_is_private_and_no_temporary_files_remain(config_path: Path) -> None:
    file = save_state(config_path, theme="nord")
    assert mode(file) == 0o600
    assert mode(file.parent) == 0o700
    assert sorted(p.name for p in file.parent.iterdir()) == ["state.toml"]


def test_state_without_a_config_file(config_path: Path) -> None:
    save_state(config_path, theme="gruvbox")
    config, problems = load(config_path)
    assert problems == []
    assert config.app.theme == "gruvbox"
    assert dict(config.providers) == dict(PRESETS)


def test_unknown_or_mistyped_state_is_refused(config_path: Path) -> None:
    with pytest.raises(ValueError, match="not app state"):
        save_state(config_path, system_prompt="x")
    with pytest.raises(TypeError):
        save_state(config_path, favourites="ollama/x")
    with pytest.raises(TypeError):
        save_state(config_path, theme=3)  # type: ignore[arg-type]
    assert not state_path(config_path).exists()


def test_remember_model_keeps_a_short_recent_list(config_path: Path) -> None:
    for n in range(12):
        remember_model(config_path, f"ollama/m{n}")
    remember_model(config_path, "ollama/m5")
    state = load_state(config_path)
    assert state["default_model"] == "ollama/m5"
    recent = state["recent"]
    assert recent[0] == "ollama/m5"
    assert recent[1:4] == ["ollama/m11", "ollama/m10", "ollama/m9"]
    assert len(recent) == 10
    assert recent.count("ollama/m5") == 1


def test_corrupt_state_is_a_problem_and_left_alone(config_path: Path) -> None:
    write_config(config_path, '[app]\ntheme = "nord"\n')
    damaged = state_path(config_path)
    damaged.write_bytes(b'theme = "dracula"\nrecent = [oops\n')
    before = damaged.read_bytes()

    config, problems = load(config_path)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.file == damaged
    assert problem.line == 2
    assert "Delete it" in problem.message
    assert config.app.theme == "nord"  # the file's value, state ignored

    with pytest.raises(CorruptStateError) as caught:
        save_state(config_path, theme="gruvbox")
    assert isinstance(caught.value, ConfigError)
    assert str(damaged) in str(caught.value)
    assert damaged.read_bytes() == before  # not overwritten
    assert sorted(p.name for p in damaged.parent.iterdir()) == ["config.toml", "state.toml"]


def test_state_with_wrong_types_is_partly_used(config_path: Path) -> None:
    state_path(config_path).parent.mkdir(parents=True)
    state_path(config_path).write_text('theme = 3\nfavourites = ["ollama/x"]\nfuture_key = 1\n')
    config, problems = load(config_path)
    assert [(p.key, p.file.name) for p in problems] == [("theme", "state.toml")]
    assert config.app.favourites == ("ollama/x",)


def test_init_config_writes_the_documented_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "config.toml"
    assert init_config(path) == path
    assert path.read_text() == STARTER
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
    config, problems = load(path)
    assert problems == []
    assert dict(config.providers) == dict(PRESETS)


def test_the_documented_examples_load_cleanly(tmp_path: Path) -> None:
    # Uncommenting every example in the starting file gives a valid config.
    lines = []
    for line in STARTER.splitlines():
        code = line.removeprefix("# ")
        is_setting = "=" in code.split("#")[0] and not line.startswith("#   ")
        if is_setting or code.startswith("[providers."):
            lines.append(code)
        else:
            lines.append(line)
    path = write_config(tmp_path / "config.toml", "\n".join(lines) + "\n")
    config, problems = load(path)
    assert problems == []
    work = config.providers["work"]
    assert work.api_key_command == ("pass", "show", "work/llm")
    assert work.send_stream_options is False
    assert work.read_timeout == 300.0
    assert config.app.favourites == ("openai/gpt-4o-mini", "ollama/llama3.2")


def test_init_config_never_overwrites(config_path: Path) -> None:
    write_config(config_path, USER_FILE)
    with pytest.raises(ConfigError, match="already exists"):
        init_config(config_path)
    assert config_path.read_text() == USER_FILE


def test_init_config_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "config.toml"
    os.symlink(tmp_path / "elsewhere.toml", link)
    with pytest.raises(ConfigError, match="already exists"):
        init_config(link)
    assert not (tmp_path / "elsewhere.toml").exists()


def test_init_config_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_TUI_CONFIG", str(tmp_path / "x" / "c.toml"))
    assert init_config() == tmp_path / "x" / "c.toml"
    assert (tmp_path / "x" / "c.toml").exists()
