"""Context windows and prices in the config: per model, per provider, and bad values."""

from __future__ import annotations

from pathlib import Path

from chat_tui.config import load
from chat_tui.config.model import ModelSettings
from chat_tui.context_window import configured_facts

from .helpers import write_config

SETTINGS = """\
[providers.work]
base_url = "https://llm.example.com/v1"
context = 8192
price_in = 0.5
price_out = 1.5

[providers.work.models.big]
context = 131072
price_out = 10

[providers.work.models."org/free"]
price_in = 0
price_out = 0

[providers.openai.models.gpt-4o-mini]
context = 128000
"""


def test_model_tables_and_provider_defaults(config_path: Path) -> None:
    config, problems = load(write_config(config_path, SETTINGS))
    assert problems == []
    work = config.providers["work"]
    # The tables name the models the provider offers, as ``models = [...]`` does.
    assert work.models == ("big", "org/free")
    assert work.model_defaults == ModelSettings(8192, 0.5, 1.5)
    assert work.model_settings["big"] == ModelSettings(131072, None, 10.0)
    # A model's own table wins field by field; the provider's defaults fill the rest.
    big = configured_facts(work, "big")
    assert (big.context, big.price_in, big.price_out) == (131072, 0.5, 10.0)
    other = configured_facts(work, "unlisted")
    assert (other.context, other.price_in, other.price_out) == (8192, 0.5, 1.5)
    # A price of 0 is a free model, which is known: its cost is $0, not unknown.
    assert configured_facts(work, "org/free").cost(1000, 1000) == 0.0
    # A preset keeps its URL and gains the table.
    openai = config.providers["openai"]
    assert openai.base_url.startswith("https://api.openai.com")
    assert configured_facts(openai, "gpt-4o-mini").context == 128000
    assert configured_facts(openai, "gpt-4o").context is None


def test_nothing_configured_is_unknown(config_path: Path) -> None:
    config, _ = load(config_path)
    facts = configured_facts(config.providers["openai"], "gpt-4o")
    assert facts.context is None and facts.cost(100, 100) is None


def test_bad_values_are_reported_with_line_and_key(config_path: Path) -> None:
    text = """\
[providers.work]
base_url = "https://llm.example.com/v1"
context = true
price_in = "cheap"
[providers.work.models.big]
context = 0
price_out = -2
colour = "blue"
[providers.work.models.odd]
context = 4096.5
[providers.other]
base_url = "https://other.example.com/v1"
models = { small = 3 }
"""
    config, problems = load(write_config(config_path, text))
    found = {problem.key: (problem.line, problem.message) for problem in problems}
    assert found["providers.work.context"][0] == 3
    assert "whole number of tokens" in found["providers.work.context"][1]
    assert "dollars per million tokens" in found["providers.work.price_in"][1]
    assert found["providers.work.models.big.context"][0] == 6
    assert "above 0" in found["providers.work.models.big.context"][1]
    assert "-2" in found["providers.work.models.big.price_out"][1]
    assert "unknown setting" in found["providers.work.models.big.colour"][1]
    assert "4096.5" in found["providers.work.models.odd.context"][1]
    assert "expected a table" in found["providers.other.models.small"][1]
    # Everything else is used: the provider stays, without the bad values.
    work = config.providers["work"]
    assert work.base_url == "https://llm.example.com/v1"
    assert configured_facts(work, "big").context is None
    assert "other" in config.providers
