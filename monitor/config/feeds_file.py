"""Editing feeds.yaml as text, so that its comments, order and layout stay as the operator
wrote them: a feed is added as a block at the end of the list, removed as the lines of its
own entry. Every edit is checked by reading the result as the service would, and written
only if it reads (atomically: a reader never sees half a file)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from monitor.config.feeds import FeedConfig, load_feeds
from monitor.errors import ConfigError
from monitor.yamlsrc import read_yaml


def _entries(path: Path) -> tuple[list[FeedConfig], tuple[str, ...]]:
    """The feeds, and where their list is in the file (under ``feeds:`` or the top)."""
    feeds = _plain_load(path)
    prefix: tuple[str, ...] = ("feeds",) if isinstance(read_yaml(path).data, dict) else ()
    return feeds, prefix


def _plain_load(path: Path) -> list[FeedConfig]:
    """The feeds with whatever kinds they name (the caller checks kinds)."""
    data = read_yaml(path).data
    items = data.get("feeds") if isinstance(data, dict) else data
    kinds = {str(i.get("kind", "rss")) for i in items or [] if isinstance(i, dict)}
    return load_feeds(path, kinds=kinds or {"rss"})


def add_feed(path: Path, entry: Mapping[str, object]) -> None:
    """Append ``entry`` (name, url, and any other field of a feed) to the list; a name or
    URL already there is an error."""
    _, skipped = add_feeds(path, [entry])
    if skipped:
        raise ConfigError(f"{path}: {skipped[0]}")


def add_feeds(path: Path, entries: Sequence[Mapping[str, object]]) -> tuple[list[str], list[str]]:
    """Append the entries whose name and URL are new, in one checked write: the names
    added, and why each other one was left out."""
    feeds, prefix = _entries(path)
    names, urls = {f.name for f in feeds}, {f.url: f.name for f in feeds}
    added, skipped, blocks = [], [], []
    text = path.read_text(encoding="utf-8")
    indent = _item_indent(text, prefix)
    for entry in entries:
        name, url = str(entry["name"]), str(entry["url"])
        if name in names:
            skipped.append(f"a feed named {name!r} is there already")
        elif url in urls:
            skipped.append(f"{url} is there already, as {urls[url]!r}")
        else:
            pairs = [_pair(k, v) for k, v in entry.items()]
            blocks.append(f"{indent}- " + f"\n{indent}  ".join(pairs))
            names.add(name)
            urls[url] = name
            added.append(name)
    if blocks:
        _write_checked(path, text.rstrip("\n") + "\n" + "\n".join(blocks) + "\n")
    return added, skipped


def remove_feed(path: Path, name: str) -> str:
    """Take the feed named ``name`` out of the list; its URL is returned."""
    feeds, prefix = _entries(path)
    index = next((i for i, f in enumerate(feeds) if f.name == name), None)
    if index is None:
        raise ConfigError(f"{path}: no feed named {name!r}")
    if len(feeds) == 1:
        raise ConfigError(f"{path}: {name!r} is the only feed; a feeds file needs one")
    source = read_yaml(path)
    start, _ = source.locate((*prefix, index))
    end = source.locate((*prefix, index + 1))[0] if index + 1 < len(feeds) else None
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = start - 1
    last = (end - 1) if end is not None else _end_of_item(lines, first)
    while last > first + 1 and (not lines[last - 1].strip() or _comment(lines[last - 1])):
        last -= 1  # comments and blank lines before the next entry are the next entry's
    _write_checked(path, "".join(lines[:first] + lines[last:]))
    return feeds[index].url


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _end_of_item(lines: list[str], first: int) -> int:
    """Where the last item ends: the first later line indented no deeper than its dash."""
    depth = len(lines[first]) - len(lines[first].lstrip())
    for i in range(first + 1, len(lines)):
        stripped = lines[i].strip()
        outdented = len(lines[i]) - len(lines[i].lstrip()) <= depth
        if stripped and outdented and not stripped.startswith("#"):
            return i
    return len(lines)


def _item_indent(text: str, prefix: tuple[str, ...]) -> str:
    """The indentation of the list's dashes, as the file has it."""
    for line in reversed(text.splitlines()):
        if line.lstrip().startswith("- "):
            return line[: len(line) - len(line.lstrip())]
    return "  " if prefix else ""


def _pair(key: str, value: object) -> str:
    # JSON's strings and lists are YAML: quoting by JSON keeps any name or URL literal.
    return f"{key}: {json.dumps(value, ensure_ascii=False)}"


def _write_checked(path: Path, text: str) -> None:
    folder = path.parent
    handle, temporary = tempfile.mkstemp(prefix=".feeds-", suffix=".yaml", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        _plain_load(Path(temporary))  # reads as the service would, or raises
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
