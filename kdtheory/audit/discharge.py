"""Assumption discharge for the toolkit's sampling claims (issue 12): a claim's hypotheses
checked on the model it samples.

A sampled claim draws its cases with constructors chosen to satisfy its theorem's assumptions
(e.g. Theorem L's ``eta``, ``c`` inside the admissible set of THEORY §4); this module *checks*
that they do, on :data:`SAMPLE` evenly spaced cases of the first block and on the tightest case,
with the model family's exact checks (:meth:`kdtheory.families.Family.discharge`: Model A's
exact joint CGF for the central and sub-gamma conditions, its conditional Gaussianity for
``SubGaussian``).  The selection uses no random numbers, so verdicts and counts are unchanged;
the result records ``extra["assumptions"] = {"checked", "not_met", "unchecked"}`` and a case
where an assumption is not met makes the claim ``inconclusive`` (its cases would not be
evidence).  Claims on models without a record-to-family map are not checked here (their
``extra`` says nothing).
"""

from __future__ import annotations

import numpy as np

from ..families import family
from .gaussian_cases import record_triple

__all__ = ["SAMPLE", "discharge_cases", "family_point"]

#: how many evenly spaced cases of a claim's first block are checked (plus its tightest case)
SAMPLE = 32


def _model_a_point(params: dict) -> dict:
    """A Model A record as a ``gaussian-mean`` family point (the student relative to the
    teacher: ``kappa = a_S - a_T``, ``db = b_S - b_T + kappa m``, ``tau_factor = tau_S/tau_T``)."""
    m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t = record_triple(params)
    kappa = float(a_s - a_t)
    return {
        "d": int(np.size(m)), "n": int(n), "s": float(s), "m": np.asarray(m, float).tolist(),
        "a_T": float(a_t), "b_T": np.asarray(b_t, float).tolist(), "tau_T": float(tau_t),
        "kappa": kappa, "db": (np.asarray(b_s - b_t, float) + kappa * np.asarray(m)).tolist(),
        "tau_factor": float(tau_s / tau_t),
    }  # fmt: skip


#: claim model -> (family, record -> family point)
_RECORD_POINTS = {"gaussian-mean": ("gaussian-mean", _model_a_point)}


def family_point(model: str, params: dict):
    """``(family, point)`` of a claim's parameter record, or ``None`` for a model without a map
    (or a record of another shape, e.g. a regime claim's)."""
    if model not in _RECORD_POINTS or not isinstance(params, dict) or "student" not in params:
        return None
    name, to_point = _RECORD_POINTS[model]
    return family(name), to_point(params)


def discharge_cases(claim, records: list[tuple[dict, dict]]) -> dict | None:
    """Check ``claim.theorem``'s assumptions on ``(params, values)`` records; ``None`` when the
    claim's model has no map (or the theorem no assumptions), else the counts."""
    thm = claim.theorem
    if not thm.assumptions or claim.model not in _RECORD_POINTS:
        return None
    counts = {"checked": 0, "not_met": 0, "unchecked": 0}
    for params, values in records:
        mapped = family_point(claim.model, params)
        if mapped is None:
            continue
        fam, point = mapped
        verdicts = [fam.discharge(a, point, values) for a in thm.assumptions]
        counts["checked"] += 1
        if any(v is False for v in verdicts):
            counts["not_met"] += 1
        elif any(v is None for v in verdicts):
            counts["unchecked"] += 1
    return counts if counts["checked"] else None


def block_sample(batch, size: int = SAMPLE) -> list[tuple[dict, dict]]:
    """``size`` evenly spaced ``(params, values)`` records of a batch (no random numbers)."""
    n = len(batch.params)
    if n == 0:
        return []
    idx = np.unique(np.linspace(0, n - 1, min(size, n)).round().astype(int))
    return [
        (batch.params[int(i)], {k: float(np.broadcast_to(v, (n,))[i]) for k, v in batch.values.items()})
        for i in idx
    ]  # fmt: skip
