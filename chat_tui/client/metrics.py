"""Live figures of one reply: time to first token and tokens per second."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class ReplyMetrics:
    """Timing of one streamed reply, measured on the client's monotonic clock.

    ``tokens`` counts content and reasoning deltas, which servers send about one per
    token; once the server reports usage, its completion count replaces the estimate.
    """

    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    last_token_at: float | None = None
    tokens: int = 0
    reported_completion_tokens: int | None = None

    def record_token(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.first_token_at is None:
            self.first_token_at = now
        self.last_token_at = now
        self.tokens += 1

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from sending the request to the first token, once there is one."""
        if self.first_token_at is None:
            return None
        return self.first_token_at - self.started

    @property
    def tokens_per_second(self) -> float | None:
        """Generation speed after the first token; None until it can be measured."""
        if self.first_token_at is None or self.last_token_at is None:
            return None
        elapsed = self.last_token_at - self.first_token_at
        count = self.reported_completion_tokens or self.tokens
        if elapsed <= 0 or count < 2:
            return None
        return (count - 1) / elapsed
