"""Configuration: the file, built-in providers, keys, and which endpoint to talk to.

Plain Python (no Textual): used by ``chat-tui ask``, the app and tests alike.
"""

from chat_tui.config.defaults import ConversationDefaults, conversation_defaults
from chat_tui.config.keys import forget_command_keys, resolve_api_key
from chat_tui.config.load import load
from chat_tui.config.model import AppSettings, Config, Problem, ProviderConfig
from chat_tui.config.presets import PRESETS, probe_local
from chat_tui.config.resolve import (
    CUSTOM,
    SavedTarget,
    Target,
    check_base_url,
    config_with_target,
    resolve_target,
    split_model_ref,
    target_for,
)
from chat_tui.config.write import (
    CorruptStateError,
    init_config,
    load_state,
    remember_model,
    save_state,
    state_path,
)

__all__ = [
    "CUSTOM",
    "PRESETS",
    "AppSettings",
    "Config",
    "ConversationDefaults",
    "CorruptStateError",
    "Problem",
    "ProviderConfig",
    "SavedTarget",
    "Target",
    "check_base_url",
    "config_with_target",
    "conversation_defaults",
    "forget_command_keys",
    "init_config",
    "load",
    "load_state",
    "probe_local",
    "remember_model",
    "resolve_api_key",
    "resolve_target",
    "save_state",
    "split_model_ref",
    "state_path",
    "target_for",
]
