"""The ``monitor`` command. The only place that reads the environment and the only place
that turns MonitorErrors into messages and exit codes. One module per group of commands."""

from __future__ import annotations

import os
from datetime import timedelta

import click
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Config, parse_duration
from monitor.errors import ConfigError, MonitorError
from monitor.store.db import make_engine, session_factory, upgrade


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


def _window(since: str) -> timedelta:
    try:
        return timedelta(seconds=parse_duration(since, bare_unit="h"))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _sessions(config: Config) -> sessionmaker[Session]:
    try:
        engine = make_engine(config.database_url)
        upgrade(engine)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    return session_factory(engine)
