"""Read the config file into frozen dataclasses, collecting every problem and going on.

``load()`` never raises for what a file contains: a syntax error costs the lines around
it, a value of the wrong type or an unknown key costs that key, and everything else is
used. Each problem carries the file, the line and the dotted key, for a person to fix.
"""

from __future__ import annotations

import os
import reprlib
import stat
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from chat_tui import paths
from chat_tui.config.model import AppSettings, Config, ModelSettings, Problem, ProviderConfig
from chat_tui.config.presets import PRESETS
from chat_tui.config.toml_text import KeyLines, TooBroken, parse_tolerant
from chat_tui.config.write import STATE_KEYS, CorruptStateError, read_state_file, state_path
from chat_tui.parameters import RULES, ParameterError, check_parameter

#: Bigger than any hand-written config: anything this size is junk, not settings.
MAX_CONFIG_BYTES = 1024 * 1024


class _Invalid(Exception):
    """A value that cannot be used; ``str()`` says what was expected."""


def load(path: Path | None = None) -> tuple[Config, list[Problem]]:
    """The config at ``path`` (default: the user's config file) and what is wrong with it.

    A missing file is no problem: the presets alone are the config. The app's remembered
    choices (``state.toml`` beside the file) are laid over the file's ``[app]`` values.
    """
    file = path if path is not None else paths.config_file()
    problems: list[Problem] = []
    text = _read_text(file, problems)
    data: dict[str, Any] = {}
    if text:
        try:
            data, syntax_problems = parse_tolerant(text)
        except TooBroken as error:
            problems.append(
                Problem(file, error.line, None, f"{error}; using the built-in providers only")
            )
            text = ""
        else:
            problems.extend(Problem(file, p.line, p.key, p.message) for p in syntax_problems)
    lines = KeyLines(text)
    config = _Builder(file, lines, problems).build(data)
    problems.extend(_exposed_keys(file, data, lines))
    # In file order, as a person reads them while fixing the file top to bottom.
    problems.sort(key=lambda problem: problem.line or 0)
    config = _overlay_state(replace(config, path=path), state_path(path), problems)
    return config, problems


def _read_text(file: Path, problems: list[Problem]) -> str:
    """The file's text, or "" (with a problem when that is not simply "no file")."""
    try:
        size = file.stat().st_size
        if not file.is_file():
            problems.append(Problem(file, None, None, "is not a file; it was not read"))
            return ""
        if size > MAX_CONFIG_BYTES:
            message = (
                f"is {size / 1024 / 1024:.1f} MiB, more than any config needs "
                f"(the limit is {MAX_CONFIG_BYTES // 1024 // 1024} MiB); it was not read, "
                "using the built-in providers only"
            )
            problems.append(Problem(file, None, None, message))
            return ""
        # utf-8-sig: editors on Windows start files with a byte-order mark.
        return file.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError as error:
        message = f"is not UTF-8 text (byte {error.start}); it was not read"
        problems.append(Problem(file, None, None, message))
    except OSError as error:
        problems.append(Problem(file, None, None, f"could not be read: {error.strerror}"))
    return ""


class _Builder:
    """Turns parsed TOML into a ``Config``, reporting each value it cannot use."""

    def __init__(self, file: Path, lines: KeyLines, problems: list[Problem]) -> None:
        self.file = file
        self.lines = lines
        self.problems = problems

    def problem(self, key: tuple[str, ...], message: str) -> None:
        self.problems.append(Problem(self.file, self.lines.line_of(*key), ".".join(key), message))

    def build(self, data: Mapping[str, Any]) -> Config:
        for key in data:
            if key not in ("app", "providers"):
                kind = "table" if isinstance(data[key], dict) else "setting"
                self.problem((key,), f"unknown {kind} (ignored); expected [app] or [providers.*]")
        providers = self.providers(self.table(data, "providers"))
        app = self.app(self.table(data, "app"), providers)
        return Config(app=app, providers=MappingProxyType(providers))

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if isinstance(value, dict):
            return value
        self.problem((key,), f"expected a table, got {_show(value)}")
        return {}

    def values(
        self,
        table: Mapping[str, Any],
        prefix: tuple[str, ...],
        checks: Mapping[str, tuple[str, Callable[[Any], Any]]],
    ) -> dict[str, Any]:
        """The usable values of ``table``, renamed to their field names."""
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in checks:
                known = ", ".join(sorted(checks))
                self.problem((*prefix, key), f"unknown setting (ignored); known: {known}")
                continue
            field_name, check = checks[key]
            try:
                values[field_name] = check(value)
            except _Invalid as error:
                self.problem((*prefix, key), str(error))
        return values

    def app(self, table: Mapping[str, Any], providers: Mapping[str, ProviderConfig]) -> AppSettings:
        values = self.values(table, ("app",), _APP_CHECKS)
        for key in ("default_model", "favourites"):
            refs = values.get(key)
            for ref in (refs,) if isinstance(refs, str) else refs or ():
                if (message := _bad_ref(ref, providers)) is not None:
                    self.problem(("app", key), message)
        return AppSettings(**values)

    def providers(self, table: Mapping[str, Any]) -> dict[str, ProviderConfig]:
        providers = dict(PRESETS)
        for name, entry in table.items():
            key = ("providers", name)
            if not name or "/" in name or name != name.strip():
                self.problem(key, "a provider name must be non-empty, with no '/' or spaces")
                continue
            if not isinstance(entry, dict):
                self.problem(key, f"expected a table, got {_show(entry)}")
                continue
            models = entry.get("models")
            if isinstance(models, dict):
                entry = {k: v for k, v in entry.items() if k != "models"}
            values = self.values(entry, key, _PROVIDER_CHECKS)
            if isinstance(models, dict):
                values.update(self.model_tables(models, key))
            defaults = {f: values.pop(f) for f in _MODEL_FIELDS if f in values}
            if defaults:
                values["model_defaults"] = ModelSettings(**defaults)
            preset = PRESETS.get(name)
            if preset is not None:
                # Field by field: an entry that sets only a key keeps the preset's URL.
                providers[name] = replace(preset, **values)
            elif "base_url" in values:
                providers[name] = ProviderConfig(name=name, **values)
            elif "base_url" in entry:
                pass  # its base_url was bad, and that has been reported already
            else:
                builtin = ", ".join(PRESETS)
                self.problem(
                    key,
                    f"needs a base_url: '{name}' is not a built-in provider ({builtin}); "
                    "the provider was left out",
                )
        return providers


    def model_tables(self, models: Mapping[str, Any], prefix: tuple[str, ...]) -> dict[str, Any]:
        """``[providers.NAME.models.MODEL]`` tables: the models they name (offered like
        ``models = [...]``) and what each says about its context window and prices."""
        settings: dict[str, ModelSettings] = {}
        for model, table in models.items():
            key = (*prefix, "models", model)
            if not isinstance(table, dict):
                self.problem(
                    key, f"expected a table (context, price_in, price_out), got {_show(table)}"
                )
                continue
            settings[model] = ModelSettings(**self.values(table, key, _MODEL_CHECKS))
        return {"models": tuple(models), "model_settings": MappingProxyType(settings)}


def _overlay_state(config: Config, file: Path, problems: list[Problem]) -> Config:
    """Lay the app's remembered choices (last model, theme, favourites) over the file's."""
    try:
        state = read_state_file(file)
    except CorruptStateError as error:
        problems.append(Problem(file, error.line, None, error.reason))
        return config
    changes: dict[str, Any] = {}
    for key, value in state.items():
        if key not in STATE_KEYS:
            continue  # written by a newer version: not ours to judge
        _name, check = _APP_CHECKS[key]
        try:
            changes[key] = check(value)
        except _Invalid as error:
            problems.append(Problem(file, None, key, f"{error} (ignored)"))
    return replace(config, app=replace(config.app, **changes)) if changes else config


def _exposed_keys(file: Path, data: Mapping[str, Any], lines: KeyLines) -> list[Problem]:
    """A warning for each literal ``api_key`` in a file that others on the machine can read."""
    table = data.get("providers")
    if not isinstance(table, dict) or not _readable_by_others(file):
        return []
    return [
        Problem(
            file,
            lines.line_of("providers", name, "api_key"),
            f"providers.{name}.api_key",
            f"an API key written in a file others can read: run 'chmod 600 {file}', "
            "or use api_key_env or api_key_command",
        )
        for name, entry in table.items()
        if isinstance(entry, dict) and isinstance(entry.get("api_key"), str)
    ]


def _readable_by_others(file: Path) -> bool:
    if os.name != "posix":
        return False  # Windows permissions are ACLs, not mode bits
    try:
        return bool(file.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False  # unreadable by us too: nothing for others to see through this file


def _bad_ref(ref: str, providers: Mapping[str, ProviderConfig]) -> str | None:
    provider, slash, model = ref.partition("/")
    # "custom" is the endpoint given by --base-url or OPENAI_BASE_URL, known at run time.
    if slash and model and (provider in providers or provider == "custom"):
        return None
    known = ", ".join(providers)
    return f'{ref!r} should be "provider/model" with a known provider ({known})'


# Checks: each returns the value to store, or raises _Invalid saying what was expected.

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40
_short.maxlevel = 2


def _show(value: object) -> str:
    # reprlib: a deeply nested or huge value must not flood (or overflow) the message.
    return _short.repr(value)


def _expected(what: str, value: object) -> _Invalid:
    return _Invalid(f"expected {what}, got {_show(value)}")


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("a string", value)
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _expected("a non-empty string", value)
    return value


def _env_name(value: Any) -> str:
    if not isinstance(value, str) or not value or "=" in value or "\0" in value:
        raise _expected("the name of an environment variable", value)
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _expected("true or false", value)
    return value


def _number(value: Any) -> float:
    # bool is an int in Python, but "timeout = true" is a mistake, not 1 second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _expected("a number", value)
    return float(value)


def _seconds(value: Any) -> float:
    seconds = _number(value)
    if not 0 < seconds <= 24 * 3600:
        raise _expected("a number of seconds above 0", value)
    return seconds


def _temperature(value: Any) -> float:
    try:
        return float(check_parameter("temperature", value))
    except ParameterError:
        raise _expected(RULES["temperature"], value) from None


def _max_tokens(value: Any) -> int:
    try:
        return int(check_parameter("max_tokens", value))
    except ParameterError:
        raise _expected(RULES["max_tokens"], value) from None


def _kilobytes(value: Any) -> int:
    # A whole number of KiB, up to 1 GiB: more is a typo, and would be read into memory.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024 * 1024:
        raise _expected("a whole number of KiB from 1 to 1048576", value)
    return value



def _context(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 100_000_000:
        raise _expected("a whole number of tokens above 0, such as 32768", value)
    return value


def _price(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
        raise _expected("US dollars per million tokens (0 or more), such as 2.5", value)
    return float(value)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _expected("a list of strings", value)
    return tuple(value)


def _argv(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise _Invalid(
            f"expected a list of arguments (it runs without a shell), "
            f"e.g. {value.split()!r}; got {_show(value)}"
        )
    argv = _strings(value)
    if not argv or not argv[0]:
        raise _expected("a command and its arguments", value)
    return argv


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("a URL", value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or value != value.strip():
        raise _expected("an http:// or https:// URL such as 'https://host/v1'", value)
    if parts.query or parts.fragment:
        raise _expected("a URL without '?' or '#' parts", value)
    return value


def _headers(value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise _expected("a table of header names and values", value)
    for name, text in value.items():
        if not isinstance(text, str):
            raise _Invalid(f"header {name!r}: expected a string, got {_show(text)}")
        # A newline in a header would split the request; httpx refuses it deep in a send.
        if not name or any(c in name for c in " :\r\n") or "\r" in text or "\n" in text:
            raise _Invalid(f"header {name!r}: names and values cannot hold line breaks")
    return MappingProxyType(dict(value))


def _path(value: Any) -> Path:
    return Path(_name(value)).expanduser()


#: [app] keys: field name and check.
_APP_CHECKS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "default_model": ("default_model", _name),
    "theme": ("theme", _name),
    "favourites": ("favourites", _strings),
    "recent": ("recent", _strings),
    "sessions_dir": ("sessions_dir", _path),
    "system_prompt": ("system_prompt", _string),
    "temperature": ("temperature", _temperature),
    "max_tokens": ("max_tokens", _max_tokens),
    "max_attachment_kb": ("max_attachment_kb", _kilobytes),
}

#: [providers.NAME] keys: field name and check.
_PROVIDER_CHECKS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "base_url": ("base_url", _url),
    "api_key_env": ("api_key_env", _env_name),
    "api_key_command": ("api_key_command", _argv),
    "api_key": ("api_key", _name),
    "default_model": ("default_model", _name),
    "models": ("models", _strings),
    "headers": ("headers", _headers),
    "stream_options": ("send_stream_options", _bool),
    "connect_timeout": ("connect_timeout", _seconds),
    "read_timeout": ("read_timeout", _seconds),
    "ca_bundle": ("ca_bundle", _path),
    "local": ("local", _bool),
    "context": ("context", _context),
    "price_in": ("price_in", _price),
    "price_out": ("price_out", _price),
}

#: [providers.NAME.models.MODEL] keys, also allowed on the provider as its models' default.
_MODEL_CHECKS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "context": ("context", _context),
    "price_in": ("price_in", _price),
    "price_out": ("price_out", _price),
}
_MODEL_FIELDS = tuple(field for field, _check in _MODEL_CHECKS.values())
