"""Check any statement on a model family: sampling, then adversarial search, then shrinking.

This is the workflow for a researcher's own bound (README, "Check your own bound"):

1. draw ``cases`` points of the family's box (:class:`~kdtheory.search.SearchSpace`;
   ranges per call, pinned values) and evaluate the statement on the exact values there;
2. run differential evolution for ``search`` evaluations, maximising the ratio
   ``(lhs - ref)/(rhs - ref)`` (:func:`~kdtheory.search.search_counterexample`);
3. shrink the worst violation to few significant digits and re-verify it.

Every case is first checked against the theorem's assumptions (:meth:`Family.discharge
<kdtheory.families.Family.discharge>`): a case where an assumption is *not met* is never counted
for or against the statement ("assumption not met on K cases"); one the family cannot check is
counted and reported as unchecked.  Where the assumptions give a trivial bound
(:meth:`~kdtheory.theorems.Theorem.trivial_bound`) the cases at or past it are reported as
vacuous.  A ``conjecture`` gets the neutral verdict ``no violation`` (or ``refuted``) and never
fails an audit; a true status must hold, ``false`` must be refuted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..families import Family, admissibility, family
from ..search import SearchSpace, _shrink, admissible_values, search_counterexample
from ..theorems import Status, Theorem
from .engine import (
    HOLDS,
    INCONCLUSIVE,
    NO_VIOLATION,
    REFUTED,
    Batch,
    Claim,
    ClaimResult,
    _child,
    claim_stream,
    register_claim,
    reverified,
)

__all__ = ["StatementClaim", "check", "claim"]


@dataclass
class StatementClaim(Claim):
    """A statement checked on a model family by sampling and search (module doc).

    ``family`` is a :class:`~kdtheory.families.Family` or its name; ``ranges`` replaces some
    coordinates' ranges (``{"alpha": (0.2, 0.8)}``, ``(low, high, "log")``, a ``Range`` or a
    ``RANGES`` key) and ``pinned`` fixes coordinates, for this claim only."""

    family: Family | str = "gaussian-mean"
    cases: int = 1000
    search: int = 400
    ranges: Mapping | None = None
    pinned: Mapping | None = None
    seconds_per_case: float = 2e-4
    fam: Family = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.theorem, Theorem):
            raise TypeError(f"theorem must be a Theorem, got {type(self.theorem).__name__}")
        self.fam = family(self.family)
        self.model = self.fam.name
        own = set(self.theorem.symbols) - set(self.fam.provides)
        box = self.fam.search_space(self.ranges, self.pinned, extra=own)
        # the statement's own parameters (e.g. a user's constant searched over a range) are
        # coordinates of the box, passed to the statement with the family's values
        self.space = SearchSpace(box.coords, self._values, dict(box.pinned))
        for name, n in (("cases", self.cases), ("search", self.search)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
        if self.cases + self.search == 0:
            raise ValueError("cases and search cannot both be 0")
        missing = sorted(set(self.theorem.symbols) - set(self.fam.provides))
        given = {k for k, _ in self.space.coords} | dict(self.space.pinned).keys()
        missing = [m for m in missing if m not in given]
        if missing:
            raise ValueError(
                f"{self.theorem.id}: the family {self.fam.name!r} does not supply "
                f"{', '.join(missing)} (it supplies {', '.join(self.fam.provides)}); give "
                f"your own parameters a range or a value: ranges={{...}} or pinned={{...}}"
            )

    def planned_cases(self, scale: float = 1.0) -> int:
        return max(1, int(round((self.cases + self.search) * scale)))

    def run(self, seed, scale: float = 1.0) -> ClaimResult:
        t0 = time.perf_counter()
        root = claim_stream(seed, self.id)
        thm = self.theorem
        admissible, counts = admissibility(thm, self.fam)
        n_cases = int(round(self.cases * scale))
        rng = _child(root, 1)
        params, rows = [], []
        for _ in range(n_cases):
            point = self.space.draw(rng)
            try:
                values = self.space.build(point)
            except ValueError:  # outside the model's domain: not a case
                continue
            if not admissible(point, values):
                continue
            params.append(point)
            rows.append({k: values[k] for k in thm.symbols if k in values})
        cx, max_ratio, vacuous = None, None, 0
        if rows:
            batch = Batch.from_rows(params, rows)
            ev = thm.evaluate(**batch.values)
            ratio = np.broadcast_to(ev.ratio, (len(rows),))
            holds = np.broadcast_to(ev.holds, (len(rows),))
            finite = ratio[np.isfinite(ratio)]
            max_ratio = float(finite.max()) if finite.size else None
            if ev.vacuous is not None:
                vacuous = int(np.sum(np.broadcast_to(ev.vacuous, (len(rows),))))
            if not holds.all():
                worst = int(np.argmax(np.where(holds, -np.inf, ratio)))
                values_at = admissible_values(self.space, admissible)
                cx = _shrink(thm, self.space, params[worst], values_at)
        evaluations = 0
        budget = int(round(self.search * scale))
        if cx is None and budget > 0:
            evaluations, cx, best = search_counterexample(
                thm, self.space, _child(root, 2), budget, admissible=admissible
            )
            if best is not None and np.isfinite(best):
                max_ratio = best if max_ratio is None else max(max_ratio, best)
        cx, max_ratio = reverified(thm, cx, max_ratio)
        tried = len(rows)
        if cx is not None:
            verdict = REFUTED
        elif tried == 0 and evaluations == 0:
            verdict = INCONCLUSIVE
        else:
            verdict = NO_VIOLATION if thm.status is Status.CONJECTURE else HOLDS
        notes = []
        if counts["not_met"]:
            notes.append(f"assumption not met on {counts['not_met']} cases (not counted)")
        if counts["unchecked"]:
            notes.append(f"assumptions not checkable on {counts['unchecked']} cases")
        if vacuous:
            notes.append(
                f"vacuous on {vacuous} of {tried} cases (bound at or past the trivial one)"
            )
        if tried == 0 and counts["not_met"]:
            verdict = INCONCLUSIVE
        extra = {
            "search_evaluations": evaluations,
            "assumptions": dict(counts),
            "vacuous": vacuous,
            "family": self.fam.name,
        }
        notes = "; ".join(notes) or self.description
        return self._search_result(verdict, tried, cx, max_ratio, t0, notes, extra)

    def _values(self, point: dict) -> dict:
        """The family's exact values at ``point``, with the coordinates that are symbols of the
        statement (a user's own parameter searched over a range or pinned)."""
        own = {k: v for k, v in point.items() if k in self.theorem.symbols}
        return self.fam.values(point) | own


def check(
    thm: Theorem,
    family: Family | str = "gaussian-mean",
    *,
    cases: int = 1000,
    search: int = 400,
    seed: int = 0,
    ranges: Mapping | None = None,
    pinned: Mapping | None = None,
) -> ClaimResult:
    """Check ``thm`` on a model family now (module doc); the result's :meth:`summary
    <kdtheory.audit.engine.ClaimResult.summary>` is the one-line verdict, ``counterexample``
    the shrunk violating point with its exact values."""
    kw = dict(family=family, cases=cases, search=search, ranges=ranges, pinned=pinned)
    return StatementClaim(id=thm.id, theorem=thm, model="", **kw).run(seed)


def claim(
    thm: Theorem,
    family: Family | str = "gaussian-mean",
    *,
    id: str | None = None,
    cases: int = 1000,
    search: int = 400,
    ranges: Mapping | None = None,
    pinned: Mapping | None = None,
    replace: bool = False,
) -> StatementClaim:
    """Register ``thm`` checked on ``family`` as an audit claim (``kdtheory audit --claim ID``;
    ``id`` defaults to ``thm.id`` or ``thm.id@family`` when that is taken)."""
    from .engine import _CLAIMS

    cid = id or thm.id
    if id is None and cid in _CLAIMS and not replace:
        cid = f"{thm.id}@{family if isinstance(family, str) else family.name}"
    desc = "sampling, then differential evolution, then shrinking"
    kw = dict(family=family, cases=cases, search=search, ranges=ranges, pinned=pinned)
    c = StatementClaim(id=cid, theorem=thm, model="", description=desc, **kw)
    return register_claim(c, replace=replace)
