"""resolve_target(): every step of the order, with explicit environments only."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from chat_tui.config import (
    PRESETS,
    Config,
    ProviderConfig,
    SavedTarget,
    config_with_target,
    load,
    split_model_ref,
    target_for,
)
from chat_tui.config import resolve_target as resolve
from chat_tui.config.model import AppSettings
from chat_tui.errors import ConfigError

from .helpers import write_config

PRESETS_ONLY = Config(providers=PRESETS)


def with_default(ref: str, **extra: ProviderConfig) -> Config:
    return Config(
        app=AppSettings(default_model=ref),
        providers=MappingProxyType({**PRESETS, **extra}),
    )


# split_model_ref


def test_split_known_provider() -> None:
    assert split_model_ref("ollama/llama3.2", PRESETS_ONLY) == ("ollama", "llama3.2")


def test_split_keeps_slashes_in_the_model() -> None:
    assert split_model_ref("openrouter/meta-llama/llama-3", PRESETS_ONLY) == (
        "openrouter",
        "meta-llama/llama-3",
    )


def test_split_unknown_prefix_is_a_model_name() -> None:
    assert split_model_ref("meta-llama/llama-3", PRESETS_ONLY) == (None, "meta-llama/llama-3")
    assert split_model_ref("gpt-4o", PRESETS_ONLY) == (None, "gpt-4o")
    assert split_model_ref("openai/", PRESETS_ONLY) == (None, "openai/")


# 1. flags


def test_base_url_flag_makes_a_custom_provider() -> None:
    target = resolve(
        PRESETS_ONLY,
        base_url="https://proxy.example/api/v1/",
        model="openai/gpt-4o",
        api_key="sk-flag",
        env={"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "https://ignored/v1"},
    )
    assert target.provider.name == "custom"
    assert target.provider.base_url == "https://proxy.example/api/v1/"
    # Taken whole: on a proxy "openai/gpt-4o" is one model name.
    assert target.model == "openai/gpt-4o"
    assert target.api_key == "sk-flag"
    assert target.label == "custom/openai/gpt-4o"


def test_base_url_flag_takes_the_key_from_openai_api_key() -> None:
    target = resolve(PRESETS_ONLY, base_url="http://127.0.0.1:9/v1", env={"OPENAI_API_KEY": "sk-e"})
    assert target.api_key == "sk-e"
    assert target.model == ""  # no made-up name: the endpoint's /models decides
    assert target.provider.local  # loopback: no key needed


def test_bad_base_url_flag_is_an_error() -> None:
    with pytest.raises(ConfigError, match="base URL"):
        resolve(PRESETS_ONLY, base_url="localhost:8080", env={})


def test_model_flag_with_a_provider_picks_it() -> None:
    target = resolve(
        with_default("openai/gpt-4o"),
        model="groq/llama-3.3-70b",
        env={"GROQ_API_KEY": "gsk-1", "OPENAI_API_KEY": "sk-e", "OPENAI_BASE_URL": "http://x/v1"},
    )
    assert target.provider == PRESETS["groq"]
    assert target.model == "llama-3.3-70b"
    assert target.api_key == "gsk-1"


def test_model_flag_with_a_provider_and_key_flag() -> None:
    target = resolve(PRESETS_ONLY, model="deepseek/deepseek-reasoner", api_key="sk-f", env={})
    assert (target.label, target.api_key) == ("deepseek/deepseek-reasoner", "sk-f")


def test_model_flag_for_a_local_provider_needs_no_key() -> None:
    target = resolve(PRESETS_ONLY, model="ollama/llama3.2", env={})
    assert target.label == "ollama/llama3.2"
    assert target.api_key is None


def test_model_flag_for_a_provider_without_its_key_says_which_variable() -> None:
    with pytest.raises(ConfigError, match="GROQ_API_KEY"):
        resolve(PRESETS_ONLY, model="groq/llama", env={})


def test_model_flag_for_a_provider_whose_key_command_fails() -> None:
    failing = ProviderConfig(
        "work", "https://h/v1", api_key_command=(sys.executable, "-c", "raise SystemExit('no')")
    )
    config = Config(providers=MappingProxyType({**PRESETS, "work": failing}))
    with pytest.raises(ConfigError, match="'work'"):
        resolve(config, model="work/big", env={})


# 2. environment


def test_openai_base_url_alone_makes_a_custom_provider() -> None:
    env = {"OPENAI_BASE_URL": "http://10.1.2.3:8000/v1", "OPENAI_API_KEY": "sk-e"}
    target = resolve(with_default("ollama/llama3.2"), model="meta-llama/llama-3", env=env)
    assert target.provider.name == "custom"
    assert target.provider.base_url == "http://10.1.2.3:8000/v1"
    assert not target.provider.local
    assert target.model == "meta-llama/llama-3"
    assert target.api_key == "sk-e"


def test_blank_openai_base_url_counts_as_unset() -> None:
    target = resolve(PRESETS_ONLY, env={"OPENAI_BASE_URL": "  "})
    assert target.provider.demo


def test_openai_api_key_alone_means_the_openai_preset() -> None:
    target = resolve(PRESETS_ONLY, env={"OPENAI_API_KEY": "sk-e"})
    assert target.provider == PRESETS["openai"]
    assert target.model == "gpt-4o-mini"
    assert target.api_key == "sk-e"


def test_openai_api_key_with_a_bare_model_name() -> None:
    target = resolve(PRESETS_ONLY, model="gpt-4.1", env={"OPENAI_API_KEY": "sk-e"})
    assert (target.label, target.api_key) == ("openai/gpt-4.1", "sk-e")


def test_openai_api_key_uses_the_configured_openai_model_and_fields(config_path: Path) -> None:
    text = '[app]\ndefault_model = "openai/gpt-4.1"\n[providers.openai]\nread_timeout = 9\n'
    config, problems = load(write_config(config_path, text))
    assert problems == []
    target = resolve(config, env={"OPENAI_API_KEY": "sk-e"})
    assert target.label == "openai/gpt-4.1"
    assert target.provider.read_timeout == 9.0


def test_key_flag_alone_means_the_openai_preset() -> None:
    target = resolve(PRESETS_ONLY, api_key="sk-flag", env={"OPENAI_API_KEY": "sk-env"})
    assert (target.label, target.api_key) == ("openai/gpt-4o-mini", "sk-flag")


def test_environment_comes_before_the_config_file() -> None:
    target = resolve(with_default("ollama/llama3.2"), env={"OPENAI_API_KEY": "sk-e"})
    assert target.provider.name == "openai"


# 3. config


def test_config_default_for_a_local_provider() -> None:
    target = resolve(with_default("ollama/llama3.2"), env={})
    assert (target.label, target.api_key) == ("ollama/llama3.2", None)


def test_config_default_whose_key_resolves() -> None:
    target = resolve(with_default("groq/llama-3.3"), env={"GROQ_API_KEY": "gsk-1"})
    assert (target.label, target.api_key) == ("groq/llama-3.3", "gsk-1")


def test_config_default_with_a_bare_model_flag_keeps_the_provider() -> None:
    target = resolve(with_default("groq/llama-3.3"), model="mixtral", env={"GROQ_API_KEY": "g"})
    assert target.label == "groq/mixtral"


def test_config_default_from_a_key_command() -> None:
    work = ProviderConfig(
        "work", "https://h/v1", api_key_command=(sys.executable, "-c", "print('sk-cmd')")
    )
    target = resolve(with_default("work/big", work=work), env={})
    assert (target.label, target.api_key) == ("work/big", "sk-cmd")


def test_config_default_for_a_provider_that_names_no_key() -> None:
    lan = ProviderConfig("lan", "http://10.0.0.5:8000/v1")
    target = resolve(with_default("lan/qwen", lan=lan), env={})
    assert (target.label, target.api_key) == ("lan/qwen", None)


def test_config_default_whose_key_is_missing_falls_to_the_demo() -> None:
    target = resolve(with_default("groq/llama-3.3"), env={})
    assert target.provider.demo


def test_config_default_whose_key_command_fails_is_an_error() -> None:
    work = ProviderConfig(
        "work", "https://h/v1", api_key_command=(sys.executable, "-c", "raise SystemExit(1)")
    )
    with pytest.raises(ConfigError, match="'work'"):
        resolve(with_default("work/big", work=work), env={})


def test_remembered_state_is_the_config_default(config_path: Path) -> None:
    from chat_tui.config import save_state

    write_config(config_path, '[app]\ndefault_model = "openai/gpt-4o"\n')
    save_state(config_path, default_model="ollama/qwen2.5")
    config, problems = load(config_path)
    assert problems == []
    assert resolve(config, env={}).label == "ollama/qwen2.5"


# 4. demo


def test_nothing_configured_means_the_demo() -> None:
    target = resolve(PRESETS_ONLY, env={})
    assert target.provider.demo is True
    assert target.label == "demo/mock-gpt"
    assert target.api_key is None


def test_demo_with_a_model_name() -> None:
    target = resolve(PRESETS_ONLY, model="mock-coder", env={})
    assert target.label == "demo/mock-coder"


def test_demo_can_be_asked_for_by_name() -> None:
    target = resolve(PRESETS_ONLY, model="demo/mock-reasoner", env={"OPENAI_API_KEY": "sk"})
    assert target.provider.demo and target.model == "mock-reasoner"


# target_for (the model picker)


def test_target_for_a_choice() -> None:
    target = target_for(PRESETS_ONLY, "deepseek/deepseek-chat", env={"DEEPSEEK_API_KEY": "d"})
    assert (target.label, target.api_key) == ("deepseek/deepseek-chat", "d")


def test_target_for_an_unknown_provider() -> None:
    with pytest.raises(ConfigError, match="known provider"):
        target_for(PRESETS_ONLY, "nope/x", env={})


def test_target_for_without_a_key() -> None:
    with pytest.raises(ConfigError, match="OPENROUTER_API_KEY"):
        target_for(PRESETS_ONLY, "openrouter/x", env={})


def test_target_keeps_the_key_out_of_repr() -> None:
    target = resolve(PRESETS_ONLY, env={"OPENAI_API_KEY": "sk-secret"})
    assert "sk-secret" not in repr(target)
    assert replace(target, model="x").api_key == "sk-secret"


# Issue 12: any OpenAI-compatible endpoint is a first-class provider


def test_a_named_model_nothing_can_serve_is_an_error_not_the_demo() -> None:
    with pytest.raises(ConfigError, match="Nothing configured can serve the model 'gpt-4o'"):
        resolve(PRESETS_ONLY, model="gpt-4o", env={})
    with pytest.raises(ConfigError, match="nosuchprov/foo"):
        resolve(PRESETS_ONLY, model="nosuchprov/foo", env={})


def test_the_demo_still_serves_its_own_models_and_a_first_run() -> None:
    assert resolve(PRESETS_ONLY, env={}).provider.demo
    assert resolve(PRESETS_ONLY, model="mock-reasoner", env={}).label == "demo/mock-reasoner"
    assert resolve(PRESETS_ONLY, model="mock-gpt+echo", env={}).provider.demo


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:99999/v1", "Port out of range"),
        ("http://[::1/v1", "Invalid IPv6 URL"),
        ("localhost:8080", "http or https"),
        ("", "http or https"),
        ("http://127.0.0.1:0/v1", "port 0"),
    ],
)
def test_bad_base_urls_say_what_and_where(url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        resolve(PRESETS_ONLY, base_url=url, env={})
    assert "--base-url" in str(caught.value)
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        resolve(PRESETS_ONLY, env={"OPENAI_BASE_URL": url or "nope"})


def test_a_base_url_is_trimmed() -> None:
    target = resolve(PRESETS_ONLY, base_url="  http://127.0.0.1:9/v1 \n", env={})
    assert target.provider.base_url == "http://127.0.0.1:9/v1"


def test_a_base_url_of_a_configured_provider_is_that_provider() -> None:
    work = ProviderConfig("work", "http://10.0.0.5:8000/v1/", default_model="big")
    config = Config(providers=MappingProxyType({**PRESETS, "work": work}))
    target = resolve(config, base_url="http://10.0.0.5:8000/v1", env={})
    assert target.label == "work/big"


def test_a_session_reopens_on_its_own_endpoint_or_says_which_url_it_needs() -> None:
    saved = resolve(PRESETS_ONLY, base_url="http://u:p@127.0.0.1:9/v1?k=1", model="m", env={})
    assert saved.saved == SavedTarget("custom", "m", "http://127.0.0.1:9/v1")  # no secrets
    with pytest.raises(ConfigError, match=r"at http://127\.0\.0\.1:9/v1, which is not configured"):
        resolve(PRESETS_ONLY, saved=saved.saved, env={"OPENAI_API_KEY": "sk"})
    again = resolve(
        PRESETS_ONLY, saved=saved.saved, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/"}
    )
    assert again.label == "custom/m"
    # A flag naming another model wins over the session's own.
    assert resolve(PRESETS_ONLY, saved=saved.saved, model="ollama/x", env={}).label == "ollama/x"
    # A session made on a configured provider needs that provider's key, and says which.
    with pytest.raises(ConfigError, match="GROQ_API_KEY"):
        resolve(PRESETS_ONLY, saved=SavedTarget("groq", "llama"), env={})
    with pytest.raises(ConfigError, match="no provider 'gone'"):
        resolve(PRESETS_ONLY, saved=SavedTarget("gone", "x"), env={})
    # Never quietly the demo: a demo session reopens on the demo, others on their own.
    assert resolve(PRESETS_ONLY, saved=SavedTarget("demo", "mock-gpt"), env={}).provider.demo


def test_an_endpoint_given_by_url_joins_the_providers() -> None:
    target = resolve(PRESETS_ONLY, base_url="http://127.0.0.1:9/v1", api_key="k", env={})
    config = config_with_target(PRESETS_ONLY, target, env={})
    assert config.providers["custom"].api_key == "k"
    assert target_for(config, "custom/other", env={}).label == "custom/other"


def test_openai_api_key_of_a_custom_endpoint_is_never_sent_to_openai() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "gateway-key"}
    target = resolve(PRESETS_ONLY, env=env)
    config = config_with_target(PRESETS_ONLY, target, env=env)
    assert config.providers["openai"].unusable_reason
    with pytest.raises(ConfigError, match="key of OPENAI_BASE_URL"):
        target_for(config, "openai/gpt-4o", env=env)


def test_a_session_given_its_own_url_again_keeps_its_model() -> None:
    saved = SavedTarget("custom", "served-b", "http://127.0.0.1:9/v1")
    target = resolve(PRESETS_ONLY, base_url="http://127.0.0.1:9/v1/", saved=saved, env={})
    assert target.label == "custom/served-b"
    other = resolve(PRESETS_ONLY, base_url="http://127.0.0.1:10/v1", saved=saved, env={})
    assert other.model == ""  # another endpoint: its own list decides


def test_custom_model_refs_as_listed_are_accepted_and_spaces_refused() -> None:
    # `chat-tui models` lists "custom/MODEL": given back, the model is MODEL.
    target = resolve(PRESETS_ONLY, base_url="http://127.0.0.1:9/v1", model="custom/m1", env={})
    assert target.model == "m1"
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    assert resolve(PRESETS_ONLY, model="custom/m1", env=env).model == "m1"
    with pytest.raises(ConfigError, match="no spaces"):
        resolve(PRESETS_ONLY, base_url="http://127.0.0.1:9/v1", model="custom/m1 *", env={})


def test_secrets_in_a_base_url_are_never_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(PRESETS_ONLY, base_url="ftp://user:hunter2@h/v1?key=TOPSECRET", env={})
    assert "hunter2" not in str(caught.value) and "TOPSECRET" not in str(caught.value)
