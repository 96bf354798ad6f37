"""`monitor rules check|test|backtest`: operators' tools."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from monitor.cli.base import Fail, _config, _one_line, _sessions, _window, cli
from monitor.config import Config
from monitor.entities import Evidence, StoredArticle
from monitor.errors import ConfigError
from monitor.notify.channels import Channels
from monitor.rules import Rule, RuleSet, load_rule, load_rules
from monitor.rules.backtest import BacktestReport
from monitor.store import repository as repo

# -- rules ------------------------------------------------------------------------------------


def _load(ctx: click.Context, target: Path | None) -> RuleSet:
    """Rule files of ``target`` (a directory or one file), default MONITOR_RULES."""
    try:
        return load_rules(target or _config(ctx).rules_dir)
    except ConfigError as exc:
        raise Fail(str(exc)) from None


@cli.group()
def rules() -> None:
    """Operators' tools for rule files."""


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.pass_context
def rules_check(ctx: click.Context, directory: Path | None) -> None:
    """Validate every rule file; print problems as file:line:column: message, then advice on
    words that match only as written (no base form, or unknown to the dictionaries)."""
    from monitor.rules.lint import channel_advice, word_advice

    result = _load(ctx, directory)
    for problem in result.problems:
        click.echo(str(problem))
    channels = Channels(_config(ctx).channels)
    advice = [a for rule in result.rules for a in word_advice(rule)]
    advice += [a for rule in result.rules for a in channel_advice(rule, channels.unknown)]
    for piece in advice:
        click.echo(str(piece))
    click.echo(
        f"{len(result.rules)} rules ok, {len(result.problems)} problems, {len(advice)} warnings",
        err=True,
    )
    ctx.exit(1 if result.problems else 0)


@rules.command("test")
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.pass_context
def rules_test(ctx: click.Context, target: Path | None) -> None:
    """Run every rule's examples (a directory or one file); exit 1 on a failure."""
    from monitor.rules.examples import run_examples

    loaded = _load(ctx, target)
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
    with _sessions(config)() as session:
        start = datetime.now(UTC) - window
        total = repo.count_articles(session, start)
        articles = repo.iter_articles(session, start)
        with click.progressbar(articles, length=total, label="backtest", file=sys.stderr) as bar:
            report = backtest(bar, candidate, live, sample)
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
        f"last {since} ({share:.1%}), {len(report.stories)} stories"
    )
    for s in report.sample:
        _print_sample(s.article, s.evidence)
    if report.near_miss_count:
        click.echo(
            f"near misses: {report.near_miss_count} articles hold some of its terms "
            "but it does not fire on them"
        )
        for article, reasons in report.near_misses:
            click.echo(f"  ~ {article.fetched_at:%Y-%m-%d} {article.title} ({article.feed})")
            for reason in reasons[:2]:
                click.echo(f"      {reason}")
    if live is None:
        click.echo("no live rule has this id: everything above would be new")
        return
    click.echo(
        f"compared with the live rule ({live.path}): {report.live_hits} hits live, "
        f"{report.added_count} added, {report.lost_count} lost; stories: "
        f"{len(report.live_stories)} live, {report.stories_added} added, "
        f"{report.stories_lost} lost"
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
