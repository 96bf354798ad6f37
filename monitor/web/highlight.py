"""Highlighting matched terms without ever emitting markup from the text itself."""

from __future__ import annotations

from monitor.rules.text import prepare


def parts(value: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Text cut into (piece, highlighted) for the templates, which escape every piece."""
    value = prepare(value)
    out, at = [], 0
    for start, end in spans:
        start = max(start, at)
        while end < len(value) and value[end].isalnum():  # `troop*` marks all of "troops"
            end += 1
        if start >= end:
            continue
        if start > at:
            out.append((value[at:start], False))
        out.append((value[start:end], True))
        at = end
    if at < len(value):
        out.append((value[at:], False))
    return out
