"""When to try a request again: before the first token only, with backoff and jitter."""

from __future__ import annotations

import random
from collections.abc import Callable

from chat_tui.errors import ChatTuiError, ConnectError, HTTPStatusError

MAX_RETRIES = 3
BASE_DELAY = 1.0
MAX_DELAY = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def should_retry(
    error: ChatTuiError, attempt: int, *, received_any: bool, max_retries: int = MAX_RETRIES
) -> bool:
    """Retry a rate limit, a server error or a failed connection, a few times, and only
    while nothing of the reply has arrived: text already shown is never silently redone.
    ``attempt`` counts the retries made so far."""
    if received_any or attempt >= max_retries:
        return False
    if isinstance(error, HTTPStatusError):
        return error.status_code in RETRY_STATUSES
    return isinstance(error, ConnectError)


def retry_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = BASE_DELAY,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt + 1``.

    The server's ``Retry-After`` wins when it gives one (capped, so a bad header cannot
    freeze the app); otherwise exponential backoff with "full jitter" between half and the
    whole of the step, so that many clients do not retry in lockstep.
    """
    if retry_after is not None:
        return min(max(0.0, retry_after), MAX_DELAY)
    step = min(base * (2**attempt), MAX_DELAY)
    return step * (0.5 + 0.5 * jitter())
