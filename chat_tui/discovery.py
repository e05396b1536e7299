"""The model to use when the user named none: the endpoint's own first listed model.

``vLLM``, ``LM Studio`` and ``Ollama`` reject a made-up model name, and single-model
servers (llama.cpp) report the one they serve, so the list is asked rather than a guess
sent. Plain asyncio; used by the app's backend and by ``chat-tui ask``.
"""

from __future__ import annotations

from dataclasses import replace

from chat_tui.client import ChatClient
from chat_tui.config import Target
from chat_tui.errors import ChatTuiError, ConfigError, HTTPStatusError
from chat_tui.urls import shown_url


async def with_listed_model(target: Target, client: ChatClient) -> Target:
    """``target`` with a model: its own, or the first the endpoint lists.

    Raises ``ConfigError`` saying how to name one when the endpoint lists none or cannot
    list them."""
    if target.model:
        return target
    url = shown_url(target.provider.base_url)
    how = "name one with --model MODEL (or default_model in the provider's config entry)"
    try:
        models = await client.list_models()
    except ChatTuiError as error:
        if isinstance(error, HTTPStatusError) and error.status_code in (401, 403):
            how = "check the API key (--api-key, or OPENAI_API_KEY)"
        elif isinstance(error, HTTPStatusError) and error.status_code == 404:
            how += "; is the base URL right (most servers' end in /v1)?"
        raise ConfigError(
            f"No model was named, and {url} did not list its models ({error}): {how}."
        ) from None
    if not models:
        raise ConfigError(f"No model was named, and {url} lists no models: {how}.")
    return replace(target, model=models[0])
