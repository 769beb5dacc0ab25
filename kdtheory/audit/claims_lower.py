"""Audit claims for Theorem L, the exact-CGF bounds (THEORY §3, §4, §6.5) and Theorem U-uniform
on the memoriser (THEORY §3, §8 N2)."""

from __future__ import annotations

import numpy as np

from ..models.memoriser import MemoriserModel
from ..sampling import STUDENT_KINDS, TEACHER_KINDS, build_gaussian_mean_case, rng_source
from ..theorems.registry import theorem
from . import claims_upper  # noqa: F401  (registration order: the upper-bound claims first)
from .engine import Batch, SamplingClaim, register_claim
from .gaussian_cases import gaussian_mean_batch

__all__ = ["central_batch", "memoriser_batch"]


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
    ("U-gamma", "u_gamma", 1500),
    ("L-gamma", "l_gamma", 1500),
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


def memoriser_batch(rng: np.random.Generator, size: int) -> Batch:
    """Memoriser cases (THEORY §8 N2): ``M = round(10^x)``, ``x ~ RANGES['log10_M']``;
    ``n ~ RANGES['n']``; ``p_S, p_T ~ RANGES['p']``."""
    src = rng_source(rng)
    params, rows = [], []
    for _ in range(size):
        model = MemoriserModel(M=round(10 ** src.draw("log10_M")), n=int(src.draw("n")))
        p_s, p_t = src.draw("p"), src.draw("p")
        rows.append(model.theorem_values(model.kernel(p_s), model.kernel(p_t)))
        params.append({"M": model.M, "n": model.n, "p_S": p_s, "p_T": p_t})
    return _stack(params, rows)


register_claim(
    SamplingClaim(
        id="U-uniform@memoriser",
        theorem=theorem("U-uniform"),
        model="memoriser",
        description="sigma_bar = 1/2: the memoriser's gap lies in [0, 1] (THEORY §8 N2)",
        sampler=memoriser_batch,
        cases=2000,
    )
)
