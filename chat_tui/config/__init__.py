"""Configuration: the file, built-in providers, keys, and which endpoint to talk to."""

from chat_tui.config.keys import resolve_api_key
from chat_tui.config.load import load
from chat_tui.config.model import AppSettings, Config, Problem, ProviderConfig
from chat_tui.config.presets import PRESETS, probe_local
from chat_tui.config.resolve import Target, resolve_target, split_model_ref, target_for
from chat_tui.config.write import init_config, load_state, save_state, state_path

__all__ = [
    "PRESETS",
    "AppSettings",
    "Config",
    "Problem",
    "ProviderConfig",
    "Target",
    "init_config",
    "load",
    "load_state",
    "probe_local",
    "resolve_api_key",
    "resolve_target",
    "save_state",
    "split_model_ref",
    "state_path",
    "target_for",
]
