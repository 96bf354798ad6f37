"""The ``monitor`` command. The only place that reads the environment and the only place
that turns MonitorErrors into messages and exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from monitor.app import StartupNotes, open_services
from monitor.config import SETTINGS, Config, load_feeds, parse_duration
from monitor.entities import Document, Evidence, StoredArticle
from monitor.errors import ConfigError, MonitorError
from monitor.extract import extract_page
from monitor.logs import setup_logging
from monitor.pipeline import CycleReport, run_cycle
from monitor.rules import Rule, compile_rules, load_rule, load_rules
from monitor.rules.backtest import BacktestReport
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory, upgrade

EXIT_UNDELIVERED = 3


class Fail(click.ClickException):
    """A domain error shown as ``error: ...`` with exit code 1."""

    def format_message(self) -> str:
        return self.message


def _config(ctx: click.Context) -> Config:
    config = ctx.find_object(Config)
    if config is None:
        raise click.UsageError("configuration missing")
    return config


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """News monitoring with alerts: poll feeds, match rules, alert channels."""
    try:
        ctx.obj = Config.from_env(os.environ)
    except ConfigError as exc:
        raise Fail(f"error: {exc}") from None


def main() -> None:
    cli(prog_name="monitor")


# -- run --------------------------------------------------------------------------------------


@cli.command()
@click.option("--once", is_flag=True, help="Poll every feed once, deliver alerts, exit.")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the service (until SIGINT/SIGTERM), or one cycle with --once."""
    config = _config(ctx)
    setup_logging(config.log_level, config.log_format)
    try:
        code = asyncio.run(_run(config, once))
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    ctx.exit(code)


async def _run(config: Config, once: bool) -> int:
    from monitor.rules.reload import RuleWatcher
    from monitor.scheduler import Service

    async with open_services(config, click.echo) as (svc, notes):
        _show_notes(notes)
        if not once:
            from monitor.app import digest_channels

            watcher = RuleWatcher(config.rules_dir, notes.rules)
            await Service(svc, watcher, digest_channels(config, svc.sender)).run()
            return 0
        with svc.sessions() as session:
            feeds = repo.active_feeds(session)
        report = await run_cycle(svc, feeds)
    return _summarize(report)


def _show_notes(notes: StartupNotes) -> None:
    for problem in notes.rule_problems:
        click.echo(f"rule skipped: {problem}", err=True)
    for name in notes.unknown_channels:
        click.echo(
            f"warning: rules notify channel {name!r}, which is not configured "
            f"(set MONITOR_CHANNEL_{name.upper()}); its alerts will fail",
            err=True,
        )


def _summarize(report: CycleReport) -> int:
    for poll in report.failed:
        click.echo(f"feed failed: {poll.feed}: {poll.error}", err=True)
    polls = report.polls
    d = report.delivery
    click.echo(
        f"{len(polls)} feeds polled ({len(report.failed)} failed), "
        f"{sum(p.new for p in polls)} new articles, {sum(p.hits for p in polls)} hits; "
        f"alerts: {d.sent} sent, {d.retrying} to retry, {d.failed} failed",
        err=True,
    )
    if d.retrying or d.failed:
        click.echo(
            f"error: {d.retrying + d.failed} alerts not delivered: "
            + "; ".join(sorted(set(d.errors))[:5]),
            err=True,
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
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def match(
    ctx: click.Context, rules_dir: Path | None, as_json: bool, paths: tuple[str, ...]
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
    failed = False
    for path in paths:
        try:
            doc = _read_document(path)
        except OSError as exc:
            click.echo(f"error: {path}: {exc.strerror or exc}", err=True)
            failed = True
            continue
        hits = matcher.match(doc)
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "input": path,
                        "title": doc.title,
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
        click.echo(f"{path}: {doc.title!r}")
        for h in hits or []:
            click.echo(f"  {h.rule_id} ({h.severity.name}, score {h.score:g})")
            for e in h.evidence:
                click.echo(f"    {e.term}: {e.snippet}")
        if not hits:
            click.echo("  no rule fires")
    ctx.exit(1 if failed or rules.problems else 0)


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


# -- rules ------------------------------------------------------------------------------------


@cli.group()
def rules() -> None:
    """Operators' tools for rule files."""


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.pass_context
def rules_check(ctx: click.Context, directory: Path | None) -> None:
    """Validate every rule file; print problems as file:line:column: message."""
    try:
        result = load_rules(directory or _config(ctx).rules_dir)
    except ConfigError as exc:
        raise Fail(str(exc)) from None
    for problem in result.problems:
        click.echo(str(problem))
    click.echo(f"{len(result.rules)} rules ok, {len(result.problems)} problems", err=True)
    ctx.exit(1 if result.problems else 0)


@rules.command("test")
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.pass_context
def rules_test(ctx: click.Context, target: Path | None) -> None:
    """Run every rule's examples (a directory or one file); exit 1 on a failure."""
    from monitor.rules.examples import run_examples

    try:
        loaded = load_rules(target or _config(ctx).rules_dir)
    except ConfigError as exc:
        raise Fail(str(exc)) from None
    for problem in loaded.problems:
        click.echo(f"rule skipped: {problem}", err=True)
    results = run_examples(loaded.rules)
    click.echo(f"{'RESULT':6}  {'RULE':28}  {'EXPECT':8}  EXAMPLE")
    for r in results:
        verdict = "pass" if r.passed else "FAIL"
        expect = "match" if r.expected else "no match"
        click.echo(f"{verdict:6}  {r.rule_id[:28]:28}  {expect:8}  {_one_line(r.text, 70)}")
    without = [rule.id for rule in loaded.rules if not rule.examples.match]
    for rule_id in without:
        click.echo(f"warning: {rule_id} has no examples to match", err=True)
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed", err=True)
    ctx.exit(1 if failed or loaded.problems else 0)


@rules.command("backtest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--since", default="30d", show_default=True, help="How far back: 12h, 30d.")
@click.option("--sample", default=10, show_default=True, help="How many titles to show.")
@click.pass_context
def rules_backtest(ctx: click.Context, file: Path, since: str, sample: int) -> None:
    """Run an edited rule FILE over stored articles; compare it with the live rule."""
    from monitor.rules.backtest import backtest

    config = _config(ctx)
    window = _window(since)
    try:
        candidate = load_rule(file)
    except ConfigError as exc:
        raise Fail(str(exc)) from None
    live = _live_rule(config, candidate.id)
    try:
        engine = make_engine(config.database_url)
        upgrade(engine)
        with session_factory(engine)() as session:
            start = datetime.now(UTC) - window
            total = repo.count_articles(session, start)
            articles = repo.iter_articles(session, start)
            with click.progressbar(
                articles, length=total, label="backtest", file=sys.stderr
            ) as bar:
                report = backtest(bar, candidate, live, sample)
        engine.dispose()
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    _print_backtest(report, candidate.id, since, live)


def _live_rule(config: Config, rule_id: str) -> Rule | None:
    try:
        return next((r for r in load_rules(config.rules_dir).rules if r.id == rule_id), None)
    except ConfigError:
        return None


def _print_backtest(report: BacktestReport, rule_id: str, since: str, live: Rule | None) -> None:
    share = report.hits / report.articles if report.articles else 0.0
    click.echo(
        f"{rule_id}: fires on {report.hits} of {report.articles} articles from the "
        f"last {since} ({share:.1%})"
    )
    for s in report.sample:
        _print_sample(s.article, s.evidence)
    if live is None:
        click.echo("no live rule has this id: everything above would be new")
        return
    click.echo(
        f"compared with the live rule ({live.path}): {report.live_hits} hits live, "
        f"{report.added_count} added, {report.lost_count} lost"
    )
    for s in report.added:
        click.echo("  + added:")
        _print_sample(s.article, s.evidence)
    for article in report.lost:
        click.echo(f"  - lost: {article.fetched_at:%Y-%m-%d} {article.title} ({article.feed})")


def _print_sample(article: StoredArticle, evidence: tuple[Evidence, ...]) -> None:
    click.echo(f"  {article.fetched_at:%Y-%m-%d} {article.title} ({article.feed})")
    for e in evidence[:2]:
        click.echo(f"      {e.term}: {e.snippet}")


def _window(since: str) -> timedelta:
    try:
        return timedelta(seconds=parse_duration(since, bare_unit="h"))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# -- alerts and channels -----------------------------------------------------------------------


@cli.group()
def alerts() -> None:
    """The alert outbox: deliveries, retries, digests."""


@alerts.command("list")
@click.option("--failed", is_flag=True, help="Only deliveries that gave up.")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, failed: bool, limit: int) -> None:
    """Recent deliveries, newest first, with their state and last error."""
    config = _config(ctx)
    with _sessions(config)() as session:
        rows = repo.list_deliveries(session, failed, limit)
    click.echo(f"{'ID':>6}  {'STATUS':8}  {'CHANNEL':12}  {'TRIES':>5}  {'RULE':24}  HEADLINE")
    for d in rows:
        click.echo(
            f"{d.id:>6}  {d.status:8}  {d.channel[:12]:12}  {d.attempts:>5}  "
            f"{d.rule_id[:24]:24}  {_one_line(d.headline, 60)}"
        )
        if d.last_error and d.status != "sent":
            click.echo(f"{'':8}last error: {_one_line(d.last_error, 200)}")
        elif d.reason and d.status in {"digest", "folded", "skipped", "pending"}:
            click.echo(f"{'':8}{d.reason}")
    click.echo(f"{len(rows)} deliveries", err=True)


@alerts.command("retry")
@click.argument("delivery_id", required=False, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Every delivery that gave up.")
@click.pass_context
def alerts_retry(ctx: click.Context, delivery_id: int | None, all_failed: bool) -> None:
    """Queue a failed delivery (ID) or all of them (--failed) again, due now."""
    if (delivery_id is None) == (not all_failed):
        raise click.UsageError("give a delivery ID or --failed")
    with _sessions(_config(ctx)).begin() as session:
        count = repo.retry_deliveries(session, delivery_id)
    if delivery_id is not None and count == 0:
        raise Fail(f"error: no failed delivery with id {delivery_id}")
    click.echo(f"{count} deliveries queued again; `monitor run` sends them", err=True)


@alerts.command("digest")
@click.option("--channel", "names", multiple=True, help="Only these channels.")
@click.pass_context
def alerts_digest(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Send the digests now (what waits for them: digest channels, overflow, copies)."""
    from monitor.app import digest_channels, make_sender
    from monitor.notify.deliver import send_digest
    from monitor.store.models import utcnow

    config = _config(ctx)
    sessions = _sessions(config)
    try:
        sender = make_sender(config, click.echo)
        channels = names or digest_channels(config, sender)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    now = utcnow().replace(microsecond=0)
    for name in channels:
        count = asyncio.run(send_digest(sessions, sender, name, now))
        click.echo(f"{name}: {count or 0} items", err=True)


@cli.group()
def channels() -> None:
    """Alert channels (MONITOR_CHANNEL_<NAME>)."""


@channels.command("test")
@click.argument("name")
@click.pass_context
def channels_test(ctx: click.Context, name: str) -> None:
    """Send a test message to channel NAME and print what it answered."""
    from monitor.app import make_sender

    try:
        answer = make_sender(_config(ctx), click.echo).test(name.lower())
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(f"{name}: {answer}")


def _sessions(config: Config) -> sessionmaker[Session]:
    try:
        engine = make_engine(config.database_url)
        upgrade(engine)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    return session_factory(engine)


# -- db, feeds, hits, settings ----------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to the newest schema."""
    config = _config(ctx)
    try:
        engine = make_engine(config.database_url)
        upgrade(engine)
        engine.dispose()
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo("database is up to date", err=True)


@cli.group()
def feeds() -> None:
    """Feeds and their state."""


@feeds.command("list")
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """Feeds from feeds.yaml with their last poll."""
    config = _config(ctx)
    try:
        configured = load_feeds(config.feeds_path)
        engine = make_engine(config.database_url)
        upgrade(engine)
        with session_factory(engine).begin() as session:
            repo.sync_feeds(session, configured)
            statuses = repo.feed_statuses(session)
        engine.dispose()
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(f"{'NAME':30} {'STATUS':>6} {'ERRORS':>6} {'ARTICLES':>8}  {'LAST CHECK':16}  URL")
    for s in statuses:
        if not s.active:
            continue
        checked = s.last_checked_at.strftime("%Y-%m-%d %H:%M") if s.last_checked_at else "never"
        click.echo(
            f"{s.name[:30]:30} {s.last_status or '-':>6} {s.error_count:>6} "
            f"{s.articles:>8}  {checked:16}  {s.url}"
        )
        if s.last_error:
            click.echo(f"{'':30} last error: {s.last_error}")


@feeds.command("health")
@click.pass_context
def feeds_health(ctx: click.Context) -> None:
    """Each feed's state: ok, failing, down or disabled, with its last error."""
    config = _config(ctx)
    try:
        engine = make_engine(config.database_url)
        upgrade(engine)
        with session_factory(engine).begin() as session:
            repo.sync_feeds(session, load_feeds(config.feeds_path))
            statuses = [s for s in repo.feed_statuses(session) if s.active]
        engine.dispose()
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(
        f"{'NAME':28} {'STATE':9} {'LAST ATTEMPT':16} {'LAST SUCCESS':16} {'HTTP':>4} "
        f"{'ERRORS':>6} {'ITEMS':>6} {'NEXT CHECK':16}"
    )
    for s in statuses:
        click.echo(
            f"{s.name[:28]:28} {_state(s, config.feed_down_after):9} "
            f"{_when(s.last_checked_at):16} {_when(s.last_success_at):16} "
            f"{s.last_status or '-':>4} {s.error_count:>6} {s.items_seen:>6} "
            f"{_when(s.next_check_at) if not s.disabled_reason else '-':16}"
        )
        if s.fetch_url and s.fetch_url != s.url:
            click.echo(f"{'':28} moved permanently to {s.fetch_url}")
        if s.last_warning and not s.last_error:
            click.echo(f"{'':28} read despite: {s.last_warning}")
        if s.disabled_reason or s.last_error:
            click.echo(
                f"{'':28} {'disabled: ' if s.disabled_reason else 'last error: '}"
                f"{s.disabled_reason or s.last_error}"
            )
    down = sum(_state(s, config.feed_down_after) in {"down", "disabled"} for s in statuses)
    click.echo(f"{len(statuses)} feeds, {down} down or disabled", err=True)


def _state(status: repo.FeedStatus, down_after: float) -> str:
    if status.disabled_reason:
        return "disabled"
    if status.down_since is None:
        return "ok" if status.last_checked_at else "new"
    failing_for = (datetime.now(UTC) - status.down_since).total_seconds()
    return "down" if failing_for >= down_after else "failing"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@cli.command()
@click.option("--rule", "rule_id", help="Only hits of this rule id.")
@click.option("--since", default="24h", show_default=True, help="How far back: 90m, 24h, 7d.")
@click.pass_context
def hits(ctx: click.Context, rule_id: str | None, since: str) -> None:
    """Recent rule hits, newest first, with their delivery state."""
    config = _config(ctx)
    window = _window(since)
    try:
        engine = make_engine(config.database_url)
        upgrade(engine)
        with session_factory(engine)() as session:
            found = repo.recent_hits(session, datetime.now(UTC) - window, rule_id)
        engine.dispose()
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    for h in found:
        sent = ", ".join(f"{c}:{s}" for c, s in h.deliveries) or "no channel"
        click.echo(
            f"{h.created_at:%Y-%m-%d %H:%M} [{h.severity.name}] {h.rule_id}: "
            f"{h.headline} ({h.feed})\n    {h.url}\n    alerts: {sent}"
        )
        for e in h.evidence[:3]:
            click.echo(f"    {e.term}: {e.snippet}")
    click.echo(f"{len(found)} hits", err=True)


@cli.command()
def settings() -> None:
    """Every environment setting, as the Markdown table in the README."""
    click.echo("| Variable | Default | Meaning |\n| --- | --- | --- |")
    for s in SETTINGS:
        click.echo(f"| `{s.env}` | {f'`{s.default}`' if s.default else ''} | {s.help} |")
