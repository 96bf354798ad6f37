"""``monitor config check``: the effective configuration with its secrets masked, and every
file, channel and language it names checked as ``monitor run`` checks them at start, with
nothing started and no database opened."""

from __future__ import annotations

import os

import click

from monitor.cli.base import _config, cli
from monitor.config import Config
from monitor.config.effective import effective_settings
from monitor.errors import ConfigError
from monitor.language import LanguageIdentifier
from monitor.notify.channels import Channels
from monitor.notify.settings import load_monitor_file
from monitor.rules import load_rules
from monitor.sources import load_feeds


@cli.group("config")
def config_group() -> None:
    """The configuration the service would run with."""


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Print every setting's effective value (secrets masked) and where it came from, then
    check feeds.yaml, the rules, monitor.yaml, the channel URLs and the languages. Exit 1
    with every problem listed, 0 when the service would start."""
    config = _config(ctx)
    rows = effective_settings(os.environ)
    width = max(len(variable) for variable, _, _ in rows)
    for variable, value, source in rows:
        click.echo(f"{variable:{width}}  {value}  ({source})")
    problems, summary = _problems(config)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        ctx.exit(1)
    click.echo(summary, err=True)


def _problems(config: Config) -> tuple[list[str], str]:
    problems: list[str] = []
    feeds = rules = 0
    try:
        feeds = len(load_feeds(config.feeds_path))
    except ConfigError as exc:
        problems.append(str(exc))
    try:
        loaded = load_rules(config.rules_dir)
        rules = len(loaded.rules)
        problems += [str(p) for p in loaded.problems]
    except ConfigError as exc:
        problems.append(str(exc))
    for check in (
        lambda: load_monitor_file(config.config_path, required=config.config_required),
        lambda: Channels(config.channels).check(),
        lambda: LanguageIdentifier(config.languages),
    ):
        try:
            check()
        except ConfigError as exc:
            problems.append(str(exc))
    channels = len(config.channels) or "no (alerts go to standard output)"
    return problems, f"configuration ok: {feeds} feeds, {rules} rules, {channels} channels"
