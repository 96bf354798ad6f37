"""Server-rendered pages. Every piece of feed or page text goes through Jinja2's
autoescaping; links from feeds get rel=noopener noreferrer nofollow."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from monitor.config.feeds_file import add_feed, remove_feed
from monitor.config.settings import split
from monitor.config.web import SESSION_MAX_AGE
from monitor.entities import Document, Facts, Severity
from monitor.errors import ConfigError, MonitorError
from monitor.rules import load_rules
from monitor.sources.adding import addition
from monitor.store import repository as repo
from monitor.store import story_views, views
from monitor.web.auth import COOKIE, Auth, signed_in_user
from monitor.web.guard import SignInLimiter
from monitor.web.highlight import Mark, parts
from monitor.web.playground import try_rules
from monitor.web.search import search
from monitor.web.times import when as when_element

router = APIRouter(include_in_schema=False)
PERIODS = [("1d", "last 24 h"), ("7d", "last 7 days"), ("30d", "last 30 days"), ("all", "all time")]
SINCE = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


User = Annotated[str, Depends(signed_in_user)]
MAX_PAGE = 100_000  # pages of 50 hits: more than any database here holds
ArticleId = Annotated[int, Path(ge=1, le=2**62)]  # beyond it no database column reaches
TOO_MANY = "Too many failed sign-ins: wait a few minutes and try again."


def _templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def render(request: Request, name: str, user: str, **context: Any) -> HTMLResponse:
    auth: Auth = request.app.state.auth
    context |= {"user": user, "csrf": auth.csrf_token(user), "active": request.url.path}
    return _templates(request).TemplateResponse(request, name, context)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _templates(request).TemplateResponse(
        request, "login.html", {"next": next, "user": None, "error": None, "active": ""}
    )


@router.post("/login")
def login(
    request: Request,
    password: Annotated[str, Form()],
    user: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    auth: Auth = request.app.state.auth
    limiter: SignInLimiter = request.app.state.sign_ins
    address = request.client.host if request.client else ""
    if limiter.blocked(address, user.strip()):
        context = {"next": next, "user": None, "error": TOO_MANY, "active": ""}
        return _templates(request).TemplateResponse(request, "login.html", context, 429)
    name = auth.check_password(user.strip(), password)
    if name is None:
        limiter.failed(address, user.strip())
        context = {"next": next, "user": None, "error": "Wrong user or password.", "active": ""}
        return _templates(request).TemplateResponse(request, "login.html", context, 401)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, 303)
    base_url = request.app.state.runtime.config.web.base_url or ""
    response.set_cookie(
        COOKIE,
        auth.session_cookie(name),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        # behind a proxy that ends TLS the app sees http; the public address says https
        secure=request.url.scheme == "https" or base_url.startswith("https://"),
    )
    return response


@router.get("/logout")
def logout(request: Request) -> Response:
    auth: Auth = request.app.state.auth
    auth.sign_out(request)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE)
    return response


def hit_filter(
    rule: str = "",
    severity: str = "",
    feed: str = "",
    language: str = "",
    place: Annotated[str, Query(max_length=100)] = "",
    since: str = "7d",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> views.HitFilter:
    """Filters of the hits page and /api/hits; ``place`` is a country code or a place's name."""
    level = Severity[severity] if severity in Severity.__members__ else None
    start = datetime.now(UTC) - SINCE[since] if since in SINCE else None
    return views.HitFilter(
        rule or None,
        level,
        feed or None,
        language or None,
        place.strip() or None,
        start,
        None,
        page,
    )


FOUND_LIMIT = 50  # articles a search lists, newest first


@dataclass(frozen=True)
class _Listing:
    """What the stories and hits pages share: the filter, the search and its results."""

    f: views.HitFilter
    q: str
    problem: str | None
    found: list[views.FoundArticle] | None


def _listing(session: Session, f: views.HitFilter, q: str) -> _Listing:
    """The filter narrowed by the search, which covers every stored article (hit or not);
    a query that cannot be read shows its error and no results."""
    if not q.strip():
        return _Listing(f, q, None, None)
    try:
        ids = search(session, q, f.since)
    except ConfigError as exc:
        return _Listing(f, q, str(exc), None)
    found = views.found_articles(session, ids[:FOUND_LIMIT])
    return _Listing(views.HitFilter(**{**f.__dict__, "article_ids": ids}), q, None, found)


def _page_context(
    request: Request, session: Session, listing: _Listing, since: str
) -> dict[str, Any]:
    rules, feeds, languages = views.filter_choices(session)
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    path = request.url.path

    def page_link(n: int) -> str:
        return f"{path}?" + urlencode(params | {"page": str(n)})

    return {
        "page": listing.f.page,
        "f": listing.f,
        "q": listing.q,
        "since": since,
        "rules": rules,
        "feeds": feeds,
        "languages": languages,
        "periods": PERIODS,
        "severities": [s.name for s in Severity],
        "page_link": page_link,
        "search_problem": listing.problem,
        "found": listing.found,
        "found_limit": FOUND_LIMIT,
    }


@router.get("/", response_class=HTMLResponse)
def stories_page(
    request: Request,
    user: User,
    f: Annotated[views.HitFilter, Depends(hit_filter)],
    q: str = "",
    since: str = "7d",
) -> HTMLResponse:
    with request.app.state.runtime.sessions() as session:
        listing = _listing(session, f, q)
        stories, more = (
            ([], False) if listing.problem else story_views.story_page(session, listing.f)
        )
        context = _page_context(request, session, listing, since)
    return render(request, "stories.html", user, stories=stories, more=more, **context)


@router.get("/hits", response_class=HTMLResponse)
def hits_page(
    request: Request,
    user: User,
    f: Annotated[views.HitFilter, Depends(hit_filter)],
    q: str = "",
    since: str = "7d",
) -> HTMLResponse:
    """Hits, one row per article with every rule that fired on it."""
    with request.app.state.runtime.sessions() as session:
        listing = _listing(session, f, q)
        hits, more = ([], False) if listing.problem else views.hit_page(session, listing.f)
        states = views.delivery_states(session, [h.hit_id for h in hits])
        context = _page_context(request, session, listing, since)
    rows = [list(group) for _, group in itertools.groupby(hits, key=lambda h: h.article_id)]
    return render(request, "hits.html", user, rows=rows, states=states, more=more, **context)


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, user: User, story_id: ArticleId) -> HTMLResponse:
    with request.app.state.runtime.sessions() as session:
        story = story_views.story_view(session, story_id)
    if story is None:
        raise HTTPException(404, f"no story {story_id}")
    return render(request, "story.html", user, story=story)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, user: User, article_id: ArticleId) -> HTMLResponse:
    runtime = request.app.state.runtime
    with runtime.sessions() as session:
        article = views.article_view(session, article_id)
    if article is None:
        raise HTTPException(404, f"no article {article_id}")
    doc = Document(
        article.title, article.text or "", article.language, feed=article.feed, facts=article.facts
    )
    _, marks = runtime.matcher().marks(doc)
    facts = _fact_marks(article.facts)
    return render(
        request,
        "article.html",
        user,
        a=article,
        title_parts=parts(article.title, marks["title"], facts["title"]),
        text_parts=parts(article.text, marks["text"], facts["text"]) if article.text else [],
    )


def _fact_marks(facts: Facts | None) -> dict[str, list[Mark]]:
    """Where the article's figures and places are, per field."""
    found: dict[str, list[Mark]] = {"title": [], "text": []}
    for f in facts.figures if facts else ():
        found[f.field].append((f.start, f.end, "figure"))
    for p in facts.places if facts else ():
        found[p.field].append((p.start, p.end, "place"))
    return found


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, user: User, message: str = "", problem: str = "") -> HTMLResponse:
    with request.app.state.runtime.sessions() as session:
        feeds = repo.feed_statuses(session)
    return render(
        request,
        "feeds.html",
        user,
        feeds=feeds,
        state=feed_state,
        when=when,
        message=message,
        problem=problem,
    )


@router.post("/feeds/add")
async def feeds_add(
    request: Request,
    user: User,
    url: Annotated[str, Form(max_length=2000)],
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    tags: Annotated[str, Form(max_length=500)] = "",
    language: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A source added by its address, as `monitor feeds add` adds it: discovered, read
    once, written into feeds.yaml (which the service rereads within seconds)."""
    request.app.state.auth.check_csrf(request, user, csrf)
    config = request.app.state.runtime.config
    try:
        added = await addition(
            url.strip(),
            config.fetch,
            name=name.strip() or None,
            tags=split(tags),
            language=language.strip() or None,
        )
        await asyncio.to_thread(add_feed, config.feeds_path, added.entry)
    except MonitorError as exc:
        return RedirectResponse("/feeds?" + urlencode({"problem": str(exc)}), 303)
    said = f"added {added.entry['name']!r}: {added.found.url}, {added.found.items} items now"
    return RedirectResponse("/feeds?" + urlencode({"message": said}), 303)


@router.post("/feeds/remove")
async def feeds_remove(
    request: Request,
    user: User,
    name: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    request.app.state.auth.check_csrf(request, user, csrf)
    config = request.app.state.runtime.config
    try:
        url = await asyncio.to_thread(remove_feed, config.feeds_path, name)
    except MonitorError as exc:
        return RedirectResponse("/feeds?" + urlencode({"problem": str(exc)}), 303)
    said = f"removed {name!r} ({url}); its articles and hits stay"
    return RedirectResponse("/feeds?" + urlencode({"message": said}), 303)


def feed_state(f: repo.FeedStatus) -> str:
    if not f.active:
        return "removed from feeds.yaml"
    if f.disabled_reason:
        return f"disabled: {f.disabled_reason}"
    if f.down_since:
        return f"failing since {when(f.down_since)}"
    return "ok" if f.last_checked_at else "not polled yet"


def when(value: datetime | None) -> Markup:
    return when_element(value)


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, user: User) -> HTMLResponse:
    runtime = request.app.state.runtime
    loaded = load_rules(runtime.config.rules_dir)  # the files as they are now
    with runtime.sessions() as session:
        counts = views.rule_counts(session, datetime.now(UTC))
    return render(
        request,
        "rules.html",
        user,
        rules=loaded.rules,
        problems=[str(p) for p in loaded.problems],
        counts=counts,
        when=when,
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, user: User, view: str = "waiting", all: str = "", message: str = ""
) -> HTMLResponse:
    """By default everything not delivered yet, each with where it is and why."""
    view = "all" if all else view if view in repo.VIEWS else "waiting"
    with request.app.state.runtime.sessions() as session:
        deliveries = repo.list_deliveries(session, view=view)
    return render(request, "alerts.html", user, deliveries=deliveries, view=view, message=message)


@router.post("/alerts/retry")
def retry(
    request: Request,
    user: User,
    csrf: Annotated[str, Form()] = "",
    id: Annotated[int | None, Form()] = None,
) -> Response:
    request.app.state.auth.check_csrf(request, user, csrf)
    with request.app.state.runtime.sessions.begin() as session:
        count = repo.retry_deliveries(session, id)
    return RedirectResponse("/alerts?" + urlencode({"message": f"{count} queued again"}), 303)


@router.get("/playground", response_class=HTMLResponse)
def playground_form(request: Request, user: User) -> HTMLResponse:
    form = {"title": "", "text": "", "url": "", "rule": ""}
    return render(request, "playground.html", user, form=form, trial=None)


@router.post("/playground", response_class=HTMLResponse)
async def playground(
    request: Request,
    user: User,
    csrf: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    rule: Annotated[str, Form()] = "",
) -> HTMLResponse:
    request.app.state.auth.check_csrf(request, user, csrf)
    trial = await try_rules(request.app.state.runtime, text, url, title, rule)
    return render(
        request,
        "playground.html",
        user,
        trial=trial,
        form={"title": title, "text": text, "url": url, "rule": rule},
        title_parts=parts(trial.title, trial.marks.get("title", [])),
        text_parts=parts(trial.text, trial.marks.get("text", [])),
    )
