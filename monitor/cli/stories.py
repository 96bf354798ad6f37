"""`monitor stories explain A B`: whether two stored articles would be one story, and why."""

from __future__ import annotations

import click

from monitor.cli.base import Fail, _config, _sessions, cli
from monitor.errors import MonitorError
from monitor.language.understand import default_understanding
from monitor.notify.settings import load_monitor_file
from monitor.store import repository as repo
from monitor.stories import similarity, unpack
from monitor.stories.embed import embedder
from monitor.stories.link import compare, read


@cli.group()
def stories() -> None:
    """Stories: which reports are one event."""


@stories.command("explain")
@click.argument("first", type=int)
@click.argument("second", type=int)
@click.pass_context
def stories_explain(ctx: click.Context, first: int, second: int) -> None:
    """Would stored articles FIRST and SECOND be one story, and why: their copies'
    similarity, the embedding's cosine, the anchors they share or contradict, and the
    threshold for their languages (monitor.yaml's stories: section)."""
    config = _config(ctx)
    try:
        settings = load_monitor_file(config.config_path, required=config.config_required).stories
        model = embedder(settings.embedder)
    except MonitorError as exc:
        raise Fail(f"error: {exc}") from None
    with _sessions(config)() as session:
        found = {a.id: a for a in repo.articles_by_id(session, [first, second])}
        signatures = repo.signatures(session, [first, second])
    for wanted in (first, second):
        if wanted not in found:
            raise Fail(f"error: no stored article {wanted}")
    a, b = found[first], found[second]
    for article in (a, b):
        click.echo(
            f"{article.id}: {article.title} ({article.feed}, {article.document.language or '?'}, "
            f"story {article.story_id})"
        )
    sig_a, sig_b = signatures.get(first), signatures.get(second)
    copies = similarity(unpack(sig_a), unpack(sig_b)) if sig_a and sig_b else 0.0
    click.echo(f"same wording: {copies:.2f} (copies at {settings.similarity:.2f} or more)")
    if copies >= settings.similarity:
        click.echo("one story: copies of one report")
        return
    if model is None:
        click.echo("not one story: stories.embedder is off, so only copies are linked")
        return
    understanding = default_understanding()
    docs = [understanding.read(x.document) for x in (a, b)]
    link = compare(read(model, docs[0]), read(model, docs[1]), settings.links())
    click.echo(f"across wording and language: {link.why()}")
    click.echo("one story" if link.same else "not one story")
