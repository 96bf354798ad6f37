"""`monitor db`, `monitor feeds`, `monitor hits`."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from monitor.cli.base import Fail, _config, _sessions, _window, cli
from monitor.config import Config
from monitor.config.feeds_file import add_feed, add_feeds, remove_feed
from monitor.config.opml import read_opml, write_opml
from monitor.config.settings import split
from monitor.errors import MonitorError
from monitor.sources import load_feeds
from monitor.sources.adding import addition
from monitor.store import repository as repo
from monitor.store.db import current, head, make_engine, upgrade

# -- db, feeds, hits, settings ----------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to the newest schema (any number of processes may run this at
    once: they take turns)."""
    try:
        before, after = upgrade(make_engine(_config(ctx).database_url))
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    if before == after:
        click.echo(f"database is up to date (revision {after})", err=True)
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}", err=True)


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """The database's schema revision and the one this code needs."""
    try:
        found = current(make_engine(_config(ctx).database_url))
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    newest = head()
    state = "up to date" if found == newest else "run `monitor db upgrade`"
    click.echo(f"database {found or 'empty'}, code {newest}: {state}")
    ctx.exit(0 if found == newest else 1)


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def db_backup(ctx: click.Context, target: Path) -> None:
    """Copy the whole database into the new file TARGET while the service runs (SQLite's
    online backup; pg_dump's custom format for PostgreSQL)."""
    from monitor.store.backup import backup

    try:
        found = backup(_config(ctx).database_url, target)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(
        f"backed up {found.articles} articles, schema {found.revision}, to {target}", err=True
    )


@db.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that holds articles.")
@click.pass_context
def db_restore(ctx: click.Context, source: Path, replace: bool) -> None:
    """Load the backup SOURCE into the configured database (stop the service first). A
    database that holds articles is refused unless --replace."""
    from monitor.store.backup import restore

    try:
        found = restore(_config(ctx).database_url, source, replace)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(f"restored {found.articles} articles, schema {found.revision}", err=True)
    if found.revision != head():
        click.echo(f"run `monitor db upgrade`: this code needs schema {head()}", err=True)


@db.command("stats")
@click.pass_context
def db_stats(ctx: click.Context) -> None:
    """Rows per table, article text kept, deliveries by state, database size."""
    from monitor.store.maintenance import stats

    with _sessions(_config(ctx))() as session:
        found = stats(session)
    for table, count in found.rows.items():
        click.echo(f"{table:16} {count:>10,} rows")
    click.echo(
        f"{'article text':16} {found.text_bytes:>10,} bytes in "
        f"{found.articles_with_text:,} articles"
    )
    span = f"{_when(found.oldest)} .. {_when(found.newest)}"
    click.echo(f"{'articles fetched':16} {span}")
    click.echo(
        f"{'deliveries':16} "
        + (", ".join(f"{k} {v:,}" for k, v in sorted(found.deliveries.items())) or "none")
    )
    if found.database_bytes is not None:
        click.echo(f"{'database':16} {found.database_bytes:>10,} bytes")


@db.command("prune")
@click.pass_context
def db_prune(ctx: click.Context) -> None:
    """Apply MONITOR_RETENTION_DAYS now (the service does it daily at 03:30 UTC)."""
    from monitor.store.maintenance import prune

    config = _config(ctx)
    with _sessions(config).begin() as session:
        count = prune(session, datetime.now(UTC) - timedelta(days=config.retention_days))
    click.echo(
        f"dropped the text of {count} articles older than {config.retention_days:g} days", err=True
    )


@cli.group()
def feeds() -> None:
    """Feeds and their state."""


@feeds.command("list")
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """Feeds from feeds.yaml with their last poll."""
    config = _config(ctx)
    statuses = _synced_statuses(config)
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
    statuses = [s for s in _synced_statuses(config) if s.active]
    now = datetime.now(UTC)
    click.echo(
        f"{'NAME':28} {'STATE':9} {'LAST ATTEMPT':16} {'LAST SUCCESS':16} {'HTTP':>4} "
        f"{'ERRORS':>6} {'ITEMS':>6} {'NEXT CHECK':16}"
    )
    for s in statuses:
        click.echo(
            f"{s.name[:28]:28} {s.state(config.feed_down_after, now):9} "
            f"{_when(s.last_checked_at):16} {_when(s.last_success_at):16} "
            f"{s.last_status or '-':>4} {s.error_count:>6} {s.items_seen:>6} "
            f"{_when(s.next_check_at) if not s.disabled_reason else '-':16}"
        )
        if s.fetch_url and s.fetch_url != s.url:
            click.echo(f"{'':28} moved permanently to {s.fetch_url}")
        if s.last_warning and not s.last_error:
            click.echo(f"{'':28} read despite: {s.last_warning}")
        if s.tallies:
            told = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in s.tallies.items())
            click.echo(f"{'':28} counted: {told}")
        if s.push:
            click.echo(f"{'':28} {s.push}")
        if s.disabled_reason or s.last_error:
            click.echo(
                f"{'':28} {'disabled: ' if s.disabled_reason else 'last error: '}"
                f"{s.disabled_reason or s.last_error}"
            )
    counts = Counter(s.state(config.feed_down_after, now) for s in statuses)
    told = ", ".join(f"{counts[state]} {state}" for state in repo.FEED_STATES if counts[state])
    click.echo(f"{len(statuses)} feeds: {told or 'none'}", err=True)


@feeds.command("sync")
@click.pass_context
def feeds_sync(ctx: click.Context) -> None:
    """Make the feeds table agree with feeds.yaml now (the service does it at start)."""
    config = _config(ctx)
    try:
        configured = load_feeds(config.feeds_path)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    with _sessions(config).begin() as session:
        active = repo.sync_feeds(session, configured)
    click.echo(f"{len(active)} feeds active", err=True)


def _synced_statuses(config: Config) -> list[repo.FeedStatus]:
    """Feed states as the database has them (read only: the service, or `monitor feeds
    sync`, makes the table agree with feeds.yaml)."""
    with _sessions(config)() as session:
        return repo.feed_statuses(session)


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
    with _sessions(config)() as session:
        found = repo.recent_hits(session, datetime.now(UTC) - window, rule_id)
    for h in found:
        sent = ", ".join(f"{c}:{s}" for c, s in h.deliveries) or "no channel"
        click.echo(
            f"{h.created_at:%Y-%m-%d %H:%M} [{h.severity.name}] {h.rule_id}: "
            f"{h.headline} ({h.feed})\n    {h.url}\n    alerts: {sent}"
        )
        for e in h.evidence[:3]:
            click.echo(f"    {e.term}: {e.snippet}")
    click.echo(f"{len(found)} hits", err=True)


@feeds.command("add")
@click.argument("url")
@click.option("--name", help="Default: the site's host name.")
@click.option("--tags", default="", help="Comma-separated tags.")
@click.option("--language", help="The feed's language, a hint (en, ru, uk...).")
@click.option("--interval", help="Poll interval: 5m, 90s, 1h.")
@click.option(
    "--kind",
    type=click.Choice(["rss", "telegram"]),
    help="Default: telegram for a t.me address, else a feed found at URL.",
)
@click.pass_context
def feeds_add(
    ctx: click.Context,
    url: str,
    name: str | None,
    tags: str,
    language: str | None,
    interval: str | None,
    kind: str | None,
) -> None:
    """Find the feed at URL (a feed, or a site whose page advertises one or has one at a
    common path; a Telegram channel's t.me address), poll it once, and add it to
    feeds.yaml keeping the file's comments."""
    config = _config(ctx)
    try:
        added = asyncio.run(
            addition(
                url,
                config.fetch,
                name=name,
                tags=split(tags),
                language=language,
                interval=interval,
                kind=kind,
            )
        )
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    entry, found = added.entry, added.found
    try:
        add_feed(config.feeds_path, entry)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    via = f" (found from {url})" if found.url != url else ""
    click.echo(f"added {entry['name']!r}: {found.url}{via}, {found.items} items now")
    click.echo("`monitor feeds sync` or the service's next start takes it up", err=True)


@feeds.command("remove")
@click.argument("name")
@click.pass_context
def feeds_remove(ctx: click.Context, name: str) -> None:
    """Take the feed NAME out of feeds.yaml (its stored articles stay)."""
    try:
        url = remove_feed(_config(ctx).feeds_path, name)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(f"removed {name!r} ({url}); its articles and hits stay")


@feeds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def feeds_import(ctx: click.Context, file: Path) -> None:
    """Add the feeds of an OPML file (another reader's export) to feeds.yaml; its folders
    become tags; names or URLs already there are left out and said."""
    path = _config(ctx).feeds_path
    try:
        added, skipped = add_feeds(path, read_opml(file))
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    for reason in skipped:
        click.echo(f"left out: {reason}", err=True)
    click.echo(f"{len(added)} feeds added to {path}, {len(skipped)} left out")


@feeds.command("export")
@click.pass_context
def feeds_export(ctx: click.Context) -> None:
    """feeds.yaml as OPML on standard output (tags as categories), for another reader."""
    try:
        configured = load_feeds(_config(ctx).feeds_path)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(write_opml(configured), nl=False)
