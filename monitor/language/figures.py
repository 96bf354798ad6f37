"""Figures: how many troops, units and pieces of equipment a text mentions, as values.

A small grammar over word forms, in English, Russian and Ukrainian:

    figure   := [approx] number [filler | adjective]{0,3} unit
    number   := digits [multiplier] | number-words | vague        (9,000 / 9 тысяч / two)
    vague    := dozens | hundreds | thousands | десятки | сотни | тисячі ...   (approximate)

Units and their words come from a lexicon (``data/lexicon.yaml``, extended by the
operator's file), each word standing for all its forms, as in rules. What is not followed
by a unit is no figure: years ("the 2022 invasion"), phone numbers, "15,000 spectators".
Ordinals ("5th brigade", "2-й батальон"), percentages and amounts of money are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import ahocorasick

from monitor.entities import Figure
from monitor.language.forms import forms_of
from monitor.language.lexicon import Lexicon, load_lexicon

_TOKEN = re.compile(
    r"(?P<num>\d{1,3}(?:(?:[,\u00a0\u202f ]|\.(?=\d{3}\b))\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:['’ʼ-][^\W\d_]+)*)"
    r"|(?P<sign>[^\w\s])",
)
MAX_BETWEEN = 3  # adjectives or fillers between a number and its unit
APPROX = {
    "about", "around", "some", "nearly", "almost", "roughly", "approximately", "over",
    "estimated", "up to", "more than", "at least", "as many as", "около", "почти",
    "примерно", "приблизительно", "более", "свыше", "порядка", "до", "не менее", "близько",
    "майже", "приблизно", "понад", "більше", "щонайменше", "не менше", "близ",
}  # fmt: skip
ENGLISH = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "million": 10**6,
    "dozen": 12,
}  # fmt: skip
RUSSIAN = {
    "один": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7,
    "восемь": 8, "девять": 9, "десять": 10, "двадцать": 20, "тридцать": 30, "сорок": 40,
    "пятьдесят": 50, "сто": 100, "двести": 200, "триста": 300, "пятьсот": 500,
    "тысяча": 1000, "миллион": 10**6, "полтора": 1.5, "полторы": 1.5, "дюжина": 12,
}  # fmt: skip
UKRAINIAN = {
    "чотири": 4, "п'ять": 5, "шість": 6, "сім": 7, "вісім": 8, "дев'ять": 9,
    "двадцять": 20, "тридцять": 30, "п'ятдесят": 50, "двісті": 200, "п'ятсот": 500,
    "тисяча": 1000, "мільйон": 10**6, "півтора": 1.5, "півтори": 1.5,
}  # fmt: skip
ONES = ENGLISH | RUSSIAN | UKRAINIAN  # один, два, три, десять, сорок, сто: both languages
MULTIPLIERS = {"тыс": 1000, "тис": 1000, "млн": 10**6, "k": 1000}
# Plural multipliers with no number before them: an approximate count.
VAGUE = {
    "dozens": 24, "scores": 40, "hundreds": 200, "thousands": 2000, "десятки": 20,
    "десятков": 20, "сотни": 200, "сотен": 200, "тысячи": 2000, "тысяч": 2000,
    "десятків": 20, "сотні": 200, "сотень": 200, "тисячі": 2000, "тисяч": 2000,
}  # fmt: skip
_ORDINAL_SUFFIX = re.compile(
    r"(?:(?:st|nd|rd|th)\b|-(?:й|я|е|го|му|м|х|ми|ї|і|ого|та|га|тя|ша|ма|ий|ої|ту|ю)\b)", re.I
)


class _Token(NamedTuple):
    kind: str  # num | word | sign
    text: str
    low: str
    start: int
    end: int
    after: str  # the few characters that follow (ordinal suffixes, %)
    before: str  # the two characters before (currency, a model's "T-")


BEFORE, AFTER = 40, 120  # characters around a number that a figure may take
_DIGITS = re.compile(r"(?<![\d.,])\d")  # a run of digits starts (not inside 9,000)


def _inside_word(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())


def _tokens(text: str, start: int, end: int) -> list[_Token]:
    """The tokens of ``text[start:end]``, with offsets into ``text``."""
    found = []
    for m in _TOKEN.finditer(text, start, end):
        word = m.group()
        low = word.lower().replace("ё", "е").replace("’", "'").replace("ʼ", "'")
        a, b = m.start(), m.end()
        kind = m.lastgroup or "sign"
        found.append(_Token(kind, word, low, a, b, text[b : b + 4], text[max(0, a - 2) : a]))
    return found


def _number_words() -> dict[str, float]:
    """Every form of every number word: двух, двумя, трьох, тисячі..."""
    table: dict[str, float] = {}
    for word, value in ONES.items():
        for form in forms_of(word) if not word.isascii() else {word}:
            table.setdefault(form, value)
    return table


class FigureFinder:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.numbers = _number_words()
        # Where a figure may start: digits, or a word that is a number (one Aho-Corasick
        # pass finds them). Only the few words around each are read: an article is mostly
        # words no figure is made of.
        self._words = ahocorasick.Automaton()
        for word in set(self.numbers) | set(VAGUE):
            self._words.add_word(word, len(word))
        self._words.make_automaton()

    def _starts(self, text: str) -> list[int]:
        """Offsets of the digits runs and number words of ``text``, in order."""
        found = [m.start() for m in _DIGITS.finditer(text)]
        low = text.lower().replace("ё", "е").replace("’", "'").replace("ʼ", "'")
        if len(low) == len(text):
            for last, size in self._words.iter(low):
                start = last - size + 1
                if not _inside_word(low, start, last + 1):
                    found.append(start)
        return sorted(found)

    def find(self, text: str, field: str = "text") -> list[Figure]:
        figures: list[Figure] = []
        done = 0  # what a figure already took, or a window already read
        for at in self._starts(text):
            if at < done:
                continue
            tokens = _tokens(text, max(0, at - BEFORE), min(len(text), at + AFTER))
            first = next((i for i, t in enumerate(tokens) if t.end > at), None)
            if first is None or tokens[first].start < at:
                done = at + 1  # inside a number already passed
                continue
            found = self._figure_at(tokens, first, field)
            if found is None:
                done = tokens[first].end
                continue
            figures.append(found[0])
            done = found[0].end
        return figures

    def _figure_at(self, tokens: list[_Token], i: int, field: str) -> tuple[Figure, int] | None:
        number = self._number(tokens, i)
        if number is None:
            return None
        value, vague, after = number
        unit = self._unit(tokens, after)
        if unit is None:
            return None
        name, kind, end = unit
        approx_start = self._approx_before(tokens, i)
        first = tokens[approx_start if approx_start is not None else i]
        approximate = vague or approx_start is not None
        return Figure(value, name, kind, approximate, field, first.start, tokens[end - 1].end), end

    def _number(self, tokens: list[_Token], i: int) -> tuple[float, bool, int] | None:
        """The value starting at token ``i``, whether it is vague, and the token after it."""
        token = tokens[i]
        if token.kind == "num":
            if _not_a_count(tokens, i):
                return None
            value = _digits(token.text)
            j = i + 1
            if j < len(tokens) and tokens[j].kind == "word":
                mult = self.numbers.get(tokens[j].low) or MULTIPLIERS.get(tokens[j].low)
                if mult in (1000, 10**6):
                    value *= mult
                    j += 1
                    if j < len(tokens) and tokens[j].text == ".":
                        j += 1  # "13 тыс."
            return value, False, j
        if token.kind != "word":
            return None
        if token.low in VAGUE and not (i and tokens[i - 1].kind == "num"):
            j = i + 1
            if j < len(tokens) and tokens[j].low == "of":
                j += 1
            return float(VAGUE[token.low]), True, j
        return self._spelled(tokens, i)

    def _spelled(self, tokens: list[_Token], i: int) -> tuple[float, bool, int] | None:
        total, current, j = 0.0, 0.0, i
        while j < len(tokens) and tokens[j].kind == "word":
            low = tokens[j].low
            if low in ("and", "a") and j > i:
                j += 1
                continue
            value = self.numbers.get(low)
            if value is None:
                break
            if value >= 1000:
                total += (current or 1) * value
                current = 0
            elif value == 100:
                current = (current or 1) * 100
            else:
                current += value
            j += 1
        if j == i:
            return None
        return total + current, False, j

    def _unit(self, tokens: list[_Token], j: int) -> tuple[str, str, int] | None:
        skipped = 0
        while j < len(tokens) and skipped <= MAX_BETWEEN:
            token = tokens[j]
            if token.kind != "word":
                return None
            unit = self.lexicon.unit_at([t.low for t in tokens[j : j + 4]])
            if unit is not None:
                name, kind, length = unit
                return name, kind, j + length
            if not (self.lexicon.is_filler(token.low) or _modifier(token)):
                return None
            skipped += 1
            j += 1
        return None

    def _approx_before(self, tokens: list[_Token], i: int) -> int | None:
        for width in (3, 2, 1):
            if i - width < 0:
                continue
            words = tokens[i - width : i]
            if all(t.kind == "word" for t in words) and " ".join(t.low for t in words) in APPROX:
                return i - width
        return None


def _digits(text: str) -> float:
    cleaned = re.sub(r"[\u00a0\u202f ]", "", text)
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", cleaned):
        return float(re.sub(r"[.,]", "", cleaned))
    return float(cleaned.replace(",", "."))


def _not_a_count(tokens: list[_Token], i: int) -> bool:
    """Ordinals, percentages, money, model numbers (T-72), years after "in", phone parts."""
    token = tokens[i]
    rest, before = token.after, token.before
    if _ORDINAL_SUFFIX.match(rest) or rest[:1] in ("%", "$", "€", "₽") or rest.startswith(" %"):
        return True
    if before[-1:] in ("$", "€", "£", "+", "-", "№", "#") or before.endswith(("-", "‑")):
        return True
    value = _digits(token.text)
    previous = tokens[i - 1].low if i else ""
    return 1900 <= value <= 2100 and previous in {"in", "since", "в", "с", "у", "з", "of", "від"}


_MODIFIER_HINT = re.compile(r"(?:ых|их|ые|ие|ой|ого|ій|ої|ів|ні|ських|цких|ских|ські|ные)$")
_ENGLISH_ADJECTIVE = re.compile(r"(?:al|ary|ed|ive|ian|ese|ic|ish|ous|ful|less|ern|ish)$")
ENGLISH_MODIFIERS = {
    "more", "additional", "extra", "new", "fresh", "elite", "heavy", "light", "combat",
    "regular", "reserve", "foreign", "allied", "enemy", "troop", "army", "navy",
}  # fmt: skip


def _modifier(token: _Token) -> bool:
    """Might this word be an adjective standing between a number and its unit? Capitalised
    words (Russian, Chechen), English adjectives by ending or by list, Cyrillic adjective
    endings."""
    if token.text[:1].isupper():
        return True
    if token.low.isascii():
        return token.low in ENGLISH_MODIFIERS or bool(_ENGLISH_ADJECTIVE.search(token.low))
    return bool(_MODIFIER_HINT.search(token.low)) or token.low in {"еще", "ще", "більш"}


def figure_finder(extra: Path | None = None) -> FigureFinder:
    return FigureFinder(load_lexicon(extra))
