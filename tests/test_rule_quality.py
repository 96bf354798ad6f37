"""Precision, recall and F1 of every shipped rule on the labelled set in tests/eval/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from monitor.entities import Document
from monitor.extract import extract_page
from monitor.rules import compile_rules, load_rules
from tests.conftest import REPO
from tests.content import page_with_extras

ALIASES = {
    "tm": "troop-movements",
    "bb": "belarus-border-activity",
    "mob": "mobilisation",
    "rfb": "russian-forces-in-belarus",
    "nuc": "nuclear-weapons-belarus",
    "air": "air-incidents-near-belarus",
}
MIN_F1 = 0.9


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def document(item: dict[str, Any]) -> Document:
    if "sidebar" in item or "comments" in item:
        html = page_with_extras(
            item["title"], item["text"], item.get("sidebar", []), item.get("comments", [])
        )
        page = extract_page(html, "https://news.example.org/a/1")
        assert page is not None
        return Document(page.title, page.text, item["lang"])
    return Document(item["title"], item["text"], item["lang"])


@pytest.fixture(scope="module")
def evaluation() -> tuple[dict[str, Score], list[str]]:
    items = yaml.safe_load((REPO / "tests" / "eval" / "articles.yaml").read_text("utf-8"))
    matcher = compile_rules(load_rules(REPO / "rules").rules)
    scores = {rule: Score() for rule in ALIASES.values()}
    mistakes = []
    for item in items:
        expected = {ALIASES[label] for label in item["labels"]}
        fired = {hit.rule_id for hit in matcher.match(document(item))}
        for rule, score in scores.items():
            if rule in expected and rule in fired:
                score.tp += 1
            elif rule in fired:
                score.fp += 1
                mistakes.append(f"false positive {rule}: {item['title']}")
            elif rule in expected:
                score.fn += 1
                mistakes.append(f"missed {rule}: {item['title']}")
    return scores, mistakes


def test_evaluation_set_is_large_and_multilingual() -> None:
    items = yaml.safe_load((REPO / "tests" / "eval" / "articles.yaml").read_text("utf-8"))
    assert len(items) >= 80
    assert {i["lang"] for i in items} == {"en", "ru", "uk"}
    assert sum(1 for i in items if not i["labels"]) >= 30  # hard negatives
    for alias in ALIASES:
        assert sum(alias in i["labels"] for i in items) >= 8, alias


def test_every_shipped_rule_reaches_f1(evaluation: tuple[dict[str, Score], list[str]]) -> None:
    scores, mistakes = evaluation
    table = [f"{'rule':28} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>6} {'F1':>5}"]
    for rule, s in scores.items():
        table.append(
            f"{rule:28} {s.tp:>3} {s.fp:>3} {s.fn:>3} {s.precision:>9.2f} "
            f"{s.recall:>6.2f} {s.f1:>5.2f}"
        )
    report = "\n".join(table + mistakes)
    print("\n" + report)
    low = [rule for rule, s in scores.items() if s.f1 < MIN_F1]
    assert not low, f"F1 below {MIN_F1} for {low}\n{report}"
