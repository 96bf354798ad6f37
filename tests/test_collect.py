import gc
import weakref

from monitor.collect import OLDER_THRESHOLDS, YOUNG_THRESHOLD, collect_less


class _Node:
    me: object


def test_after_start_up_its_objects_stay_out_of_collections_and_young_ones_wait_longer() -> None:
    before = gc.get_threshold()
    try:
        collect_less()
        frozen = gc.get_freeze_count()
        threshold = gc.get_threshold()
        made_later = _Node()
        made_later.me = made_later  # a cycle: only the collector frees it
        ref = weakref.ref(made_later)
        del made_later
        gc.collect()
        collected = ref() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)

    assert frozen > 1000  # the modules' objects, this test run's included
    assert threshold == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    assert collected, "garbage made after start-up is still collected"
