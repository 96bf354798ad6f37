"""Normalisation and tokenisation shared by rule terms and documents.

Both sides go through the same functions, so a term matches a word exactly when their
normalised forms agree: NFKC, casefold, ё -> е, Latin accents folded (Cyrillic й kept),
apostrophe forms unified. Spans point into the original text so evidence can quote it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

APOSTROPHES = "'’ʼ`´"
_WORD = re.compile(rf"\w+(?:[{APOSTROPHES}]\w+)*")
_APOSTROPHE_TABLE = str.maketrans(dict.fromkeys(APOSTROPHES, "'"))
_LATIN_LIMIT = 0x250  # Basic Latin through Latin Extended-B


@dataclass(frozen=True)
class Token:
    norm: str
    start: int
    end: int


@lru_cache(maxsize=200_000)
def normalize(word: str) -> str:
    folded = unicodedata.normalize("NFKC", word).casefold()
    folded = folded.replace("ё", "е").translate(_APOSTROPHE_TABLE)
    if folded.isascii():
        return folded
    return "".join(_fold_latin(ch) for ch in folded)


def _fold_latin(ch: str) -> str:
    if ord(ch) >= _LATIN_LIMIT:
        return ch
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))


def tokenize(text: str) -> list[Token]:
    return [Token(normalize(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]
