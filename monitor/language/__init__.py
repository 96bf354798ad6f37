"""The language layer: what an article's text is, computed once per article and used by
rules, stories, alerts and the web pages. Identification for now (``identify``)."""

from monitor.language.identify import DEFAULT_LANGUAGES, LanguageIdentifier

__all__ = ["DEFAULT_LANGUAGES", "LanguageIdentifier"]
