"""Rule engine throughput: the engine vs a naive loop of one `re` per rule vs the raw scan
rate of an RE2 set over the same terms (the ceiling). One core, one process.

    .venv/bin/python bench/rules_bench.py [--articles 3000] [--rules 100,1000,10000]

Prints a Markdown table (paste it into the README). Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable, Sequence

import re2

from monitor.entities import Document, Severity
from monitor.rules import compile_rules
from monitor.rules.text import fold, prepare
from monitor.rules.tree import Group, Node, Rule, Term, all_terms, parse_term

LATIN = "abcdefghijklmnopqrstuvwxyz"
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщыьэюяіїє"


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words = set()
    while len(words) < size:
        alphabet = LATIN if rng.random() < 0.5 else CYRILLIC
        words.add("".join(rng.choice(alphabet) for _ in range(rng.randint(4, 11))))
    return sorted(words)


def make_articles(
    rng: random.Random, common: list[str], topical: list[str], count: int
) -> list[Document]:
    """About 560 words (4.5-5 KB); 3% of them topical words, the kind rules are made of."""
    weights = [1 / (rank + 1) for rank in range(len(common))]  # Zipf-like frequencies
    docs = []
    for _ in range(count):
        text_words = rng.choices(common, weights, k=560)
        for i in rng.sample(range(560), 17):
            text_words[i] = rng.choice(topical)
        sentences = [
            " ".join(text_words[i : i + 13]).capitalize() + "."
            for i in range(0, len(text_words), 13)
        ]
        title = [*rng.choices(common, weights, k=8), rng.choice(topical)]
        docs.append(Document(" ".join(title).capitalize(), " ".join(sentences)))
    return docs


def term_text(rng: random.Random, vocab: list[str]) -> str:
    roll = rng.random()
    word = rng.choice(vocab)
    if roll < 0.3:
        return word[: max(4, len(word) - 2)] + "*"
    if roll < 0.4:
        return f'"{word} {rng.choice(vocab)}"'
    return word


def make_rules(rng: random.Random, vocab: list[str], count: int) -> list[Rule]:
    rules = []
    for index in range(count):

        def group(op: str, n: int) -> Group:
            return Group(op, tuple(parse_term(term_text(rng, vocab)) for _ in range(n)))  # type: ignore[arg-type]

        tree: Node = Group(
            "all",
            (group("any", rng.randint(3, 6)), group("any", rng.randint(3, 6)), group("none", 1)),
        )
        rules.append(Rule(f"r{index}", f"Rule {index}", Severity.medium, ("default",), tree))
    return rules


def positive_regex(rule: Rule) -> str:
    def term_rx(term: Term) -> str:
        pattern = term.patterns[0]
        words = [re.escape(w) + (r"\w*" if p else "") for w, p in pattern.parts]
        return r"\b" + r"\W+".join(words) + (r"" if pattern.parts[-1][1] else r"\b")

    assert isinstance(rule.match, Group)
    groups = [g for g in rule.match.children if isinstance(g, Group) and g.op == "any"]
    return "|".join(term_rx(t) for g in groups for t in g.children if isinstance(t, Term))


def literals(rules: Sequence[Rule]) -> set[str]:
    """Every term of every rule as folded text: what a multi-pattern scanner looks for."""
    found = set()
    for rule in rules:
        for term in all_terms(rule.match):
            found.add(" ".join(word for word, _ in term.patterns[0].parts))
    return found


def rate(fn: Callable[[Document], object], docs: Sequence[Document], budget: float) -> float:
    started, done = time.perf_counter(), 0
    for doc in docs:
        fn(doc)
        done += 1
        if time.perf_counter() - started > budget:
            break
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--rules", default="100,1000,10000")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    words = vocabulary(rng, 35_000)
    common, vocab = words[:30_000], words[30_000:]  # rules draw terms from the topical 5,000
    rng.shuffle(common)
    docs = make_articles(rng, common, vocab, args.articles)
    size = sum(len(d.text) for d in docs) / len(docs)
    print(
        f"{len(docs)} articles of {size / 1024:.1f} KB on average (560 words, 3% of them from "
        "the 5,000 topical words rules are made of); one core\n"
    )
    print(
        "| rules | engine (articles/s) | naive `re` per rule | engine / naive "
        "| RE2 set scan of the same terms (ceiling) | engine / ceiling | hits per article |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in (int(c) for c in args.rules.split(",")):
        rules = make_rules(rng, vocab, count)
        matcher = compile_rules(rules)
        hits = sum(len(matcher.match(d)) for d in docs[:200]) / 200
        engine = rate(matcher.match, docs, 20.0)
        naive_rx = [re.compile(positive_regex(r), re.IGNORECASE) for r in rules]
        naive = rate(
            lambda d, naive_rx=naive_rx: [rx.search(d.title + "\n" + d.text) for rx in naive_rx],
            docs[:50],
            10.0,
        )
        options = re2.Options()
        options.max_mem = 2 << 30
        rset = re2.Set.SearchSet(options)
        for literal in sorted(literals(rules)):
            rset.Add(re.escape(literal))
        rset.Compile()
        ceiling = rate(
            lambda d, rset=rset: rset.Match(fold(prepare(d.title + "\n" + d.text))), docs, 10.0
        )
        print(
            f"| {count:,} | {engine:,.0f} | {naive:,.1f} | {engine / naive:,.0f}x "
            f"| {ceiling:,.0f} | {engine / ceiling:.2f} | {hits:.2f} |"
        )


if __name__ == "__main__":
    main()
