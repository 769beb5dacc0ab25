"""Batches of Gaussian mean model cases (THEORY §6) for the audit's claims."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..sampling import STUDENT_KINDS, TEACHER_KINDS, build_gaussian_mean_case, rng_source
from .engine import Batch

__all__ = ["gaussian_mean_batch", "tilt_witness_batch"]


def gaussian_mean_batch(
    rng: np.random.Generator,
    size: int,
    extra: Callable | None = None,
    teacher_kinds=TEACHER_KINDS,
    student_kinds=STUDENT_KINDS,
) -> Batch:
    """``size`` random (model, student, teacher) cases with their exact theorem values;
    ``extra(case) -> dict`` adds further values (e.g. an expectation over D)."""
    src = rng_source(rng)
    params, rows = [], []
    for _ in range(size):
        case = build_gaussian_mean_case(src, teacher_kinds, student_kinds)
        vals = case.model.theorem_values(case.student, case.teacher)
        if extra is not None:
            vals.update(extra(case))
        params.append(case.params)
        rows.append(vals)
    keys = rows[0].keys() if rows else []
    return Batch(params, {k: np.array([r[k] for r in rows], dtype=float) for k in keys})


def tilt_witness_batch(rng, size, extra=None) -> Batch:
    """Tilt students (``c_Delta = 0``, ``r = 1``), the equality witnesses of THEORY §6.4.
    Half with ``kappa > 0`` (upper side attained), half with ``kappa < 0`` (lower side)."""
    src = rng_source(rng)
    params, rows = [], []
    from ..sampling import Source

    for i in range(size):
        sign = 1.0 if i % 2 == 0 else -1.0
        signed = Source(
            draw=lambda name, s=sign: (
                s * src.draw("kappa_pos") if name == "kappa" else src.draw(name)
            ),
            choose=src.choose,
        )
        case = build_gaussian_mean_case(signed, TEACHER_KINDS, ("tilt",))
        vals = case.model.theorem_values(case.student, case.teacher)
        if extra is not None:
            vals.update(extra(case))
        params.append(case.params)
        rows.append(vals)
    return Batch(params, {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]})
