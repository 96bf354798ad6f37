"""Precision and recall of figures and of places on the labelled sentences in
tests/eval/facts.yaml (English, Russian, Ukrainian, with hard cases), printed; each at
least 0.9."""

from __future__ import annotations

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


def score(found: set[str], wanted: set[str], counts: dict[str, int]) -> None:
    counts["tp"] += len(found & wanted)
    counts["fp"] += len(found - wanted)
    counts["fn"] += len(wanted - found)


def report(name: str, counts: dict[str, int], mistakes: list[str]) -> tuple[float, float]:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
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
    counts, mistakes = {"tp": 0, "fp": 0, "fn": 0}, []
    for item in items():
        found = {figure_key(f) for f in figures.find(item["text"])}
        wanted = set(item.get("figures") or [])
        score(found, wanted, counts)
        if found != wanted:
            mistakes.append(f"{item['text']}: found {sorted(found)}, wanted {sorted(wanted)}")
    precision, recall = report("figures", counts, mistakes)
    assert precision >= MIN and recall >= MIN


def test_places_are_resolved_to_their_entries(finders) -> None:  # type: ignore[no-untyped-def]
    _, places = finders
    counts, mistakes = {"tp": 0, "fp": 0, "fn": 0}, []
    for item in items():
        found = {f"{m.name}/{m.country}" for m in places.find(item["text"])}
        wanted = set(item.get("places") or [])
        score(found, wanted, counts)
        if found != wanted:
            mistakes.append(f"{item['text']}: found {sorted(found)}, wanted {sorted(wanted)}")
    precision, recall = report("places", counts, mistakes)
    assert precision >= MIN and recall >= MIN
