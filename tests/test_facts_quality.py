"""Precision and recall of figures and of places on the labelled sentences in
tests/eval/facts.yaml (English, Russian, Ukrainian, with hard cases), printed; each at
least 0.9."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from monitor.language.figures import Figure, figure_finder
from monitor.language.places import place_finder
from tests.conftest import REPO

MIN = 0.9


def items() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load(
        (REPO / "tests" / "eval" / "facts.yaml").read_text("utf-8")
    )
    return loaded


def figure_key(f: Figure) -> str:
    value = f"{f.value:.0f}" if f.value == int(f.value) else f"{f.value:g}"
    return f"{'~' if f.approximate else ''}{value} {f.unit}"


def measure(name: str, label: str, found_in: Callable[[str], set[str]]) -> tuple[float, float]:
    """Precision and recall of ``found_in`` against the items' ``label``, printed."""
    tp = fp = fn = 0
    mistakes = []
    for item in items():
        found, wanted = found_in(item["text"]), set(item.get(label) or [])
        tp, fp, fn = tp + len(found & wanted), fp + len(found - wanted), fn + len(wanted - found)
        if found != wanted:
            mistakes.append(f"{item['text']}: found {sorted(found)}, wanted {sorted(wanted)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"\n{name:8} tp {tp:3} fp {fp:3} fn {fn:3} precision {precision:.2f} recall {recall:.2f}")
    for line in mistakes:
        print("   ", line)
    return precision, recall


def test_the_set_is_large_and_trilingual() -> None:
    loaded = items()
    assert len(loaded) >= 150
    assert {i["lang"] for i in loaded} == {"en", "ru", "uk"}
    assert sum(1 for i in loaded if i.get("figures")) >= 60
    assert sum(1 for i in loaded if i.get("places")) >= 80
    assert sum(1 for i in loaded if not i.get("figures") and not i.get("places")) >= 8


@pytest.fixture(scope="module")
def finders():  # type: ignore[no-untyped-def]
    return figure_finder(), place_finder()


def test_figures_are_found_with_their_values_and_units(finders) -> None:  # type: ignore[no-untyped-def]
    figures, _ = finders
    precision, recall = measure(
        "figures", "figures", lambda text: {figure_key(f) for f in figures.find(text)}
    )
    assert precision >= MIN and recall >= MIN


def test_places_are_resolved_to_their_entries(finders) -> None:  # type: ignore[no-untyped-def]
    _, places = finders
    precision, recall = measure(
        "places", "places", lambda text: {f"{m.name}/{m.country}" for m in places.find(text)}
    )
    assert precision >= MIN and recall >= MIN
