"""Equality witnesses judged against an error bound for each case (issue 10).

An equality witness is a case where a true statement is attained with equality: its ratio
``(lhs - ref)/(rhs - ref)`` is exactly 1 in exact arithmetic (e.g. the tilt student of
THEORY §6.4 and §7 for Theorem U1, ``f = log dQ/dP`` for Lemma DV).  The ratio computed in
double precision carries rounding error whose size depends on the case -- up to ~1e-11 for
the linear-Gaussian tilt on some designs, where the gap difference ``gen_S - gen_T`` cancels --
so no fixed tolerance can be right for every case.  The rule, per witness case:

1. ``|ratio - 1| <= DOUBLE_RESOLUTION`` (16 ulps of 1, 3.6e-15): equal at double resolution.
   Every double-precision evaluation of a quotient of computed quantities has at least this
   much rounding error, so no finer deviation is meaningful in double precision; this is the
   only fixed constant, and it is about the resolution of the format, not of the case.
2. Otherwise the case is recomputed **from its parameter record** (exact doubles) in arb ball
   arithmetic by the claim's ``exact`` hook, and its exact ``ratio - 1`` (the deviation on
   the scale of the reported ratio) is enclosed in a ball -- a rigorous error bound for
   that case.  The precision is raised (128, 256, ..., 1024 bits) until the ball either
   contains 0 with radius at most :data:`EXACT_TOLERANCE` (1e-30): the witness is **exact**
   (its exact deviation is below 1e-30); or excludes 0: the witness **misses** (its exact
   deviation is nonzero, and the ball says by how much).
   The same recomputation with every recorded float widened to a ball of one ulp gives
   the case's *condition*: the radius ``R`` of the deviation ball is how far the exact
   deviation moves under one-ulp changes of the inputs, which is the scale of the rounding
   error of a stable double evaluation.  The double ratio must lie within
   ``CONSISTENCY * R + DOUBLE_RESOLUTION`` of the exact one (``CONSISTENCY = 64``): a double
   computation that is off by more than its own error bound -- a wrong radius, a wrong
   student built by the double code -- is a **miss** even where the mathematics is exact.
3. A case of step 2 without an ``exact`` hook, or whose ball stays wide at 1024 bits, is
   **undecided**: the claim is ``inconclusive`` and says why (never silently accepted).

So a true equality is accepted at every seed, and a witness that truly misses -- a wrong tilt
student, a bound off by a constant factor ``1 + delta`` -- is caught for every
``delta > 1e-30`` whose double ratio is off by more than 16 ulps, i.e. for ``delta`` down to
about 1e-14.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DOUBLE_RESOLUTION",
    "EXACT_TOLERANCE",
    "WitnessOutcome",
    "judge_witnesses",
    "statement_deviation",
]

#: a double ratio within this of 1 is equal at double resolution (16 ulps of 1)
DOUBLE_RESOLUTION = 16 * float(np.finfo(float).eps)
#: an exact (ball) relative deviation enclosed within this of 0 is an equality
EXACT_TOLERANCE = 1e-30
#: the precisions (bits) tried in turn for an exact recomputation
PRECISIONS = (128, 256, 512, 1024)
#: a double ratio may differ from the exact one by this many times the case's condition radius
CONSISTENCY = 64

#: ``deviation(i, num) -> arb``: a ball containing the relative deviation of case ``i``, its
#: recorded floats converted by ``num`` (exact points, or one-ulp balls)
Deviation = Callable[[int, Callable], object]


def point(x):
    """A recorded float as an exact arb point."""
    import flint

    return flint.arb(float(x))


def ulp_ball(x):
    """A recorded float as an arb ball of radius one ulp (its rounding as an input)."""
    import flint

    x = float(x)
    return flint.arb(x, math.ulp(x) if math.isfinite(x) else 0.0)


@dataclass(frozen=True)
class WitnessOutcome:
    """The judgement of a set of equality witnesses (see the module doc).

    ``ratio``: the double ratio farthest from 1 (what the table shows); ``recomputed``: how many
    cases were recomputed in ball arithmetic; ``exact_deviation``: the largest enclosure
    ``|deviation| <= x`` over the recomputed cases that were judged exact; ``missed``: the
    cases that miss (index, why: a nonzero exact ball, or a double ratio inconsistent with the
    exact one); ``undecided``: indices."""

    cases: int
    ratio: float | None
    recomputed: int
    exact_deviation: float | None
    missed: tuple = ()
    undecided: tuple = ()
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.cases > 0 and not self.missed and not self.undecided

    def note(self) -> str:
        """One line for the claim's notes."""
        if self.cases == 0:
            return "no equality witness could be evaluated"
        if self.missed:
            i, ball = self.missed[0]
            return (
                f"equality witness missed ratio 1: case {i}: {ball} "
                f"({len(self.missed)} of {self.recomputed} recomputed cases miss)"
            )
        if self.undecided:
            return (
                f"equality witness undecided: {len(self.undecided)} case(s) off ratio 1 by more "
                f"than double resolution (worst {self.ratio!r}) {self.reason}"
            )
        if self.recomputed:
            return (
                f"{self.recomputed} of {self.cases} witnesses off ratio 1 by more than 16 ulps in "
                f"double precision were recomputed in ball arithmetic from their parameters: exact "
                f"within {self.exact_deviation:.1e}"
            )
        return f"all {self.cases} witnesses at ratio 1 within 16 ulps in double precision"

    def merge(self, other: WitnessOutcome) -> WitnessOutcome:
        """The judgement of both sets (``other``'s case indices shifted after this one's)."""
        if self.cases == 0:
            return other
        if other.cases == 0:
            return self
        off = self.cases
        ratio = self.ratio
        if other.ratio is not None and (
            ratio is None or not abs(other.ratio - 1) <= abs(ratio - 1)
        ):
            ratio = other.ratio
        devs = [x for x in (self.exact_deviation, other.exact_deviation) if x is not None]
        return WitnessOutcome(
            self.cases + other.cases,
            ratio,
            self.recomputed + other.recomputed,
            max(devs) if devs else None,
            missed=self.missed + tuple((i + off, b) for i, b in other.missed),
            undecided=self.undecided + tuple(i + off for i in other.undecided),
            reason=self.reason or other.reason,
        )

    def to_json(self) -> dict:
        return {
            "cases": self.cases,
            "ratio": self.ratio,
            "recomputed": self.recomputed,
            "exact_deviation": self.exact_deviation,
            "missed": [list(m) for m in self.missed],
            "undecided": list(self.undecided),
            "ok": self.ok,
        }


def judge_witnesses(ratios, deviation: Deviation | None) -> WitnessOutcome:
    """Judge witnesses with double ratios ``ratios`` (see the module doc); ``deviation(i, prec)``
    recomputes case ``i`` in ball arithmetic (None: no exact recomputation is available)."""
    r = np.asarray(ratios, dtype=float).ravel()
    if r.size == 0:
        return WitnessOutcome(0, None, 0, None)
    off = np.abs(r - 1.0)
    worst = float(r[int(np.argmax(np.where(np.isnan(off), np.inf, off)))])
    far = np.flatnonzero(~(off <= DOUBLE_RESOLUTION))  # NaN ratios are recomputed too
    if far.size == 0:
        return WitnessOutcome(int(r.size), worst, 0, None)
    if deviation is None:
        return WitnessOutcome(
            int(r.size),
            worst,
            0,
            None,
            undecided=tuple(int(i) for i in far),
            reason="and no exact (ball-arithmetic) recomputation is registered for this claim",
        )
    missed, undecided, bound = [], [], 0.0
    for i in far:
        verdict, ball = _decide(deviation, int(i), float(r[i]))
        if verdict == "exact":
            bound = max(bound, float(abs(ball).upper()))
        elif verdict == "missed":
            missed.append((int(i), ball))
        else:
            undecided.append(int(i))
    return WitnessOutcome(
        int(r.size),
        worst,
        int(far.size),
        bound,
        missed=tuple(missed),
        undecided=tuple(undecided),
        reason="" if not undecided else "and its ball stayed wider than 1e-30 at 1024 bits",
    )


def _decide(deviation: Deviation, i: int, ratio: float):
    import flint

    old = flint.ctx.prec
    ball = None
    try:
        for prec in PRECISIONS:
            flint.ctx.prec = prec
            try:
                ball = deviation(i, point)
            except ZeroDivisionError:  # a ball matrix not provably invertible at this precision
                continue
            if not ball.is_finite():
                continue
            if not ball.contains(0):
                return "missed", f"exact ratio - 1 = {ball.str(10, radius=True)}"
            if float(ball.rad()) <= EXACT_TOLERANCE:
                break
        else:
            return "undecided", ball
        flint.ctx.prec = PRECISIONS[0]
        try:
            cond = float(deviation(i, ulp_ball).rad())
        except ZeroDivisionError:
            cond = math.inf
        # the double ratio's deviation against the exact one (0, within 1e-30)
        if not abs(ratio - 1.0) <= CONSISTENCY * cond + DOUBLE_RESOLUTION:
            return "missed", (
                f"double ratio - 1 = {ratio - 1.0:.3e} against an exact 0 (tolerance "
                f"{CONSISTENCY * cond + DOUBLE_RESOLUTION:.1e} from the case's condition)"
            )
        return "exact", ball
    finally:
        flint.ctx.prec = old


def statement_deviation(theorem, values: Callable[[dict, Callable], dict], records: Sequence):
    """``deviation(i, num)`` for a theorem's statement: the exact ``ratio - 1``, i.e.
    ``(lhs - rhs) / (rhs - ref)`` with the theorem's ``reference`` (the scale of the double
    ratio the audit reports), with the symbol values recomputed as arb balls by
    ``values(records[i], num)`` (``num`` converts each recorded float); the absolute
    ``lhs - rhs`` where the ball of ``rhs - ref`` reaches 0."""
    import sympy as sp

    from ..certified import _in_domain, _statement_exprs, to_arb

    lhs_e, rhs_e = _statement_exprs(theorem)
    ref_e = theorem._numeric(sp.sympify(theorem.reference))
    free = lhs_e.free_symbols | rhs_e.free_symbols | ref_e.free_symbols
    names = sorted({s.name for s in free})

    def deviation(i: int, num):
        raw = values(records[i], num)
        missing = [k for k in names if k not in raw]
        if missing:
            raise ValueError(f"exact witness values lack {missing} for {theorem.id}")
        vals = {k: _in_domain(k, raw[k]) for k in names}
        lhs, rhs, ref = (to_arb(e, vals) for e in (lhs_e, rhs_e, ref_e))
        den = rhs - ref
        return lhs - rhs if den.contains(0) else (lhs - rhs) / den

    return deviation


def relative_difference(x, y):
    """``(x - y) / max(|x|, |y|)`` for arb balls; ``x - y`` where that scale ball reaches 0
    (both sides are 0 up to their radius: the absolute difference is the deviation)."""
    scale = abs(x).max(abs(y))
    if scale.contains(0):
        return x - y
    return (x - y) / scale
