"""The ``monitor`` command (click). Importing the command modules registers them."""

from monitor.cli import alerts, config, ops, rules, service, stories  # noqa: F401 - registers them
from monitor.cli.base import cli, main

__all__ = ["cli", "main"]
