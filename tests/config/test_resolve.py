"""resolve_target(): every step of the order, with explicit environments only."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from chat_tui.config import PRESETS, Config, ProviderConfig, load, split_model_ref, target_for
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
    assert target.model == "default"
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
