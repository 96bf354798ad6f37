"""Which language an article is in, among the configured ones: lingua in its low-accuracy
mode, restricted to those languages (the restriction is what makes it both accurate and
small: about 12 MB of models for the default eight, loaded on first use).

A feed's ``language`` is a hint, not the truth: a feed that mixes languages, or declares
none, gets each article's own. The hint decides when the text is too short to tell (a
headline of a word or two), and when a short text (a headline alone) leaves it plausible:
three-letter statistics take "Drone crashes near Vilnius" for Lithuanian, and the model that
would not is 300 MB.
"""

from __future__ import annotations

import threading

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from monitor.errors import ConfigError

DEFAULT_LANGUAGES = ("en", "ru", "uk", "be", "pl", "lt", "lv", "de")
SAMPLE = 1000  # characters of title and text read: the language shows in far fewer
TOO_SHORT = 12  # letters below which a feed's hint is believed over the text
SHORT = 120  # letters below which a plausible hint is believed over the detector
CYRILLIC = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn", "tg"})
# Letters a language's own alphabet does not have: a short text with one is not in it.
FOREIGN = {"ru": set("іїєґў"), "uk": set("ыэъёў"), "be": set("ищъїєґ")}


def _language(code: str) -> Language:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        raise ConfigError(f"MONITOR_LANGUAGES: {code!r} is not a language lingua knows") from None


class LanguageIdentifier:
    def __init__(self, codes: tuple[str, ...] = DEFAULT_LANGUAGES) -> None:
        if not codes:
            raise ConfigError("MONITOR_LANGUAGES: name at least one language")
        self.languages = {code.lower(): _language(code) for code in codes}
        self._codes = {language: code for code, language in self.languages.items()}
        self._detector: LanguageDetector | None = None
        self._lock = threading.Lock()

    def identify(self, title: str, text: str = "", hint: str | None = None) -> str | None:
        """The ISO 639-1 code of the text's language, or None when there is nothing to read
        and no usable hint."""
        sample = f"{title}\n{text[:SAMPLE]}".strip()
        hinted = hint.lower() if hint and hint.lower() in self.languages else None
        if sum(ch.isalpha() for ch in sample[:200]) < TOO_SHORT and (hinted or not sample):
            return hinted
        if len(self.languages) == 1:
            return next(iter(self.languages))
        if hinted and sum(ch.isalpha() for ch in sample) < SHORT and _plausible(sample, hinted):
            return hinted
        found = self.detector().detect_language_of(sample)
        return self._codes.get(found) if found is not None else hinted

    def detector(self) -> LanguageDetector:
        with self._lock:
            if self._detector is None:
                chosen = list(self.languages.values())
                self._detector = (
                    LanguageDetectorBuilder.from_languages(*chosen).with_low_accuracy_mode().build()
                )
            return self._detector


def _plausible(sample: str, code: str) -> bool:
    """Could this short text be in that language, by its letters alone?"""
    letters = [ch for ch in sample.lower() if ch.isalpha()]
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in letters)
    if (cyrillic * 2 > len(letters)) != (code in CYRILLIC):
        return False
    return not FOREIGN.get(code, set()).intersection(letters)
