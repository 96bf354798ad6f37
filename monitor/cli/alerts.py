"""`monitor alerts` and `monitor channels`: the outbox and the channels."""

from __future__ import annotations

import asyncio

import click

from monitor.cli.base import Fail, _config, _one_line, _sessions, cli
from monitor.errors import MonitorError
from monitor.store import repository as repo

# -- alerts and channels -----------------------------------------------------------------------


@cli.group()
def alerts() -> None:
    """The alert outbox: deliveries, retries, digests."""


@alerts.command("list")
@click.option(
    "--waiting", is_flag=True, help="Only what is not delivered yet (as the Alerts page)."
)
@click.option("--failed", is_flag=True, help="Only deliveries that gave up.")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, waiting: bool, failed: bool, limit: int) -> None:
    """Recent deliveries, newest first, with where each is and the last answer."""
    config = _config(ctx)
    view = "waiting" if waiting else "failed" if failed else "all"
    with _sessions(config)() as session:
        rows = repo.list_deliveries(session, limit=limit, view=view)
    click.echo(f"{'ID':>6}  {'STATUS':8}  {'CHANNEL':12}  {'TRIES':>5}  {'RULE':24}  HEADLINE")
    for d in rows:
        click.echo(
            f"{d.id:>6}  {d.status:8}  {d.channel[:12]:12}  {d.attempts:>5}  "
            f"{d.rule_id[:24]:24}  {_one_line(d.headline, 60)}"
        )
        if d.status != "sent" or d.in_digest:
            click.echo(f"{'':8}{d.state}")
        if d.last_error and d.status != "sent":
            click.echo(f"{'':8}last answer: {_one_line(d.last_error, 200)}")
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
    from monitor.notify.digest import send_digest
    from monitor.service.app import digest_channels, make_sender
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
    from monitor.service.app import make_sender

    try:
        answer = make_sender(_config(ctx), click.echo).test(name.lower())
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    click.echo(f"{name}: {answer}")
