"""Helpers of the vectorised audit batches: parameter columns drawn from the range table
(:data:`kdtheory.sampling.RANGES`) as arrays, and the lazy per-case records of such a batch."""

from __future__ import annotations

import numpy as np

from .engine import LazyRecords
from .gaussian_cases import _draw

__all__ = ["ColumnRecords", "draw_column"]


def draw_column(rng: np.random.Generator, name: str, size: int, ranges=None) -> np.ndarray:
    """``size`` independent draws from ``RANGES[name]`` (the law of :meth:`Range.draw`)."""
    return _draw(rng, name, size, ranges)


class ColumnRecords(LazyRecords):
    """Per-case parameter records of an array batch built on access (no 1e5 dicts up front):
    record ``i`` is ``{name: column[i]}`` (Python ``int``/``float``/``str``; a NaN entry, a
    parameter case ``i`` does not have, is left out), plus the constant entries ``const``."""

    def __init__(self, columns: dict[str, np.ndarray], const: dict | None = None):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns must have one common length, got lengths {sorted(lengths)}")
        self._columns = columns
        self._const = dict(const or {})
        self._size = lengths.pop()

    def _record(self, i: int) -> dict:
        rec = {k: v[i].item() for k, v in self._columns.items()}
        return {**self._const, **{k: x for k, x in rec.items() if x == x}}  # x != x: NaN
