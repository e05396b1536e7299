"""What a new conversation starts with, from the config: the one place that reads the
``[app]`` table's ``system_prompt``, ``temperature`` and ``max_tokens``, so the app's first
conversation, every later one (Ctrl+N, after a delete) and ``chat-tui ask`` all agree."""

from __future__ import annotations

from dataclasses import dataclass, field

from chat_tui.config.model import Config


@dataclass(frozen=True)
class ConversationDefaults:
    """The system prompt and request parameters a new conversation starts with."""

    system_prompt: str = ""
    parameters: dict[str, float | int] = field(default_factory=dict)


def conversation_defaults(config: Config) -> ConversationDefaults:
    """The config's defaults for a new conversation (already checked when it was loaded)."""
    parameters: dict[str, float | int] = {}
    if config.app.temperature is not None:
        parameters["temperature"] = config.app.temperature
    if config.app.max_tokens is not None:
        parameters["max_tokens"] = config.app.max_tokens
    return ConversationDefaults(config.app.system_prompt, parameters)
