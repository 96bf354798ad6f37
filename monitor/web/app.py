"""The FastAPI app: dashboard pages, /api/ (with its OpenAPI description at
/api/openapi.json), /healthz, /readyz and /metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from monitor.config.web import SESSION_MAX_AGE
from monitor.feeds.urls import is_web_link
from monitor.metrics import REGISTRY
from monitor.store import web_sessions
from monitor.web import api, pages, websub
from monitor.web.auth import Auth, NotSignedIn, signed_in_user
from monitor.web.gauges import DatabaseGauges
from monitor.web.guard import RequestGuard, SignInLimiter
from monitor.web.runtime import Runtime
from monitor.web.times import SCRIPT, when

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="monitor",
        summary="News monitoring with alerts: hits, articles, feeds, rules, playground.",
        openapi_url=None,  # served below, behind sign-in like everything but /healthz
        docs_url=None,
        redoc_url=None,
    )
    auth = Auth(runtime.config.web, *_signed_out_sessions(runtime))
    templates = Jinja2Templates(directory=TEMPLATES)  # autoescape on for .html
    templates.env.tests["web_link"] = is_web_link  # only http(s) links from feeds are hrefs
    templates.env.globals["open"] = runtime.config.web.open
    templates.env.filters["when"] = when
    app.state.runtime, app.state.auth, app.state.templates = runtime, auth, templates
    app.state.sign_ins = SignInLimiter()
    app.middleware("http")(RequestGuard(runtime.config.web))
    _gauges(runtime)

    @app.exception_handler(NotSignedIn)
    async def _signed_out(request: Request, exc: NotSignedIn) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/metrics":
            return JSONResponse({"detail": str(exc)}, 401, {"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={request.url.path}", 303)

    @app.get("/local-time.js", include_in_schema=False)
    def local_time() -> Response:
        return Response(SCRIPT, media_type="text/javascript")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    # Open like /healthz, for load balancers' probes and the image's HEALTHCHECK: it names
    # what is not ready, never an error's text (the log has that).
    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        problems = readiness(runtime)
        body = "\n".join(problems) or "ready"
        return PlainTextResponse(body, 503 if problems else 200)

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(signed_in_user)])
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(signed_in_user)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(websub.router)
    return app


def readiness(runtime: Runtime) -> list[str]:
    problems = []
    try:
        with runtime.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not ready"
        log.warning("readiness: database unreachable", exc_info=True)
        problems.append("database unreachable")
    if not runtime.scheduler_running():
        problems.append("scheduler not running")
    try:
        if not runtime.matcher().rules:
            problems.append("no rules loaded")
    except Exception:
        log.warning("readiness: rules not loaded", exc_info=True)
        problems.append("rules not loaded")
    return problems


def _signed_out_sessions(
    runtime: Runtime,
) -> tuple[Callable[[str], bool], Callable[[str], None]]:
    def revoked(sid: str) -> bool:
        with runtime.sessions() as session:
            return web_sessions.signed_out(session, sid)

    def revoke(sid: str) -> None:
        with runtime.sessions.begin() as session:
            web_sessions.sign_out(session, sid, SESSION_MAX_AGE)

    return revoked, revoke


def _gauges(runtime: Runtime) -> None:
    # One database collector per process: a second app (tests) replaces the first.
    for collector in list(REGISTRY._collector_to_names):
        if isinstance(collector, DatabaseGauges):
            REGISTRY.unregister(collector)
    REGISTRY.register(DatabaseGauges(runtime.sessions, runtime.config.feed_down_after))
