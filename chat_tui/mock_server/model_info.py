"""What servers say about a model's context window and price, flavour by flavour.

A listed model's name chooses its flavour, like any other option, and ``ctx-N`` its window:
``mock-gpt+vllm+ctx-8192`` is listed as vLLM lists a model served with 8,192 tokens.

* ``openrouter``: ``context_length`` and ``pricing`` (dollars per token, as strings) in the
  model list, and ``usage.cost`` (dollars) in the final usage chunk;
* ``vllm``: ``max_model_len`` in the model list;
* ``lmstudio``: ``loaded_context_length`` and ``max_context_length`` (twice as large) in the
  model list;
* ``props``: llama.cpp's C++ server, whose ``GET /props`` carries
  ``default_generation_settings.n_ctx`` (llama-cpp-python's server, the ``llamacpp`` flavour,
  has no ``/props``: a 404 ``{"detail": "Not Found"}``, and lists models with nothing but
  ``id``, ``object``, ``owned_by: "me"`` and ``permissions``);
* ``ollama``: ``POST /api/show`` with ``model_info["llama.context_length"]`` and, when the
  window differs from the model's own, ``num_ctx`` in ``parameters``.
"""

from __future__ import annotations

from typing import Any

from chat_tui.mock_server.options import RequestOptions, parse_model

#: OpenRouter-flavoured prices, dollars per token: $1 per million in, $2 per million out.
PRICE_PROMPT = 0.000001
PRICE_COMPLETION = 0.000002
#: The context length an Ollama model is trained for, when ``ctx-N`` sets what it runs with.
OLLAMA_TRAINED_CONTEXT = 131072


def listing_entry(name: str, created: int) -> dict[str, Any]:
    """One model of ``GET /models``, in the flavour its name asks for."""
    options = parse_model(name)
    if options.llamacpp:
        return {"id": name, "object": "model", "owned_by": "me", "permissions": []}
    entry: dict[str, Any] = {"id": name, "object": "model", "created": created, "owned_by": "mock"}
    window = options.context_window
    if options.flavour == "openrouter":
        entry["context_length"] = window
        entry["pricing"] = {
            "prompt": f"{PRICE_PROMPT:.7f}",
            "completion": f"{PRICE_COMPLETION:.7f}",
            "request": "0",
            "image": "0",
        }
        entry["top_provider"] = {"context_length": window, "is_moderated": False}
    elif options.flavour == "vllm" and window is not None:
        entry["max_model_len"] = window
    elif options.flavour == "lmstudio" and window is not None:
        entry["loaded_context_length"] = window
        entry["max_context_length"] = window * 2
    return entry


def props(models: tuple[str, ...]) -> dict[str, Any] | None:
    """llama.cpp's ``/props`` for the first listed ``props`` model, or None (no such page)."""
    for name in models:
        options = parse_model(name)
        if options.flavour == "props":
            return {
                "default_generation_settings": {
                    "id": 0,
                    "n_ctx": options.context_window or 4096,
                    "is_processing": False,
                    "params": {"temperature": 0.8, "n_predict": -1},
                },
                "total_slots": 1,
                "model_path": f"/models/{options.model}.gguf",
                "chat_template": "",
            }
    return None


def ollama_show(name: str) -> dict[str, Any] | None:
    """Ollama's ``/api/show`` for model ``name``, or None when it is no ``ollama`` model."""
    options = parse_model(name)
    if options.flavour != "ollama":
        return None
    show: dict[str, Any] = {
        "modelfile": f"FROM {options.model}\n",
        "template": "{{ .Prompt }}",
        "details": {"family": "llama", "parameter_size": "1B", "quantization_level": "Q4_K_M"},
        "model_info": {
            "general.architecture": "llama",
            "general.parameter_count": 1_235_814_432,
            "llama.context_length": OLLAMA_TRAINED_CONTEXT,
            "llama.embedding_length": 2048,
        },
    }
    if options.context_window is not None:
        show["parameters"] = (
            f'num_ctx                        {options.context_window}\nstop "<|eot_id|>"'
        )
    return show


def usage_cost(options: RequestOptions, prompt_tokens: int, completion_tokens: int) -> float | None:
    """OpenRouter's ``usage.cost`` for one request, in dollars; None for other flavours."""
    if options.flavour != "openrouter":
        return None
    return prompt_tokens * PRICE_PROMPT + completion_tokens * PRICE_COMPLETION
