"""The ``monitor`` command (click). Importing the command modules registers them."""

from monitor.cli import alerts, ops, rules, service  # noqa: F401 - registers the commands
from monitor.cli.base import cli, main

__all__ = ["cli", "main"]
