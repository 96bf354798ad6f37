"""The JSON API under /api/: the same reads as the pages, and the playground. Send
`Authorization: Bearer $MONITOR_WEB_TOKEN`. The OpenAPI description is /api/openapi.json."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from monitor.errors import ConfigError
from monitor.rules import load_rules
from monitor.store import repository as repo
from monitor.store import story_views, views
from monitor.web.auth import signed_in_user
from monitor.web.pages import ArticleId, hit_filter
from monitor.web.playground import try_rules
from monitor.web.search import search

router = APIRouter(prefix="/api", dependencies=[Depends(signed_in_user)], tags=["api"])


class HitsPage(BaseModel):
    hits: list[views.HitRowView]
    more: bool


@router.get("/hits", summary="Hits, newest first, filtered and paged (50 a page)")
def hits(
    request: Request, f: Annotated[views.HitFilter, Depends(hit_filter)], q: str = ""
) -> HitsPage:
    with request.app.state.runtime.sessions() as session:
        found, more = views.hit_page(session, _searched(session, f, q))
    return HitsPage(hits=found, more=more)


def _searched(session: Session, f: views.HitFilter, q: str) -> views.HitFilter:
    """The filter narrowed to the articles a search finds (400 for a query in error)."""
    if not q.strip():
        return f
    try:
        return views.HitFilter(**{**f.__dict__, "article_ids": search(session, q, f.since)})
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None


class StoriesPage(BaseModel):
    stories: list[story_views.StorySummary]
    more: bool


@router.get("/stories", summary="Stories, latest hit first, filtered as hits are (50 a page)")
def stories(
    request: Request, f: Annotated[views.HitFilter, Depends(hit_filter)], q: str = ""
) -> StoriesPage:
    with request.app.state.runtime.sessions() as session:
        found, more = story_views.story_page(session, _searched(session, f, q))
    return StoriesPage(stories=found, more=more)


@router.get(
    "/stories/{story_id}",
    summary="One story: its reports in time order, the rules on each, why each was linked",
)
def story(request: Request, story_id: ArticleId) -> story_views.StoryView:
    with request.app.state.runtime.sessions() as session:
        found = story_views.story_view(session, story_id)
    if found is None:
        raise HTTPException(404, f"no story {story_id}")
    return found


@router.get("/articles/{article_id}", summary="One article with its hits, deliveries, story")
def article(request: Request, article_id: ArticleId) -> views.ArticleView:
    with request.app.state.runtime.sessions() as session:
        found = views.article_view(session, article_id)
    if found is None:
        raise HTTPException(404, f"no article {article_id}")
    return found


@router.get("/feeds", summary="Feed health")
def feeds(request: Request) -> list[dict[str, Any]]:
    with request.app.state.runtime.sessions() as session:
        return [asdict(f) for f in repo.feed_statuses(session)]


class RuleInfo(BaseModel):
    id: str
    name: str
    severity: str
    enabled: bool
    notify: list[str]
    hits_24h: int
    hits_7d: int
    last_hit: datetime | None


class RulesReport(BaseModel):
    rules: list[RuleInfo]
    problems: list[str]


@router.get("/rules", summary="Rules with hit counts, and files that fail validation")
def rules(request: Request) -> RulesReport:
    runtime = request.app.state.runtime
    loaded = load_rules(runtime.config.rules_dir)
    with runtime.sessions() as session:
        counts = views.rule_counts(session, datetime.now(UTC))
    return RulesReport(
        rules=[
            RuleInfo(
                id=r.id,
                name=r.name,
                severity=r.severity.name,
                enabled=r.enabled,
                notify=list(r.notify),
                hits_24h=counts.get(r.id, views.RuleCounts()).day,
                hits_7d=counts.get(r.id, views.RuleCounts()).week,
                last_hit=counts.get(r.id, views.RuleCounts()).last,
            )
            for r in loaded.rules
        ],
        problems=[str(p) for p in loaded.problems],
    )


class PlaygroundIn(BaseModel):
    text: str = ""
    url: str = ""
    title: str = ""
    rule: str = ""  # one rule's YAML; empty: the live rules


class Evidence(BaseModel):
    term: str
    field: str
    snippet: str


class PlaygroundHit(BaseModel):
    rule_id: str
    rule_name: str
    severity: str
    score: float
    evidence: list[Evidence]


class PlaygroundOut(BaseModel):
    hits: list[PlaygroundHit]
    marks: dict[str, list[tuple[int, int]]]
    problem: str | None
    why_not: dict[str, list[str]] = {}  # rules that did not fire (near misses), and why not


@router.post("/playground", summary="Which rules fire on a text or URL, and why (nothing stored)")
async def playground(request: Request, body: PlaygroundIn) -> PlaygroundOut:
    trial = await try_rules(request.app.state.runtime, body.text, body.url, body.title, body.rule)
    return PlaygroundOut(
        hits=[
            PlaygroundHit(
                rule_id=h.rule_id,
                rule_name=h.rule_name,
                severity=h.severity.name,
                score=h.score,
                evidence=[Evidence(**asdict(e)) for e in h.evidence],
            )
            for h in trial.hits
        ],
        marks=trial.marks,
        problem=trial.problem,
        why_not=trial.why_not,
    )
