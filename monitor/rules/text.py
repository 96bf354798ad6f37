"""Normalisation shared by rule terms and documents.

Both sides go through ``fold``: NFKC, casefold, ё -> е, Latin accents folded (Cyrillic й
and ї kept), apostrophe forms (ʼ ’ ' ` ´) unified, stray combining accents (Russian stress
marks) dropped. A document is folded once with ``str.translate`` over a per-character table,
so the folded text usually has the same length as the original and offsets carry over to
evidence; when a character folds to several (ß -> ss), ``offset_map`` maps them back.
"""

from __future__ import annotations

import bisect
import re
import unicodedata

APOSTROPHES = "'’ʼ`´‘"
_LATIN_LIMIT = 0x250  # Basic Latin through Latin Extended-B
WORD = re.compile(r"\w+(?:'\w+)*")


def _fold_char(ch: str) -> str:
    if ch in APOSTROPHES:
        return "'"
    if unicodedata.combining(ch):
        return ""  # an accent not composed onto a letter (a Russian stress mark)
    folded = unicodedata.normalize("NFKC", ch).casefold().replace("ё", "е")
    return folded if folded.isascii() else _strip_latin_accents(folded)


def _strip_latin_accents(text: str) -> str:
    """é -> e, but й, ї and other non-Latin letters keep their marks."""
    kept, base_is_latin = [], False
    for c in unicodedata.normalize("NFD", text):
        if unicodedata.combining(c):
            if base_is_latin:
                continue
        else:
            base_is_latin = ord(c) < _LATIN_LIMIT
        kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept))


class _FoldTable(dict[int, str]):
    """ord -> folded text, filled on first use; str.translate calls __missing__."""

    def __missing__(self, key: int) -> str:
        value = _fold_char(chr(key))
        self[key] = value
        return value


_TABLE = _FoldTable()


def prepare(text: str) -> str:
    """The text evidence quotes from: NFC-composed so that й is one character."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


# Characters the fast path must still fold one by one: apostrophe forms, accented Latin
# letters, combining marks.
_SPECIAL = re.compile("[" + re.escape(APOSTROPHES.replace("'", "")) + "\u00c0-\u024f\u0300-\u036f]")


def fold(text: str) -> str:
    """Fold prepared text for matching (see the module docstring).

    The fast path (C-speed casefold, then the few special characters) gives the same result
    as the per-character table, which stays as the exact path for text that NFKC changes.
    """
    if text.isascii():
        folded = text.lower()
        return folded.replace("`", "'") if "`" in folded else folded
    if not unicodedata.is_normalized("NFKC", text):
        return text.translate(_TABLE)
    folded = text.casefold().replace("ё", "е")
    if _SPECIAL.search(folded):
        folded = _SPECIAL.sub(lambda m: _TABLE[ord(m.group())], folded)
    return folded


def offset_map(prepared: str) -> list[int]:
    """For folded text longer or shorter than ``prepared``: folded offset -> prepared offset
    for each character start (use with ``to_original``)."""
    starts, position = [], 0
    for ch in prepared:
        starts.append(position)
        position += len(_TABLE[ord(ch)])
    return starts


def to_original(starts: list[int], folded_offset: int) -> int:
    return max(0, bisect.bisect_right(starts, folded_offset) - 1)


def is_word_char(text: str, index: int) -> bool:
    """Is text[index] part of a word? An apostrophe is, between two letters (м'ясо)."""
    if index < 0 or index >= len(text):
        return False
    ch = text[index]
    if ch.isalnum() or ch == "_":
        return True
    return (
        ch == "'"
        and 0 < index < len(text) - 1
        and text[index - 1].isalnum()
        and text[index + 1].isalnum()
    )


def words(folded: str) -> list[str]:
    return WORD.findall(folded)
