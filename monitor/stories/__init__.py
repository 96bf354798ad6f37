"""Stories: which articles report the same event. The signature and its comparison live
here, below the store, so the store and the pipeline import them and nothing later."""

from monitor.stories.defaults import STORY_SIMILARITY, STORY_WINDOW
from monitor.stories.signature import (
    BANDS,
    Signature,
    as_lanes,
    band_keys,
    pack,
    signature,
    similarity,
    similarity_to_packed,
    unpack,
)

__all__ = [
    "BANDS",
    "STORY_SIMILARITY",
    "STORY_WINDOW",
    "Signature",
    "as_lanes",
    "band_keys",
    "pack",
    "signature",
    "similarity",
    "similarity_to_packed",
    "unpack",
]
