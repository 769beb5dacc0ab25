"""Adversarial search for a counterexample to any statement (THEORY §8 method, any model family).

A :class:`SearchSpace` is a box of named coordinates, each with a :class:`~kdtheory.sampling.Range`
(uniform, log-uniform or integer), optional *pinned* values, and a ``build(point) -> values``
map from a point to the values of a theorem's symbols (``ValueError`` for a point outside the
model's domain).  :func:`search_counterexample` runs scipy's differential evolution on the box,
maximising the statement's ratio ``(lhs - ref)/(rhs - ref)`` computed by
:meth:`~kdtheory.theorems.Theorem.evaluate`, and *shrinks* the best violating point: its
parameters are rounded to 1, 2, ... significant digits (integers stay integers), the first
rounding that still violates is kept, then each coordinate is tried alone at a simpler value.
Nothing is taken on trust: the caller re-verifies the counterexample.

A space may also have ``build_batch(points) -> [values or None, ...]``, the same map for a list
of points (``None`` where ``build`` raises), free to compute what is costly for all of them at
once (issue 15 item 6: N5's root ``eta_c`` by one vectorised bisection).  The search then runs
scipy's ``differential_evolution(vectorized=True, updating="deferred")``: each generation is one
call of ``build_batch`` and one :meth:`~kdtheory.theorems.Theorem.evaluate` of the whole
population, and shrinking tries its candidates as batches too (the first candidate that still
violates, as one by one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .sampling import RANGES, Range
from .symbols import short_repr

__all__ = [
    "SearchSpace",
    "admissible_values",
    "search_counterexample",
    "round_significant",
    "RATIO_CAP",
]

#: the searched objective is the ratio clipped to [-RATIO_CAP, RATIO_CAP]: any clear violation is
#: as good as another, which keeps the reported counterexample moderate (finite lhs and rhs)
RATIO_CAP = 10.0
#: objective value of an invalid point (outside a model's domain): never a counterexample
_INVALID = 1e3


def as_range(name: str, spec) -> Range:
    """A coordinate's range from ``spec``: a :class:`Range`, a key of
    :data:`kdtheory.sampling.RANGES`, or ``(low, high)`` / ``(low, high, "log")`` /
    ``(low, high, "int")``; ``ValueError``/``TypeError`` naming the coordinate otherwise."""
    if isinstance(spec, Range):
        r = spec
    elif isinstance(spec, str):
        if spec not in RANGES:
            raise ValueError(
                f"coordinate {name!r}: unknown range {spec!r}; known: {sorted(RANGES)}"
            )
        r = RANGES[spec]
    elif isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        kind = spec[2] if len(spec) == 3 else "linear"
        if kind not in ("linear", "log", "int"):
            raise ValueError(
                f"coordinate {name!r}: the third entry must be 'log' or 'int', got {kind!r}"
            )
        try:
            low, high = float(spec[0]), float(spec[1])
        except (TypeError, ValueError):
            raise TypeError(
                f"coordinate {name!r}: range ends must be numbers, got {short_repr(spec)}"
            ) from None
        r = Range(low, high, log=kind == "log", integer=kind == "int")
    else:
        raise TypeError(
            f"coordinate {name!r}: expected a Range, a RANGES key or (low, high[, 'log'|'int']), "
            f"got {short_repr(spec)}"
        )
    if not (math.isfinite(r.low) and math.isfinite(r.high) and r.low <= r.high):
        raise ValueError(f"coordinate {name!r}: need finite low <= high, got {r.low}, {r.high}")
    if r.log and r.low <= 0:
        raise ValueError(f"coordinate {name!r}: a log range needs low > 0, got {r.low}")
    return r


@dataclass(frozen=True, init=False)
class SearchSpace:
    """Named coordinates with ranges, pinned values and the value builder (module doc).

    ``coords`` is a mapping ``name -> range spec`` (see :func:`as_range`), or a sequence of
    ``(name, RANGES key)`` pairs; ``pinned`` fixes coordinates (they are not searched);
    ``build(point) -> {symbol: value}``.
    """

    coords: tuple[tuple[str, Range], ...]
    build: Callable[[dict], dict]
    pinned: tuple[tuple[str, object], ...]
    build_batch: Callable[[list], list] | None

    def __init__(
        self,
        coords,
        build: Callable[[dict], dict],
        pinned: Mapping | None = None,
        build_batch: Callable[[list], list] | None = None,
    ):
        items = coords.items() if isinstance(coords, Mapping) else coords
        pairs = tuple((str(k), as_range(str(k), spec)) for k, spec in items)
        if not pairs and not pinned:
            raise ValueError("a search space needs at least one coordinate")
        for label, fn in (("build", build), ("build_batch", build_batch)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{label} must be callable, got {type(fn).__name__}")
        if build is None:
            raise TypeError("build must be callable, got NoneType")
        pinned = dict(pinned or {})
        both = sorted(set(pinned) & {k for k, _ in pairs})
        if both:
            raise ValueError(f"coordinates {both} are both searched and pinned")
        object.__setattr__(self, "coords", pairs)
        object.__setattr__(self, "build", build)
        object.__setattr__(self, "pinned", tuple(pinned.items()))
        object.__setattr__(self, "build_batch", build_batch)

    def with_ranges(
        self, ranges: Mapping | None = None, pinned: Mapping | None = None, extra=frozenset()
    ):
        """A copy with some coordinates' ranges replaced (``ranges``) or fixed (``pinned``);
        names in ``extra`` (e.g. a statement's own parameters) may be added as new coordinates;
        ``KeyError`` names any other coordinate the space does not have."""
        ranges, pinned = dict(ranges or {}), dict(pinned or {})
        known = {k for k, _ in self.coords} | dict(self.pinned).keys()
        unknown = sorted((set(ranges) | set(pinned)) - known - set(extra))
        if unknown:
            raise KeyError(
                f"unknown coordinate(s) {unknown}; this space has {sorted(known)}"
                + (f" and the statement's own {sorted(extra)}" if extra else "")
            )
        coords = {k: ranges.get(k, r) for k, r in self.coords if k not in pinned}
        coords.update({k: v for k, v in ranges.items() if k not in coords and k not in pinned})
        fixed = {k: v for k, v in self.pinned if k not in ranges}
        return SearchSpace(coords, self.build, {**fixed, **pinned}, self.build_batch)

    def ranges(self) -> list[Range]:
        return [r for _, r in self.coords]

    def bounds(self) -> list[tuple[float, float]]:
        return [
            (math.log(r.low), math.log(r.high)) if r.log else (r.low, r.high) for r in self.ranges()
        ]

    def point(self, x) -> dict:
        """The parameter point (pinned values included) of a search vector ``x``."""
        out = dict(self.pinned)
        for (name, r), xi in zip(self.coords, x, strict=True):
            out[name] = int(round(xi)) if r.integer else float(math.exp(xi) if r.log else xi)
        return out

    def draw(self, rng: np.random.Generator) -> dict:
        """A random point: each coordinate from its range (log-uniform where the range is)."""
        return {**dict(self.pinned), **{name: r.draw(rng) for name, r in self.coords}}


def round_significant(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant digits (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(round(x, digits - 1 - int(math.floor(math.log10(abs(x))))))


def _ratio(thm, values: dict) -> tuple[float, bool]:
    ev = thm.evaluate(**values)
    return float(ev.ratio), not ev.all_hold


def admissible_values(space: SearchSpace, admissible=None):
    """``values_at(point)``: ``space.build(point)``, raising ``ValueError`` (an invalid point,
    never a counterexample) where ``admissible(point, values)`` says an assumption is not met.
    ``values_at.batch(points) -> [values or None, ...]`` does the same for a list of points
    (``None`` for an invalid or inadmissible one) through ``space.build_batch`` when the space
    has one, else point by point."""

    def values_at(point):
        values = space.build(point)
        if admissible is not None and not admissible(point, values):
            raise ValueError("assumption not met")
        return values

    def batch(points: list) -> list:
        if space.build_batch is None:
            out = []
            for point in points:
                try:
                    out.append(values_at(point))
                except ValueError:
                    out.append(None)
            return out
        built = space.build_batch(points)
        return [
            None
            if values is None or (admissible is not None and not admissible(point, values))
            else values
            for point, values in zip(points, built, strict=True)
        ]

    values_at.batch = batch
    return values_at


def _evaluated(thm, rows: list) -> list[tuple[float, bool] | None]:
    """``(ratio, violated)`` at each row of values as :func:`_ratio` gives it (``None`` for a
    ``None`` row, an invalid point), by one :meth:`~kdtheory.theorems.Theorem.evaluate` of the
    stacked rows; if that raises (e.g. NaN at one row), row by row, a row that raises being
    ``None``."""
    out: list[tuple[float, bool] | None] = [None] * len(rows)
    idx = [i for i, row in enumerate(rows) if row is not None]
    if not idx:
        return out
    names = [k for k in thm.symbols if k in rows[idx[0]]]
    try:
        if any(set(names) - rows[i].keys() for i in idx):
            raise ValueError("rows with different symbols")
        stacked = {k: np.array([rows[i][k] for i in idx], dtype=float) for k in names}
        ev = thm.evaluate(**stacked)
        ratio = np.broadcast_to(ev.ratio, (len(idx),))
        holds = np.broadcast_to(ev.holds, (len(idx),))
        for j, i in enumerate(idx):
            out[i] = (float(ratio[j]), not bool(holds[j]))
    except (ValueError, TypeError):
        for i in idx:
            try:
                out[i] = _ratio(thm, rows[i])
            except ValueError:
                pass
    return out


def search_counterexample(
    thm, space: SearchSpace, rng: np.random.Generator, budget: int, admissible=None
):
    """Differential evolution for the largest ratio within about ``budget`` evaluations, then
    shrinking; returns ``(evaluations, counterexample or None, best ratio)`` as
    :class:`~kdtheory.audit.SearchClaim` expects.  ``admissible(point, values) -> bool``, when
    given, excludes points where the theorem's assumptions are not met (never counterexamples)."""
    from scipy import optimize  # imported on first use (start-up time)

    count = [0]
    values_at = admissible_values(space, admissible)
    vectorized = space.build_batch is not None

    def objective(x) -> float:
        count[0] += 1
        try:
            r, _ = _ratio(thm, values_at(space.point(x)))
        except ValueError:
            return _INVALID
        return -float(np.clip(r, -RATIO_CAP, RATIO_CAP))

    def population(xs) -> np.ndarray:  # scipy's vectorized call: xs has shape (dim, size)
        points = [space.point(x) for x in np.asarray(xs).T]
        count[0] += len(points)
        return np.array(
            [
                _INVALID if e is None else -float(np.clip(e[0], -RATIO_CAP, RATIO_CAP))
                for e in _evaluated(thm, values_at.batch(points))
            ]
        )

    if not space.coords:  # everything pinned: one evaluation
        best = space.point(())
    else:
        dim = len(space.coords)
        popsize = 8
        maxiter = max(1, budget // (popsize * dim) - 1)
        res = optimize.differential_evolution(
            population if vectorized else objective,
            space.bounds(),
            popsize=popsize,
            maxiter=maxiter,
            tol=0.0,
            polish=False,
            rng=rng,
            integrality=[r.integer for r in space.ranges()],
            **({"vectorized": True, "updating": "deferred"} if vectorized else {}),
        )
        best = space.point(res.x)
    try:
        best_ratio = _ratio(thm, values_at(best))[0]
    except ValueError:
        best_ratio = -math.inf
    cx = _shrink(thm, space, best, values_at)
    if cx is not None:
        cx["search"] = {
            "method": "scipy differential_evolution"
            + (" (vectorized)" if vectorized else "")
            + " + rounding",
            "evaluations": count[0],
            "best_ratio_found": best_ratio,
            "before_shrinking": best,
        }
    return count[0], cx, best_ratio


def _violates(thm, values_at, point: dict) -> dict | None:
    try:
        values = values_at(point)
        _, bad = _ratio(thm, values)
    except ValueError:
        return None
    return values if bad else None


def _first_violating(thm, values_at, candidates: list) -> dict | None:
    """The first of ``candidates`` (points) at which the statement fails, or ``None``.  With a
    batch builder (``values_at.batch`` over ``build_batch``) they are built and evaluated at
    once; otherwise one by one, stopping at the first (the same answer either way)."""
    batch = getattr(values_at, "batch", None)
    if batch is None or len(candidates) < 2:
        return next((c for c in candidates if _violates(thm, values_at, c) is not None), None)
    found = _evaluated(thm, batch(candidates))
    return next((c for c, e in zip(candidates, found, strict=True) if e and e[1]), None)


def _shrink(thm, space: SearchSpace, best: dict, values_at) -> dict | None:
    """Round ``best`` to the fewest significant digits that still violate, then try each
    coordinate at a simpler value inside its range: the range's lower end for an integer,
    else 0, 1 or one significant digit (the first that still violates is kept).  The candidates
    of each step are tried as one batch when the space has a batch builder."""
    pinned = dict(space.pinned)

    def rounded(pt, digits):
        return {
            k: v if (k in pinned or isinstance(v, int)) else round_significant(v, digits)
            for k, v in pt.items()
        }

    found = _first_violating(thm, values_at, [rounded(best, digits) for digits in range(1, 17)])
    if found is None:
        if _violates(thm, values_at, best) is None:
            return None
        found = best
    for name, r in space.coords:
        v = found[name]
        options = [int(r.low)] if r.integer else [0.0, 1.0, round_significant(v, 1)]
        candidates = [
            {**found, name: simple}
            for simple in options
            if simple != v and r.low <= simple <= r.high
        ]
        found = _first_violating(thm, values_at, candidates) or found
    return {"params": found, "values": _violates(thm, values_at, found)}
