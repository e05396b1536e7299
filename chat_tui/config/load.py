"""Read the config file into frozen dataclasses, collecting every problem and going on.

One bad line never costs the rest of the file: a syntax error blanks that line and the
file is parsed again, and a value of the wrong type is reported and skipped.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from chat_tui import paths
from chat_tui.config.model import AppSettings, Config, Problem, ProviderConfig
from chat_tui.config.presets import PRESETS

MAX_CONFIG_BYTES = 1024 * 1024
MAX_SYNTAX_REPAIRS = 20
_LINE = re.compile(r"at line (\d+)")

_APP_KEYS: dict[str, tuple[type, ...]] = {
    "default_model": (str,),
    "theme": (str,),
    "favourites": (list,),
    "recent": (list,),
    "sessions_dir": (str,),
    "system_prompt": (str,),
    "temperature": (int, float),
    "max_tokens": (int,),
}
_PROVIDER_KEYS: dict[str, tuple[type, ...]] = {
    "base_url": (str,),
    "api_key_env": (str,),
    "api_key_command": (list,),
    "api_key": (str,),
    "default_model": (str,),
    "models": (list,),
    "headers": (dict,),
    "stream_options": (bool,),
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
}


def load(path: Path | None = None) -> tuple[Config, list[Problem]]:
    """The config at ``path`` (default: the user's config file) and what is wrong with it."""
    path = path or paths.config_file()
    problems: list[Problem] = []
    data: dict[str, Any] = {}
    text = ""
    if path.exists():
        text, data = _read_toml(path, problems)
    config = build(data, path, text, problems)
    from chat_tui.config.write import load_state, state_path

    state, state_problem = load_state(state_path(path))
    if state_problem:
        problems.append(state_problem)
    config = _overlay_state(config, state)
    if data and _has_literal_key(data) and _readable_by_others(path):
        problems.append(
            Problem(
                path,
                None,
                None,
                f"holds a literal api_key but is readable by others: run 'chmod 600 {path}'",
            )
        )
    return config, problems


def _read_toml(path: Path, problems: list[Problem]) -> tuple[str, dict[str, Any]]:
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            problems.append(
                Problem(
                    path,
                    None,
                    None,
                    f"file is {size // 1024} KiB, over the 1 MiB limit; it was not read",
                )
            )
            return "", {}
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(path, None, None, "file is not UTF-8 text; it was not read"))
        return "", {}
    except OSError as error:
        problems.append(Problem(path, None, None, f"could not be read: {error.strerror}"))
        return "", {}
    lines = text.splitlines()
    for _ in range(MAX_SYNTAX_REPAIRS):
        try:
            return text, tomllib.loads("\n".join(lines))
        except tomllib.TOMLDecodeError as error:
            match = _LINE.search(str(error))
            line = int(match.group(1)) if match else None
            message = str(error).split(" (at ")[0]
            problems.append(Problem(path, line, None, f"not valid TOML ({message}); line ignored"))
            if line is None or line > len(lines) or not lines[line - 1].strip():
                break
            lines[line - 1] = ""
        except RecursionError:
            break
    problems.append(Problem(path, None, None, "too broken to read; using the built-in defaults"))
    return text, {}


def _line_of(text: str, key: str, after: str | None = None) -> int | None:
    """The line where ``key`` is set (good enough for pointing a person at it)."""
    start = 0
    if after:
        header = re.search(rf"^\s*\[{re.escape(after)}\]", text, re.MULTILINE)
        if header:
            start = header.end()
    match = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=", re.MULTILINE).search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else None


def build(
    data: dict[str, Any], path: Path, text: str = "", problems: list[Problem] | None = None
) -> Config:
    problems = problems if problems is not None else []

    def problem(key: str, message: str, table: str | None = None) -> None:
        line = _line_of(text, key.rsplit(".", 1)[-1], table)
        problems.append(Problem(path, line, key, message))

    app_table = data.get("app", {})
    if not isinstance(app_table, dict):
        problem("app", "should be a table")
        app_table = {}
    app_values: dict[str, Any] = {}
    for key, value in app_table.items():
        expected = _APP_KEYS.get(key)
        if expected is None:
            problem(f"app.{key}", "unknown setting (ignored)", "app")
        elif not isinstance(value, expected) or isinstance(value, bool):
            problem(f"app.{key}", f"expected {_kind(expected)}, got {_show(value)}", "app")
        elif isinstance(value, list) and not all(isinstance(item, str) for item in value):
            problem(f"app.{key}", "expected a list of strings", "app")
        else:
            app_values[key] = tuple(value) if isinstance(value, list) else value
    if "sessions_dir" in app_values:
        app_values["sessions_dir"] = Path(app_values["sessions_dir"]).expanduser()
    app = AppSettings(**app_values)

    providers: dict[str, ProviderConfig] = dict(PRESETS)
    table = data.get("providers", {})
    if not isinstance(table, dict):
        problem("providers", "should be a table of providers")
        table = {}
    for name, entry in table.items():
        section = f"providers.{name}"
        if not isinstance(entry, dict):
            problem(section, "should be a table")
            continue
        provider = _build_provider(name, entry, providers.get(name), section, problem)
        if provider is not None:
            providers[name] = provider
    return Config(app=app, providers=MappingProxyType(providers), path=path)


def _build_provider(
    name: str,
    entry: dict[str, Any],
    preset: ProviderConfig | None,
    section: str,
    problem: Any,
) -> ProviderConfig | None:
    values: dict[str, Any] = {}
    for key, value in entry.items():
        expected = _PROVIDER_KEYS.get(key)
        if expected is None:
            problem(f"{section}.{key}", "unknown setting (ignored)", section)
            continue
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            problem(f"{section}.{key}", f"expected {_kind(expected)}, got {_show(value)}", section)
            continue
        if key in ("api_key_command", "models") and not all(isinstance(v, str) for v in value):
            problem(f"{section}.{key}", "expected a list of strings", section)
            continue
        if key == "headers" and not all(isinstance(v, str) for v in value.values()):
            problem(f"{section}.{key}", "header values must be strings", section)
            continue
        if key == "base_url" and not value.startswith(("http://", "https://")):
            problem(
                f"{section}.{key}", f"should start with http:// or https://, got {value!r}", section
            )
            continue
        if key in ("connect_timeout", "read_timeout") and value <= 0:
            problem(f"{section}.{key}", "must be more than 0 seconds", section)
            continue
        values[key] = value
    if "api_key_command" in values:
        if not values["api_key_command"]:
            problem(f"{section}.api_key_command", "is empty", section)
            del values["api_key_command"]
        else:
            values["api_key_command"] = tuple(values["api_key_command"])
    if "models" in values:
        values["models"] = tuple(values["models"])
    if "headers" in values:
        values["headers"] = MappingProxyType(dict(values["headers"]))
    if "stream_options" in values:
        values["send_stream_options"] = values.pop("stream_options")
    for key in ("connect_timeout", "read_timeout"):
        if key in values:
            values[key] = float(values[key])
    if preset is not None:
        return replace(preset, **values)
    if "base_url" not in values:
        problem(section, "needs a base_url (it is not one of the built-in providers)")
        return None
    return ProviderConfig(name=name, **values)


def _overlay_state(config: Config, state: dict[str, Any]) -> Config:
    """Lay the app's remembered choices (last model, theme, favourites) over the file's."""
    changes: dict[str, Any] = {}
    for key in ("default_model", "theme"):
        if isinstance(state.get(key), str):
            changes[key] = state[key]
    for key in ("favourites", "recent"):
        value = state.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            changes[key] = tuple(value)
    if not changes:
        return config
    return replace(config, app=replace(config.app, **changes))


def _has_literal_key(data: dict[str, Any]) -> bool:
    providers = data.get("providers")
    if not isinstance(providers, dict):
        return False
    return any(
        isinstance(p, dict) and isinstance(p.get("api_key"), str) for p in providers.values()
    )


def _readable_by_others(path: Path) -> bool:
    if os.name != "posix":
        return False
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def _kind(expected: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(dict.fromkeys(names[t] for t in expected))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
