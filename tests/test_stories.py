from monitor.notify.stories import band_keys, pack, signature, similarity, unpack
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
