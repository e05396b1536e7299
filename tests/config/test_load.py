"""load(): good, partial and broken files, each problem with its line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_tui.config import PRESETS, AppSettings, Problem, load
from chat_tui.config.load import MAX_CONFIG_BYTES
from chat_tui.config.toml_text import MAX_REPAIRS

from .helpers import write_config

GOOD = """\
[app]
default_model = "openai/gpt-4o-mini"
theme = "nord"
favourites = ["openai/gpt-4o-mini", "ollama/llama3.2"]
system_prompt = "Be brief."
temperature = 0.5
max_tokens = 512
sessions_dir = "~/chats"
[providers.openai]
api_key_env = "OPENAI_API_KEY"
[providers.work]
base_url = "https://llm.example.com/api/v1"
api_key_command = ["pass", "show", "work/llm"]
default_model = "big-model"
models = ["big-model", "small-model"]
headers = { "X-Team" = "chat" }
stream_options = false
connect_timeout = 5
read_timeout = 300
"""


def test_missing_file_gives_presets_and_no_problems(config_path: Path) -> None:
    config, problems = load(config_path)
    assert problems == []
    assert dict(config.providers) == dict(PRESETS)
    assert config.app.default_model is None
    assert config.path == config_path


def test_default_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_TUI_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("CHAT_TUI_CONFIG", raising=False)
    write_config(tmp_path / "config.toml", '[app]\ntheme = "dracula"\n')
    config, problems = load()
    assert problems == []
    assert config.app.theme == "dracula"
    assert config.path is None


def test_good_file_is_read_in_full(config_path: Path) -> None:
    config, problems = load(write_config(config_path, GOOD))
    assert problems == []
    app = config.app
    assert app.default_model == "openai/gpt-4o-mini"
    assert app.theme == "nord"
    assert app.favourites == ("openai/gpt-4o-mini", "ollama/llama3.2")
    assert app.system_prompt == "Be brief."
    assert app.temperature == 0.5
    assert app.max_tokens == 512
    assert app.sessions_dir == Path("~/chats").expanduser()
    work = config.providers["work"]
    assert work.base_url == "https://llm.example.com/api/v1"
    assert work.api_key_command == ("pass", "show", "work/llm")
    assert work.default_model == "big-model"
    assert work.models == ("big-model", "small-model")
    assert dict(work.headers) == {"X-Team": "chat"}
    assert work.send_stream_options is False
    assert work.connect_timeout == 5.0
    assert work.read_timeout == 300.0
    assert not work.local and not work.demo


def test_config_is_frozen_and_hashable(config_path: Path) -> None:
    config, _ = load(write_config(config_path, GOOD))
    work = config.providers["work"]
    with pytest.raises(AttributeError):
        work.base_url = "http://elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        work.headers["X-Team"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        config.providers["evil"] = work  # type: ignore[index]
    assert hash(work) == hash(config.providers["work"])
    assert "pass" in repr(work)  # the command is fine to show ...


def test_literal_key_is_kept_out_of_repr(config_path: Path) -> None:
    text = '[providers.work]\nbase_url = "https://h/v1"\napi_key = "sk-very-secret"\n'
    config, problems = load(write_config(config_path, text))
    assert problems == []
    assert config.providers["work"].api_key == "sk-very-secret"
    assert "sk-very-secret" not in repr(config)


def test_preset_merge_user_wins_field_by_field(config_path: Path) -> None:
    text = '[providers.openai]\nread_timeout = 600\nheaders = { "OpenAI-Organization" = "org-1" }\n'
    config, problems = load(write_config(config_path, text))
    assert problems == []
    openai = config.providers["openai"]
    assert openai.read_timeout == 600.0
    assert dict(openai.headers) == {"OpenAI-Organization": "org-1"}
    # Everything the entry did not set is the preset's.
    assert openai.base_url == PRESETS["openai"].base_url
    assert openai.api_key_env == "OPENAI_API_KEY"
    assert openai.default_model == "gpt-4o-mini"
    # The other presets are untouched.
    assert config.providers["groq"] == PRESETS["groq"]


def test_presets_are_all_there() -> None:
    assert set(PRESETS) == {
        "openai", "openrouter", "groq", "deepseek",
        "ollama", "lmstudio", "llamacpp", "vllm", "demo",
    }  # fmt: skip
    assert PRESETS["openai"].base_url == "https://api.openai.com/v1"
    assert PRESETS["deepseek"].default_model == "deepseek-chat"
    assert PRESETS["ollama"].base_url == "http://127.0.0.1:11434/v1"
    assert all(PRESETS[n].local for n in ("ollama", "lmstudio", "llamacpp", "vllm"))
    assert not any(PRESETS[n].local for n in ("openai", "openrouter", "groq", "deepseek"))
    demo = PRESETS["demo"]
    assert demo.demo and demo.default_model == "mock-gpt"
    assert demo.models == ("mock-gpt", "mock-reasoner", "mock-coder")


def test_partial_file_keeps_what_is_there(config_path: Path) -> None:
    config, problems = load(write_config(config_path, '[app]\ntheme = "nord"\n'))
    assert problems == []
    assert config.app.theme == "nord"
    assert config.app.favourites == ()
    assert config.app.temperature is None
    assert dict(config.providers) == dict(PRESETS)


def one(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


@pytest.mark.parametrize(
    ("table", "line", "expected"),
    [
        ("default_model = 3", "app.default_model", "expected a non-empty string, got 3"),
        ("theme = true", "app.theme", "expected a non-empty string, got True"),
        ('favourites = "a/b"', "app.favourites", "expected a list of strings"),
        ('favourites = ["openai/x", 2]', "app.favourites", "expected a list of strings"),
        ("recent = {}", "app.recent", "expected a list of strings"),
        ("sessions_dir = 1", "app.sessions_dir", "expected a non-empty string"),
        ("system_prompt = []", "app.system_prompt", "expected a string"),
        ('temperature = "hot"', "app.temperature", "expected a number from 0 to 2, got 'hot'"),
        ("temperature = 7", "app.temperature", "expected a number from 0 to 2"),
        ("temperature = true", "app.temperature", "expected a number"),
        ("max_tokens = 1.5", "app.max_tokens", "expected a whole number of at least 1"),
        ("max_tokens = -3", "app.max_tokens", "expected a whole number of at least 1"),
    ],
)
def test_bad_app_types(config_path: Path, table: str, line: str, expected: str) -> None:
    neighbour = 'system_prompt = "hi"' if line == "app.theme" else 'theme = "nord"'
    text = f"[app]\n{neighbour}\n{table}\n"
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.key == line
    assert problem.line == 3
    assert expected in problem.message
    # The bad value is skipped and the good neighbour kept.
    field = line.removeprefix("app.")
    assert getattr(config.app, field) == getattr(AppSettings(), field)
    if field == "theme":
        assert config.app.system_prompt == "hi"
    else:
        assert config.app.theme == "nord"


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('read_timeout = "abc"', "expected a number, got 'abc'"),
        ("read_timeout = 0", "expected a number of seconds above 0"),
        ("connect_timeout = true", "expected a number"),
        ("base_url = 42", "expected a URL"),
        ('base_url = "ftp://example.com/v1"', "http:// or https://"),
        ('base_url = "not a url"', "http:// or https://"),
        ('base_url = "https:///v1"', "http:// or https://"),
        ('base_url = "https://h/v1?x=1"', "without '?'"),
        ("api_key_env = 5", "the name of an environment variable"),
        ('api_key_env = ""', "the name of an environment variable"),
        ('api_key_command = "pass show x"', "expected a list of arguments"),
        ("api_key_command = []", "a command and its arguments"),
        ('api_key_command = ["pass", 1]', "expected a list of strings"),
        ("api_key = 123", "expected a non-empty string"),
        ("default_model = []", "expected a non-empty string"),
        ('models = "m"', "expected a list of strings"),
        ('headers = "X: y"', "a table of header names"),
        ('headers = { "X" = 1 }', "expected a string"),
        ('headers = { "X" = "a\\r\\nEvil: 1" }', "line breaks"),
        ('stream_options = "no"', "expected true or false"),
        ("local = 1", "expected true or false"),
    ],
)
def test_bad_provider_types(config_path: Path, setting: str, expected: str) -> None:
    key = setting.split(" ", 1)[0]
    neighbour = "connect_timeout = 3" if key == "models" else 'models = ["a"]'
    text = f'[app]\ntheme = "nord"\n\n[providers.openai]\n{neighbour}\n{setting}\n'
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.key == f"providers.openai.{key}"
    assert problem.line == 6
    assert expected in problem.message
    assert str(problem).startswith(f"config.toml:6: providers.openai.{key}: ")
    # The bad value is skipped; the preset's value and the good neighbour stay.
    openai = config.providers["openai"]
    assert openai.models == (() if key == "models" else ("a",))
    assert openai.connect_timeout == (3.0 if key == "models" else 10.0)
    assert openai.base_url == PRESETS["openai"].base_url
    assert openai.read_timeout == PRESETS["openai"].read_timeout


def test_problem_str_matches_the_documented_shape() -> None:
    problem = Problem(
        Path("/x/config.toml"),
        12,
        "providers.openai.read_timeout",
        "expected a number, got 'abc'",
    )
    assert (
        str(problem)
        == "config.toml:12: providers.openai.read_timeout: expected a number, got 'abc'"
    )
    assert str(Problem(Path("/x/config.toml"), None, None, "is huge")) == "config.toml: is huge"


def test_unknown_keys_are_warned_about_and_ignored(config_path: Path) -> None:
    text = (
        "[app]\n"
        'theme = "nord"\n'
        'colour = "red"\n'
        "[providers.openai]\n"
        "read_timout = 30\n"
        "[plugins]\n"
        "x = 1\n"
    )
    config, problems = load(write_config(config_path, text))
    by_key = {p.key: p for p in problems}
    assert set(by_key) == {"app.colour", "providers.openai.read_timout", "plugins"}
    assert by_key["app.colour"].line == 3
    assert "unknown setting" in by_key["app.colour"].message
    assert by_key["providers.openai.read_timout"].line == 5
    assert "read_timeout" in by_key["providers.openai.read_timout"].message  # lists known keys
    assert by_key["plugins"].line == 6
    assert config.app.theme == "nord"
    assert config.providers["openai"].read_timeout == PRESETS["openai"].read_timeout


def test_new_provider_without_base_url_is_left_out(config_path: Path) -> None:
    text = (
        '[providers.ok]\nbase_url = "http://10.0.0.2:8000/v1"\n\n[providers.mine]\nmodels = ["m"]\n'
    )
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.key == "providers.mine"
    assert problem.line == 4
    assert "needs a base_url" in problem.message
    assert "mine" not in config.providers
    assert config.providers["ok"].base_url == "http://10.0.0.2:8000/v1"


def test_new_provider_with_bad_base_url_is_reported_once(config_path: Path) -> None:
    config, problems = load(write_config(config_path, '[providers.mine]\nbase_url = "localhost"\n'))
    problem = one(problems)
    assert problem.key == "providers.mine.base_url"
    assert "mine" not in config.providers


def test_provider_name_with_a_slash_is_refused(config_path: Path) -> None:
    text = '[providers."a/b"]\nbase_url = "http://h/v1"\n'
    config, problems = load(write_config(config_path, text))
    assert one(problems).key == "providers.a/b"
    assert "a/b" not in config.providers


def test_providers_and_app_that_are_not_tables(config_path: Path) -> None:
    config, problems = load(write_config(config_path, 'app = "x"\nproviders = 3\n'))
    assert {(p.key, p.line) for p in problems} == {("app", 1), ("providers", 2)}
    assert dict(config.providers) == dict(PRESETS)


def test_default_model_must_name_a_known_provider(config_path: Path) -> None:
    text = '[app]\ndefault_model = "nope/model"\nfavourites = ["ollama/x", "gpt-4o"]\n'
    config, problems = load(write_config(config_path, text))
    assert [(p.key, p.line) for p in problems] == [
        ("app.default_model", 2),
        ("app.favourites", 3),
    ]
    assert "provider/model" in problems[0].message
    assert config.app.default_model == "nope/model"  # kept; resolve_target passes it by


def test_syntax_error_mid_file_keeps_the_rest(config_path: Path) -> None:
    text = (
        "[app]\n"  # 1
        'theme = "nord"\n'  # 2
        "temperature = 0.3.1\n"  # 3: bad
        "max_tokens = 100\n"  # 4
        "\n"  # 5
        "[providers.work]\n"  # 6
        'base_url = "https://llm.example.com/v1"\n'  # 7
        "read_timeout = = 5\n"  # 8: bad
        'default_model = "big"\n'  # 9
    )
    config, problems = load(write_config(config_path, text))
    assert [(p.line, p.key) for p in problems] == [
        (3, "app.temperature"),
        (8, "providers.work.read_timeout"),
    ]
    assert all("not valid TOML" in p.message for p in problems)
    assert config.app.theme == "nord"
    assert config.app.max_tokens == 100
    assert config.app.temperature is None
    work = config.providers["work"]
    assert work.default_model == "big"
    assert work.read_timeout == 120.0


def test_unclosed_array_costs_only_its_lines(config_path: Path) -> None:
    text = (
        "[app]\n"  # 1
        "favourites = [\n"  # 2: never closed
        '  "openai/gpt-4o-mini",\n'  # 3
        'theme = "nord"\n'  # 4
        "[providers.work]\n"  # 5
        'base_url = "https://h/v1"\n'  # 6
    )
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.line == 2
    assert problem.key == "app.favourites"
    assert "lines 2-3" in problem.message
    assert config.app.theme == "nord"
    assert "work" in config.providers


def test_unterminated_string_at_end_of_file(config_path: Path) -> None:
    text = '[app]\ntheme = "nord"\nsystem_prompt = """\nYou are\nhelpful.\n'
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.line == 3
    assert "unterminated string" in problem.message
    assert config.app.theme == "nord"


def test_broken_table_header_takes_its_keys_along(config_path: Path) -> None:
    # Left in place, the keys under the broken header would land in [providers.one].
    text = (
        "[providers.one]\n"  # 1
        'base_url = "https://one.example/v1"\n'  # 2
        "[providers.two\n"  # 3: broken
        'base_url = "https://two.example/v1"\n'  # 4
        'api_key = "sk-two"\n'  # 5
        "[app]\n"  # 6
        'theme = "nord"\n'  # 7
    )
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.line == 3
    assert "lines 3-5" in problem.message
    one_ = config.providers["one"]
    assert one_.base_url == "https://one.example/v1"
    assert one_.api_key is None
    assert "two" not in config.providers
    assert config.app.theme == "nord"


def test_duplicate_table_and_key(config_path: Path) -> None:
    text = (
        "[app]\n"  # 1
        'theme = "nord"\n'  # 2
        'theme = "dracula"\n'  # 3: duplicate key
        "[app]\n"  # 4: duplicate table
        "max_tokens = 5\n"  # 5
    )
    config, problems = load(write_config(config_path, text))
    assert [p.line for p in problems] == [3, 4]
    assert config.app.theme == "nord"
    assert config.app.max_tokens is None


def test_crlf_file_with_a_syntax_error(config_path: Path) -> None:
    path = config_path
    path.parent.mkdir(parents=True)
    path.write_bytes(b'[app]\r\ntheme = "nord"\r\nmax_tokens = x\r\ntemperature = 1\r\n')
    config, problems = load(path)
    assert one(problems).line == 3
    assert config.app.theme == "nord"
    assert config.app.temperature == 1.0


def test_too_many_syntax_errors_gives_one_clear_problem(config_path: Path) -> None:
    text = '[app]\ntheme = "nord"\n' + "".join(f"k{i} = ?\n" for i in range(MAX_REPAIRS + 5))
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.line == 3
    assert "syntax errors" in problem.message
    assert "built-in providers only" in problem.message
    assert config.app.theme is None
    assert dict(config.providers) == dict(PRESETS)


def test_huge_file_is_not_read(config_path: Path) -> None:
    text = '[app]\ntheme = "nord"\n' + "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert "MiB" in problem.message and "not read" in problem.message
    assert config.app.theme is None
    assert dict(config.providers) == dict(PRESETS)


def test_deeply_nested_junk_is_one_problem(config_path: Path) -> None:
    text = '[app]\ntheme = "nord"\njunk = ' + "[" * 5000 + "]" * 5000 + "\n"
    config, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert "nested too deeply" in problem.message
    assert dict(config.providers) == dict(PRESETS)


def test_nested_but_parseable_junk_is_reported_briefly(config_path: Path) -> None:
    text = "[app]\ntheme = " + "[" * 200 + "]" * 200 + "\n"
    _, problems = load(write_config(config_path, text))
    problem = one(problems)
    assert problem.key == "app.theme"
    assert len(problem.message) < 120


def test_not_utf8(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_bytes(b'[app]\ntheme = "caf\xe9"\n')
    config, problems = load(config_path)
    assert "not UTF-8" in one(problems).message
    assert config.app.theme is None


def test_byte_order_mark_is_accepted(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_bytes(b'\xef\xbb\xbf[app]\ntheme = "nord"\n')
    config, problems = load(config_path)
    assert problems == []
    assert config.app.theme == "nord"


def test_a_folder_where_the_file_should_be(config_path: Path) -> None:
    config_path.mkdir(parents=True)
    config, problems = load(config_path)
    assert "not a file" in one(problems).message
    assert dict(config.providers) == dict(PRESETS)


def test_literal_key_in_a_readable_file_is_a_warning(config_path: Path) -> None:
    text = '[app]\ntheme = "nord"\n[providers.work]\nbase_url = "https://h/v1"\napi_key = "sk-1"\n'
    config, problems = load(write_config(config_path, text, mode=0o644))
    problem = one(problems)
    assert problem.key == "providers.work.api_key"
    assert problem.line == 5
    assert "chmod 600" in problem.message
    assert "sk-1" not in str(problem)
    # A warning, not a failure: the key is still used.
    assert config.providers["work"].api_key == "sk-1"


def test_literal_key_in_a_private_file_is_fine(config_path: Path) -> None:
    text = '[providers.work]\nbase_url = "https://h/v1"\napi_key = "sk-1"\n'
    _, problems = load(write_config(config_path, text, mode=0o600))
    assert problems == []


def test_readable_file_without_a_literal_key_is_fine(config_path: Path) -> None:
    _, problems = load(write_config(config_path, GOOD, mode=0o644))
    assert problems == []


def test_problems_come_in_file_order(config_path: Path) -> None:
    text = '[app]\ntheme = 3\n[providers.x]\nmodels = [1]\n[providers.openai]\nlocal = "y"\n'
    _, problems = load(write_config(config_path, text))
    assert [p.line for p in problems] == [2, 3, 4, 6]
