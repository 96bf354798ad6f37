"""`monitor run`, `monitor match` and `monitor settings`."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import click

from monitor.cli.base import Fail, _config, cli
from monitor.collect import collect_less
from monitor.config import Config, settings_table
from monitor.entities import Document, Facts, Figure, PlaceRef
from monitor.errors import ConfigError, MonitorError
from monitor.extract import extract_page
from monitor.language import LanguageIdentifier
from monitor.logs import setup_logging
from monitor.rules import compile_rules, load_rules
from monitor.rules.explain import near_misses
from monitor.service.app import App, StartupNotes, open_services, understanding_for
from monitor.service.cycle import CycleReport, run_cycle
from monitor.store import repository as repo
from monitor.store.db import single_process

EXIT_UNDELIVERED = 3

# -- run --------------------------------------------------------------------------------------


@cli.command()
@click.option("--once", is_flag=True, help="Poll every feed once, deliver alerts, exit.")
@click.option(
    "--http",
    metavar="[HOST]:PORT",
    help="Also serve the dashboard, API, /healthz, /readyz and /metrics (MONITOR_HTTP).",
)
@click.pass_context
def run(ctx: click.Context, once: bool, http: str | None) -> None:
    """Run the service (until SIGINT/SIGTERM), or one cycle with --once."""
    config = _config(ctx)
    setup_logging(config.log_level, config.log_format)
    listen = http or config.http
    try:
        from monitor.web.server import listen_address  # FastAPI only when asked for

        address = listen_address(listen, config) if listen and not once else None
        with single_process(config.database_url):
            code = asyncio.run(_run(config, once, address))
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    ctx.exit(code)


def tell(config: Config, message: str, level: int = logging.INFO) -> None:
    """What ``run`` and ``serve`` tell the operator on standard error: a plain line, or with
    MONITOR_LOG_FORMAT=json a record like the log's, so a log shipper meets no line it
    cannot read."""
    if config.log_format == "json":
        logging.getLogger("monitor.cli").log(level, message)
    else:
        click.echo(message, err=True)


async def _run(config: Config, once: bool, address: tuple[str, int] | None) -> int:
    async with open_services(config, click.echo) as app:
        collect_less()
        _show_notes(config, app.notes)
        if not once:
            await _service(app, address)
            return 0
        with app.services.sessions() as session:
            feeds = repo.active_feeds(session)
        started = time.monotonic()
        report = await run_cycle(app, feeds)
    return _summarize(config, report, time.monotonic() - started)


async def _service(app: App, address: tuple[str, int] | None) -> None:
    from monitor.service.scheduler import Service

    service = Service(app)
    if address is None:
        await service.run()
        return
    from monitor.web.app import create_app
    from monitor.web.server import runtime_for, serve_until

    web_app = create_app(runtime_for(app, lambda: service.running, service.wake))
    web = asyncio.ensure_future(serve_until(web_app, *address, service.stopping))
    tell(app.config, f"web app on http://{address[0]}:{address[1]}/")
    await service.run()
    await web


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the web app alone (dashboard, API, health, metrics), without polling."""
    from monitor.web.app import create_app
    from monitor.web.server import listen_address, runtime_for, serve_alone

    config = _config(ctx)
    setup_logging(config.log_level, config.log_format)

    async def main() -> None:
        async with open_services(config, click.echo, serve=True) as app:
            address = listen_address(f"{host}:{port}", config)
            await serve_alone(create_app(runtime_for(app)), *address)

    try:
        asyncio.run(main())
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None


@cli.group()
def web() -> None:
    """Web app helpers."""


@web.command("hash-password")
@click.password_option()
def hash_password_command(password: str) -> None:
    """Print a hash for MONITOR_WEB_USERS (`name:<hash>`)."""
    from monitor.config.web import hash_password

    click.echo(hash_password(password))


def _show_notes(config: Config, notes: StartupNotes) -> None:
    for problem in notes.rule_problems:
        tell(config, f"rule skipped: {problem}", logging.WARNING)
    for name in notes.unknown_channels:
        tell(
            config,
            f"warning: rules notify channel {name!r}, which is not configured "
            f"(set MONITOR_CHANNEL_{name.upper()}); its alerts will fail",
            logging.WARNING,
        )


def _summarize(config: Config, report: CycleReport, took: float) -> int:
    for poll in report.failed:
        tell(config, f"feed failed: {poll.feed}: {poll.error}", logging.WARNING)
    polls = report.polls
    d = report.delivery
    tell(
        config,
        f"{len(polls)} feeds polled ({len(report.failed)} failed), "
        f"{sum(p.new for p in polls)} new articles, {sum(p.hits for p in polls)} hits; "
        f"alerts: {d.sent} sent, {d.retrying} to retry, {d.failed} failed; "
        f"cycle took {took:.1f}s",
    )
    if d.retrying or d.failed:
        tell(
            config,
            f"error: {d.retrying + d.failed} alerts not delivered: "
            + "; ".join(sorted(set(d.errors))[:5]),
            logging.ERROR,
        )
        return EXIT_UNDELIVERED
    return 0


# -- match ------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    help="Rules directory (default: MONITOR_RULES).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input.")
@click.option(
    "--explain", is_flag=True, help="Say why each rule that holds some of its terms does not fire."
)
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def match(
    ctx: click.Context,
    rules_dir: Path | None,
    as_json: bool,
    explain: bool,
    paths: tuple[str, ...],
) -> None:
    """Which rules fire on documents (.html is extracted; .txt is a title line and a body;
    - is standard input). No database is used."""
    config = _config(ctx)
    try:
        rules = load_rules(rules_dir or config.rules_dir)
    except ConfigError as exc:
        raise Fail(f"error: {exc}") from None
    for problem in rules.problems:
        click.echo(f"rule skipped: {problem}", err=True)
    matcher = compile_rules(rules.rules)
    identifier = LanguageIdentifier(config.languages)
    understanding = understanding_for(config)
    failed = False
    for path in paths:
        try:
            doc = _read_document(path)
        except OSError as exc:
            click.echo(f"error: {path}: {exc.strerror or exc}", err=True)
            failed = True
            continue
        doc = replace(doc, language=identifier.identify(doc.title, doc.text))
        doc = understanding.read(doc)
        facts = doc.facts or Facts()
        hits = matcher.match(doc)
        missed = near_misses(matcher, doc) if explain else {}
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "input": path,
                        "title": doc.title,
                        "language": doc.language,
                        "figures": [_figure_json(f) for f in facts.figures],
                        "places": [_place_json(p) for p in facts.places],
                        "countries": list(facts.countries),
                        **({"why_not": missed} if explain else {}),
                        "hits": [
                            {
                                "rule": h.rule_id,
                                "score": h.score,
                                "evidence": [
                                    {"term": e.term, "snippet": e.snippet} for e in h.evidence
                                ],
                            }
                            for h in hits
                        ],
                    },
                    ensure_ascii=False,
                )
            )
            continue
        click.echo(f"{path}: {doc.title!r} ({doc.language or 'language unknown'})")
        if facts.line():
            click.echo(f"  {facts.line()}")
        for h in hits or []:
            click.echo(f"  {h.rule_id} ({h.severity.name}, score {h.score:g})")
            for e in h.evidence:
                click.echo(f"    {e.term}: {e.snippet}")
        if not hits:
            click.echo("  no rule fires")
        for rule_id, reasons in missed.items():
            click.echo(f"  not {rule_id}: {'; '.join(reasons)}")
    ctx.exit(1 if failed or rules.problems else 0)


def _figure_json(f: Figure) -> dict[str, object]:
    return {"value": f.value, "unit": f.unit, "kind": f.kind, "approximate": f.approximate,
            "field": f.field, "span": [f.start, f.end]}  # fmt: skip


def _place_json(p: PlaceRef) -> dict[str, object]:
    return {"id": p.id, "name": p.name, "country": p.country, "lat": p.lat, "lon": p.lon,
            "kind": p.kind, "field": p.field, "span": [p.start, p.end]}  # fmt: skip


def _read_document(path: str) -> Document:
    if path == "-":
        raw = sys.stdin.read()
    else:
        p = Path(path)
        if p.suffix.lower() in {".html", ".htm"}:
            page = extract_page(p.read_bytes(), None)
            return Document(title=page.title, text=page.text) if page else Document("", "")
        raw = p.read_text(encoding="utf-8", errors="replace")
    title, _, body = raw.lstrip("\ufeff").partition("\n")
    return Document(title=title.strip(), text=body)


@cli.command()
def settings() -> None:
    """Every environment setting, as the Markdown table in the README."""
    click.echo(settings_table())
