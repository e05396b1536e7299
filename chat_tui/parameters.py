"""The request parameters a user can set (palette, config, flags, session files), and the
one set of rules they are checked by, so a value refused in one place is refused in all.

A value that reaches the server unchecked can do worse than fail: ``temperature = nan`` is
not valid JSON, and sent once it made every later request of the session fail.
"""

from __future__ import annotations

import math

#: name: (what it must be, in words)
RULES: dict[str, str] = {
    "temperature": "a number from 0 to 2",
    "max_tokens": "a whole number of at least 1",
}


class ParameterError(ValueError):
    """A parameter value outside its rules; the message says what it must be."""


def check_parameter(name: str, value: object) -> float | int:
    """``value`` if it obeys the rules for ``name``; otherwise a ParameterError in words."""
    wanted = RULES.get(name)
    if wanted is None:
        raise ParameterError(f"unknown parameter {name!r}")
    if name == "temperature":
        if (
            not isinstance(value, bool)
            and isinstance(value, int | float)
            and math.isfinite(value)
            and 0 <= value <= 2
        ):
            return float(value)
    elif not isinstance(value, bool) and isinstance(value, int) and value >= 1:
        return value
    raise ParameterError(f"{name} must be {wanted}, not {value!r}")


def parse_parameter(name: str, text: str) -> float | int:
    """A parameter typed as text (the palette, a command-line flag), checked."""
    stripped = text.strip()
    wanted = RULES.get(name, "a number")
    try:
        value: float | int = int(stripped) if name == "max_tokens" else float(stripped)
    except ValueError:
        raise ParameterError(f"{name} must be {wanted}, not {stripped!r}") from None
    return check_parameter(name, value)
