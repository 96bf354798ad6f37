"""Durations as operators write them: ``90s``, ``10m``, ``2h``, ``1d``."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, *, bare_unit: str = "m") -> float:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"1d"``; a bare number is in ``bare_unit``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10m, 90s or 1h")
    if isinstance(value, int | float):
        return float(value) * _UNIT_SECONDS[bare_unit]
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 10m, 90s or 1h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or bare_unit]


Duration = Annotated[float, BeforeValidator(parse_duration)]
