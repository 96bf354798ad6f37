"""Anchors: names reduced to skeletons that survive transliteration and inflection,
figures and numbers that read the same in every language."""

from monitor.entities import Facts, Figure
from monitor.stories.anchors import Anchors, anchors, names_in, numbers_in, skeleton


def test_a_name_has_one_skeleton_in_english_russian_and_ukrainian_and_in_its_cases():
    assert {skeleton(w) for w in ("Lukashenko", "Лукашенко", "Лукашенка")} == {"lksn"}
    assert {skeleton(w) for w in ("Brest", "Бреста", "Брестском", "Brestsky")} == {"brst"}
    assert {skeleton(w) for w in ("Iskander", "Искандер", "Іскандер")} == {"sknd"}
    assert {skeleton(w) for w in ("Oreshnik", "Орешник", "Орєшнік")} == {"rsnk"}
    assert {skeleton(w) for w in ("Poczobut", "Почобут")} == {"pcbt"}
    assert {skeleton(w) for w in ("Gomel", "Гомеля", "Homyel")} == {"hml"}
    assert skeleton("Grodno") != skeleton("Brest")


def test_names_are_capitalised_words_inside_a_sentence_and_a_headlines_first_word():
    assert names_in("Satellite images show launchers near Asipovichy.") == {"spvc"}
    assert names_in("Oreshnik on duty in Belarus, Lukashenko claims", headline=True) == {"rsnk"}
    # the beat's own names and the calendar say nothing about the event
    assert names_in("Units of Belarus and Russia moved on Monday in November.") == set()


def test_numbers_in_digits_count_but_not_years_or_small_ones():
    assert numbers_in("300 prisoners, 20% more, 2020 protests, 2 jets, S-400") == {
        "#300",
        "#20%",
        "#400",
    }
    assert numbers_in("9,000 troops and 13 000 more") == {"#9000", "#13000"}


def figure(value: float, unit: str = "troops") -> Figure:
    return Figure(value, unit, "people", False, "text", 0, 1)


def test_figures_that_contradict_are_a_conflict_and_a_shared_value_is_not():
    nine = anchors("Drill near Brest", "", Facts(figures=(figure(9000),)))
    thirteen = anchors("Drill near Brest", "", Facts(figures=(figure(13000),)))
    both = anchors("Drill", "", Facts(figures=(figure(9000), figure(2000))))
    assert nine.conflicts(thirteen) == ["troops"]
    assert nine.conflicts(both) == []
    assert "troops:9000" in nine.shared(both)
    assert "=brst" in nine.shared(thirteen)


def test_anchors_survive_a_round_trip_through_storage():
    a = anchors("Russia moves Iskander to Belarus", "9,000 troops", None)
    assert Anchors.from_list(a.as_list()) == a
