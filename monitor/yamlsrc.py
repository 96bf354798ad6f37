"""YAML files read safely, with a way back from a data path to a line and column.

Pydantic reports errors by location (``("match", "any", 2)``); operators need
``file:line:column``. We keep the composed node tree beside the data to map one to the other.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from monitor.errors import ConfigError, Problem


@dataclass(frozen=True)
class YamlSource:
    path: Path
    data: Any
    root: yaml.Node | None

    def locate(self, loc: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at ``loc``; of its key when ``key``."""
        node = self.root
        best = (1, 1) if node is None else _mark(node)
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                found = _child_of_mapping(node, part, key and part == loc[-1])
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                found = node.value[part] if 0 <= part < len(node.value) else None
            else:
                found = None
            if found is None:
                break
            node = found
            best = _mark(node)
        return best

    def locate_offset(self, loc: Sequence[str | int], offset: int) -> tuple[int, int]:
        """Line and column of character ``offset`` inside the scalar at ``loc``."""
        line, column = self.locate(loc)
        node = self._node(loc)
        if not isinstance(node, yaml.ScalarNode):
            return line, column
        if node.style in ("|", ">"):
            text = str(node.value)
            before = text[:offset]
            indent = node.end_mark.column if node.end_mark.column else column + 1
            return line + 1 + before.count("\n"), indent + len(before.rsplit("\n", 1)[-1])
        return line, column + offset + (1 if node.style in ("'", '"') else 0)

    def _node(self, loc: Sequence[str | int]) -> yaml.Node | None:
        node = self.root
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                node = _child_of_mapping(node, part, False)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            else:
                return None
        return node

    def problem(self, loc: Sequence[str | int], message: str, *, key: bool = False) -> Problem:
        line, column = self.locate(loc, key=key)
        return Problem(self.path, line, column, message)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _child_of_mapping(node: yaml.MappingNode, part: str | int, want_key: bool) -> yaml.Node | None:
    for key_node, value_node in node.value:
        if key_node.value == str(part):
            found: yaml.Node = key_node if want_key else value_node
            return found
    return None


# libyaml's safe loader where PyYAML was built with it: a feeds.yaml of a thousand feeds
# took over a second to read with the pure-Python one, at every start.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


MAX_DEPTH = 64  # levels of nesting a configuration file may have
MAX_NODES = 1_000_000  # values once aliases are expanded: a feeds.yaml of 50,000 feeds


def _check_shape(path: Path, root: yaml.Node) -> None:
    """Refuse a file nested deeper than ``MAX_DEPTH`` or that grows past ``MAX_NODES``
    values through its aliases (a kilobyte of ``&a [*b, *b, ...]`` is billions), before
    anything walks it as a tree. Aliases are the same node objects, so each is sized once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        kids = _children(node)
        if done:
            visiting.discard(id(node))
            size[id(node)] = 1 + sum(size[id(k)] for k in kids)
            depth[id(node)] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[id(node)] > MAX_NODES or depth[id(node)] > MAX_DEPTH:
                what = "nested too deeply" if depth[id(node)] > MAX_DEPTH else "too large"
                line, column = _mark(node)
                raise ConfigError(
                    Problem(
                        path,
                        line,
                        column,
                        f"{what} (at most {MAX_DEPTH} levels and "
                        f"{MAX_NODES} values, aliases expanded)",
                    )
                )
        elif id(node) not in size:
            if id(node) in visiting:
                line, column = _mark(node)
                raise ConfigError(Problem(path, line, column, "an alias refers to itself"))
            visiting.add(id(node))
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_yaml(path: Path) -> YamlSource:
    """Parse ``path`` with the safe loader; syntax errors become a located ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(Problem(path, 0, 0, f"cannot read: {exc.strerror or exc}")) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(path, 0, 0, f"not UTF-8 text: {exc}")) from exc
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()  # the nodes keep lines and columns, for errors
        if root is not None:
            _check_shape(path, root)
        data = loader.construct_document(root) if root is not None else None
    except RecursionError:
        raise ConfigError(Problem(path, 1, 1, "nested too deeply")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        hint = ESCAPE_HINT if "escape character" in str(exc.problem) else ""
        raise ConfigError(Problem(path, line, col, f"YAML syntax: {exc.problem}{hint}")) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(path, 0, 0, f"YAML: {exc}")) from exc
    finally:
        loader.dispose()
    return YamlSource(path, data, root)


# A regex such as \d in double quotes is a YAML escape; in single quotes it is what it says.
ESCAPE_HINT = (
    " (in double quotes YAML reads backslashes as escapes: write a regex in single quotes, "
    "'re:/\\d+ troops/', or double each backslash)"
)


def validation_problems(
    source: YamlSource,
    error: ValidationError,
    model: type[BaseModel],
    prefix: Sequence[str | int] = (),
) -> list[Problem]:
    """Turn pydantic's errors into located problems, with a did-you-mean for unknown keys."""
    problems = []
    errors = [
        (err, [*prefix, *(p for p in err["loc"] if not _is_union_tag(p))]) for err in error.errors()
    ]
    for err, loc in errors:
        if err["type"] in _WRONG_KIND and any(
            other["type"] not in _WRONG_KIND and other_loc[: len(loc)] == loc
            for other, other_loc in errors
        ):
            continue  # a union member that did not apply; the other member's error says more
        if err["type"] == "extra_forbidden":
            name = str(loc[-1])
            hint = _did_you_mean(name, _field_names(model, err["loc"][:-1]))
            problems.append(source.problem(loc, f"unknown key {name!r}{hint}", key=True))
        else:
            where = ".".join(str(p) for p in loc[len(prefix) :]) or "file"
            problems.append(source.problem(loc, f"{where}: {err['msg']}"))
    return problems


_WRONG_KIND = frozenset({"string_type", "model_type", "dict_type", "list_type"})


def _is_union_tag(part: Any) -> bool:
    # pydantic puts union members' names ("MatchBlock", "str", "constrained-str",
    # "function-after[...]") into loc; our own field names are plain lower-case identifiers.
    return isinstance(part, str) and (
        part[:1].isupper() or not part.isidentifier() or part == "str"
    )


def _field_names(model: type[BaseModel], loc: Iterable[Any]) -> list[str]:
    """Field names of the model found at ``loc`` (through lists, unions and dict values)."""
    import typing

    current: Any = model
    key_next = False  # after a dict[str, Model] field, the next part is a free key
    for part in loc:
        if isinstance(part, int) or _is_union_tag(part) or key_next:
            key_next = False
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        key_next = typing.get_origin(annotation) is dict
        current = next(
            (a for a in typing.get_args(annotation) or (annotation,) if hasattr(a, "model_fields")),
            annotation,
        )
    return list(getattr(current, "model_fields", {}))


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
