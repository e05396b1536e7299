"""HTTP error answers as real servers word them: OpenAI-style JSON bodies and a proxy's HTML."""

from __future__ import annotations

from typing import Any

API_KEYS_URL = "https://platform.openai.com/account/api-keys"

#: status -> (error type, error code) in OpenAI's error bodies.
ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    413: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    431: ("invalid_request_error", None),
    500: ("server_error", "internal_error"),
    503: ("server_error", "service_unavailable"),
}

HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """OpenAI's ``{"error": {...}}`` body for ``status``."""
    kind, default_code = ERROR_KINDS.get(status, ("server_error", None))
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": None,
            "code": code if code is not None else default_code,
        }
    }


def fault_message(status: int, model: str) -> str:
    """The message a real server gives with ``status`` for a request to ``model``."""
    messages = {
        401: f"Incorrect API key provided: sk-...xyz. You can find your API key at {API_KEYS_URL}.",
        404: f"The model `{model}` does not exist or you do not have access to it.",
        429: f"Rate limit reached for requests on {model} in organization org-mock on "
        "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.",
        500: "The server had an error while processing your request. Sorry about that!",
        503: "The engine is currently overloaded, please try again later.",
    }
    return messages.get(status, f"The server answered with status {status}.")


def auth_error_message(authorization: str | None) -> str:
    """OpenAI's 401 wording for a missing or wrong key, showing only the key's ends."""
    if not authorization or not authorization.startswith("Bearer "):
        return (
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
            f"or as the password field (with blank username) if you're accessing the API "
            f"from your browser and are prompted for a username and password. You can "
            f"obtain an API key from {API_KEYS_URL}."
        )
    key = authorization.removeprefix("Bearer ").strip()
    shown = f"{key[:3]}...{key[-3:]}" if len(key) > 8 else "***"
    return f"Incorrect API key provided: {shown}. You can find your API key at {API_KEYS_URL}."
