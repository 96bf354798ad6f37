"""Searching stored articles with the rules' query syntax (`troops AND belarus`,
`"border guard*"`, `NEAR/5`...): the query is compiled like a rule and run over the
articles of the chosen period, so a search finds exactly what a rule would."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from monitor.errors import ConfigError
from monitor.rules import compile_rules
from monitor.rules.build import rule_from_file
from monitor.rules.model import RuleFile
from monitor.rules.tree import TermSyntaxError
from monitor.store.articles import iter_articles

SEARCH_LIMIT = 20_000  # articles scanned per search, newest first


def search(session: Session, query: str, since: datetime | None) -> tuple[int, ...]:
    """Ids of the articles the query matches (ConfigError names what is wrong in it)."""
    try:
        rule = rule_from_file(
            RuleFile.model_validate({"name": "search", "severity": "info", "query": query}),
            "search",
        )
    except (TermSyntaxError, ValueError) as exc:
        raise ConfigError(f"search: {exc}") from None
    matcher = compile_rules([rule])
    found = []
    articles = iter_articles(session, since or datetime(1970, 1, 1, tzinfo=UTC))
    for n, article in enumerate(articles):
        if n >= SEARCH_LIMIT:
            break
        if matcher.match(article.document):
            found.append(article.id)
    return tuple(found)
