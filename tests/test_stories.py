import random

import pytest

from monitor.stories import (
    as_lanes,
    band_keys,
    pack,
    signature,
    similarity,
    similarity_to_packed,
    unpack,
)
from tests.content import QUIET_TEXT, TROOPS_TEXT

WIRE = " ".join(TROOPS_TEXT)


def test_copies_of_one_story_are_similar_and_other_stories_are_not() -> None:
    a = signature("Belarus moves brigades to the border", WIRE)
    b = signature("REUTERS: Belarus moves two brigades to border", f"By staff. {WIRE} More.")
    c = signature("Library budget approved", " ".join(QUIET_TEXT))
    assert similarity(a, b) >= 0.5 and similarity(a, c) < 0.1
    assert set(band_keys(a)) & set(band_keys(b))  # found as candidates
    assert not set(band_keys(a)) & set(band_keys(c))


def test_signatures_are_stable_and_round_trip() -> None:
    sig = signature("Title", WIRE)
    assert sig == signature("Title", WIRE)  # same in every process: fixed parameters
    assert unpack(pack(sig)) == sig and len(band_keys(sig)) == 20
    assert signature("ТРОЙКА", "") == signature("тройка", "")  # folded like rule text


def test_similarity_to_a_packed_signature_is_similarity() -> None:
    """Lane arithmetic against plain comparison: random signatures agreeing in a random
    number of places, values across the whole 64-bit range (top bit alone, low bits alone,
    equal but for one bit)."""
    rng = random.Random(7)
    for _ in range(2000):
        a = tuple(
            rng.choice([0, 1, 1 << 63, (1 << 64) - 1, rng.getrandbits(64)]) for _ in range(60)
        )
        b = tuple(
            x
            if rng.random() < rng.random()
            else rng.choice([x ^ (1 << rng.randrange(64)), rng.getrandbits(64)])
            for x in a
        )
        assert similarity_to_packed(as_lanes(a), pack(b)) == similarity(a, b)
    sig = signature("Title", WIRE)
    assert similarity_to_packed(as_lanes(sig), pack(sig)) == 1.0
    with pytest.raises(ValueError, match="different lengths"):
        similarity_to_packed(as_lanes(sig), pack(sig)[:-8])
    short = (1, 2, 3)  # any length, as similarity takes
    assert similarity_to_packed(as_lanes(short), pack((1, 5, 3))) == similarity(short, (1, 5, 3))
