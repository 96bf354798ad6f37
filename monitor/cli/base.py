"""The ``monitor`` command. The only place that reads the environment and the only place
that turns MonitorErrors into messages and exit codes. One module per group of commands."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Config, parse_duration
from monitor.config.settings import unknown_settings
from monitor.errors import ConfigError, MonitorError
from monitor.store.db import make_engine, require_current, session_factory


class Fail(click.ClickException):
    """A domain error shown as ``error: ...`` with exit code 1."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        # click would put "Error: " before our own "error: ..."
        click.echo(self.format_message(), err=True)


def _config(ctx: click.Context) -> Config:
    config = ctx.find_object(Config)
    if config is None:
        raise click.UsageError("configuration missing")
    return config


@click.group()
@click.version_option(package_name="monitor", prog_name="monitor")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """News monitoring with alerts: poll feeds, match rules, alert channels."""
    try:
        ctx.obj = Config.from_env(os.environ)
    except ConfigError as exc:
        raise Fail(f"error: {exc}") from None
    for warning in unknown_settings(os.environ):
        click.echo(warning, err=True)


def main() -> None:
    cli(prog_name="monitor")


def _window(since: str) -> timedelta:
    try:
        return timedelta(seconds=parse_duration(since, bare_unit="h"))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _sessions(config: Config) -> sessionmaker[Session]:
    """The database for a command that is not the service: it never migrates (only
    `monitor db upgrade` and `monitor run` do), and refuses a schema older than the code."""
    try:
        engine = make_engine(config.database_url)
        require_current(engine)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    return session_factory(engine)
