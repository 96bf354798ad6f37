"""Searching stored articles with the rules' query syntax (`troops AND belarus`,
`"border guard*"`, `NEAR/5`...). The query is compiled like a rule; the database's full-text
index narrows the articles to those holding the words it needs (``monitor.rules.prefilter``),
and the matcher decides on each, so a search finds exactly what a rule would. A query with
nothing to narrow by (only a regex, only NOT) scans the period's articles, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from monitor.entities import StoredArticle
from monitor.errors import ConfigError
from monitor.rules import compile_rules
from monitor.rules.build import rule_from_file
from monitor.rules.model import RuleFile
from monitor.rules.prefilter import prefilter
from monitor.rules.tree import TermSyntaxError
from monitor.store.articles import articles_by_id, iter_articles
from monitor.store.fulltext import candidate_ids

SEARCH_LIMIT = 20_000  # articles the matcher reads per search, newest first
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    need = prefilter(rule.match)
    articles: Iterable[StoredArticle]
    if need is None:
        articles = iter_articles(session, since or EPOCH)
    else:
        articles = articles_by_id(
            session, candidate_ids(session, need, since or EPOCH, SEARCH_LIMIT)
        )
    found = []
    for n, article in enumerate(articles):
        if n >= SEARCH_LIMIT:
            break
        if matcher.match(article.document):
            found.append(article.id)
    return tuple(found)
