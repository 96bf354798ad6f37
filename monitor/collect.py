"""Garbage collection for long-running processes (the service and its extraction workers).

What start-up builds (modules, the compiled rules, the clients, trafilatura's and lxml's
own objects) lives as long as the process, so it is moved out of the collector's way: a
full collection otherwise walks every one of those objects each time. And a cycle
allocates and frees objects by the million, nearly all freed by reference counting alone,
so young collections run every ``YOUNG_THRESHOLD`` allocations instead of Python's 700,
which would spend the CPU walking objects that are about to be freed anyway.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)
YOUNG_THRESHOLD = 20_000  # container objects allocated, less those freed, between collections
OLDER_THRESHOLDS = (20, 10)  # young collections per middle one, middle ones per full one


def collect_less() -> None:
    """Call once start-up is done."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    log.debug("start-up done: %d objects kept out of garbage collection", gc.get_freeze_count())
