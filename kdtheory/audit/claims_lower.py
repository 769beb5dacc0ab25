"""Audit claims for Theorem L, the exact-CGF bounds (THEORY §3, §4, §6.5) and Theorem U-uniform
on the memoriser (THEORY §3, §8 N2)."""

from __future__ import annotations

import numpy as np

from ..models import gaussian_cgf_arrays as _carr
from ..models import gaussian_mean_arrays as _arr
from ..models import memoriser_arrays as _marr
from ..models.memoriser import MemoriserModel
from ..sampling import STUDENT_KINDS, TEACHER_KINDS, build_gaussian_mean_case, rng_source
from ..theorems.registry import theorem
from . import claims_upper  # noqa: F401  (registration order: the upper-bound claims first)
from .array_cases import ColumnRecords, draw_column
from .engine import Batch, SamplingClaim, register_claim
from .gaussian_cases import gaussian_mean_array_batch, gaussian_mean_batch

__all__ = [
    "central_batch",
    "memoriser_batch",
    "replay_memoriser_case",
    "sub_gamma_batch",
    "sub_gamma_extra",
]


def _stack(params: list[dict], rows: list[dict]) -> Batch:
    return Batch(params, {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]})


def central_batch(rng: np.random.Generator, size: int) -> Batch:
    """Gaussian mean cases for Theorem L (THEORY §4, §6.6), in turn: ``eta = u eta_c`` with
    ``u ~ RANGES['eta_fraction']`` and ``c = c*(eta)`` (the best slack, in ``[0, 1)``); the same
    with ``c = 0``; and the edge ``eta = eta_c`` with ``c = 0`` (= ``c*(eta_c)``).  Theorem L
    needs ``gen_T > 0`` (else ``eta_c = 0``: no admissible eta), so a generic teacher with
    ``a <= 0`` is redrawn."""
    src = rng_source(rng)
    params, rows = [], []
    while len(rows) < size:
        case = build_gaussian_mean_case(src, TEACHER_KINDS, STUDENT_KINDS)
        model, teacher = case.model, case.teacher
        eta_c = model.eta_central(teacher)
        if eta_c == 0.0:
            continue
        kind = len(rows) % 3
        u = src.draw("eta_fraction") if kind < 2 else 1.0
        eta = u * eta_c
        c = model.central_slack(teacher, eta) if kind == 0 else 0.0
        vals = model.theorem_values(case.student, teacher)
        vals.update(eta=eta, c=c)
        params.append({**case.params, "eta_fraction": u, "eta": eta, "eta_c": eta_c, "c": c})
        rows.append(vals)
    return _stack(params, rows)


register_claim(
    SamplingClaim(
        id="L",
        theorem=theorem("L"),
        model="gaussian-mean",
        description="eta in (0, eta_c] with c = c*(eta) or c = 0; all teacher/student kinds",
        sampler=central_batch,
        cases=600,
    )
)


def _cgf_extra(method: str):
    def extra(case) -> dict:
        return getattr(case.model, method)(case.student, case.teacher).values

    return extra


for _id, _method, _cases in (
    ("U-joint", "u_joint", 400),
    ("U-joint-lower", "u_joint_lower", 400),
):
    register_claim(
        SamplingClaim(
            id=_id,
            theorem=theorem(_id),
            model="gaussian-mean",
            description=f"exact joint CGF (THEORY §6.5), model.{_method} at its optimising theta",
            sampler=lambda rng, size, m=_method: gaussian_mean_batch(
                rng, size, extra=_cgf_extra(m)
            ),
            cases=_cases,
        )
    )


def sub_gamma_extra(side: str):
    """``extra`` hook of :func:`gaussian_mean_array_batch`: the teacher's sub-gamma constants
    ``(V_g, b_g)`` on ``side`` (THEORY §6.5) as arrays, the array kernels behind
    :meth:`~kdtheory.models.GaussianMeanModel.sub_gamma_constants`."""

    def extra(m, n, s, student, teacher) -> dict:
        a_t, b_t, tau_t = teacher
        ck = _arr._offset(a_t, b_t, m)
        var, b = _carr._sub_gamma_constants(
            a_t, tau_t, np.sum(ck * ck, axis=-1), m.shape[-1], n, s**2 / n, side
        )
        return {"V_g": var, "b_g": b}

    return extra


def sub_gamma_batch(rng: np.random.Generator, size: int, side: str = "upper") -> Batch:
    """Model A cases (all teacher/student kinds, :func:`gaussian_mean_array_batch`) with the
    values of Theorem U-gamma (``side='upper'``) or L-gamma (``'lower'``), as array code."""
    return gaussian_mean_array_batch(rng, size, extra=sub_gamma_extra(side))


for _id, _side in (("U-gamma", "upper"), ("L-gamma", "lower")):
    register_claim(
        SamplingClaim(
            id=_id,
            theorem=theorem(_id),
            model="gaussian-mean",
            description=f"all teacher/student kinds, closed-form Var g and mu_+/- ({_side} "
            "side, THEORY §6.5; array code)",
            sampler=lambda rng, size, side=_side: sub_gamma_batch(rng, size, side),
            cases=100_000,
        )
    )


def memoriser_batch(rng: np.random.Generator, size: int) -> Batch:
    """Memoriser cases (THEORY §8 N2) as array code: ``M = round(10^x)``,
    ``x ~ RANGES['log10_M']``; ``n ~ RANGES['n']``; ``p_S, p_T ~ RANGES['p']``.  Record ``i``
    (``{"M", "n", "p_S", "p_T"}``) replays through :class:`MemoriserModel`."""
    M = np.round(10 ** draw_column(rng, "log10_M", size)).astype(np.int64)
    n = draw_column(rng, "n", size)
    p_s, p_t = draw_column(rng, "p", size), draw_column(rng, "p", size)
    vals = _marr._theorem_values(M, n, p_s, p_t)
    return Batch(ColumnRecords({"M": M, "n": n, "p_S": p_s, "p_T": p_t}), vals)


def replay_memoriser_case(record: dict) -> dict:
    """The scalar :meth:`MemoriserModel.theorem_values` of a :func:`memoriser_batch` record."""
    model = MemoriserModel(M=record["M"], n=record["n"])
    return model.theorem_values(model.kernel(record["p_S"]), model.kernel(record["p_T"]))


register_claim(
    SamplingClaim(
        id="U-uniform@memoriser",
        theorem=theorem("U-uniform"),
        model="memoriser",
        description="sigma_bar = 1/2: the memoriser's gap lies in [0, 1] (THEORY §8 N2)",
        sampler=memoriser_batch,
        cases=100_000,
    )
)
