"""The units figures count, from ``data/lexicon.yaml`` and the operator's own file of the
same shape (``MONITOR_LEXICON``): each unit's words stand for all their forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError
from monitor.language.forms import forms_of

SHIPPED = Path(__file__).with_name("data") / "lexicon.yaml"
LONGEST = 4  # words in the longest unit name


def _low(word: str) -> str:
    return word.lower().replace("ё", "е").replace("’", "'").replace("ʼ", "'")


@dataclass
class Lexicon:
    # a unit name's words (each a form) -> (unit, kind)
    names: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)
    fillers: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)  # unit names and kinds: what rules may ask

    def add(self, unit: str, kind: str, words: list[str]) -> None:
        self.units |= {unit, kind}
        for name in words:
            pieces = [_low(p) for p in name.split()]
            phrase = len(pieces) > 1
            for forms in _combinations([sorted(forms_of(p, phrase) | {p}) for p in pieces]):
                self.names.setdefault(forms, (unit, kind))

    def unit_at(self, words: list[str]) -> tuple[str, str, int] | None:
        """The unit named by the longest run of ``words`` from the first: (unit, kind,
        how many words)."""
        for size in range(min(LONGEST, len(words)), 0, -1):
            found = self.names.get(tuple(words[:size]))
            if found is not None:
                return found[0], found[1], size
        return None

    def is_filler(self, word: str) -> bool:
        return word in self.fillers


def _combinations(options: list[list[str]]) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for choices in options:
        combos = [(*c, w) for c in combos for w in choices]
        if len(combos) > 5000:  # a long phrase of many forms: keep it bounded
            break
    return combos


def load_lexicon(extra: Path | None = None) -> Lexicon:
    lexicon = Lexicon()
    for path in (SHIPPED, extra):
        if path is not None:
            _read(path, lexicon)
    return lexicon


def _read(path: Path, lexicon: Lexicon) -> None:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the lexicon: {exc}") from None
    units = data.get("units", {}) if isinstance(data, dict) else None
    if not isinstance(units, dict):
        raise ConfigError(f"{path}: a lexicon is a mapping with 'units:'")
    for unit, spec in units.items():
        words = spec.get("words") if isinstance(spec, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ConfigError(f"{path}: units.{unit}.words: a list of words")
        lexicon.add(str(unit), str(spec.get("kind", "equipment")), words)
    for word in data.get("filler", []) or []:
        lexicon.fillers |= {_low(f) for f in forms_of(str(word))} | {_low(str(word))}
