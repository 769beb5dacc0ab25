"""Audit claims for Theorem L, the exact-CGF bounds (THEORY §3, §4, §6.5) and Theorem U-uniform
on the memoriser (THEORY §3, §8 N2)."""

from __future__ import annotations

import numpy as np

from ..models import gaussian_cgf as _carr
from ..models import gaussian_mean as _arr
from ..models import memoriser as _memoriser
from ..models.memoriser import MemoriserModel
from ..theorems.registry import theorem
from . import claims_upper  # noqa: F401  (registration order: the upper-bound claims first)
from .array_cases import ColumnRecords, draw_column
from .engine import Batch, LazyRecords, SamplingClaim, register_claim
from .gaussian_cases import gaussian_mean_array_batch

__all__ = [
    "central_batch",
    "central_extra",
    "conditioned_batch",
    "joint_batch",
    "joint_extra",
    "memoriser_batch",
    "replay_memoriser_case",
    "sub_gamma_batch",
    "sub_gamma_extra",
]


class _Subset(LazyRecords):
    """The records ``idx`` of a lazy record sequence (a conditioned batch)."""

    def __init__(self, records, idx: np.ndarray):
        self._records, self._idx, self._size = records, idx, len(idx)

    def _record(self, i: int) -> dict:
        return self._records[int(self._idx[i])]


def _teacher_cgf_params(m, n, s, teacher) -> tuple:
    """``(gen_T, a_T, tau_T, ||c_K||^2, d, n, v)`` of a block of teachers: the arguments of the
    array kernels of :mod:`~kdtheory.models.gaussian_cgf` (THEORY §6.1, §6.5)."""
    a_t, b_t, tau_t = teacher
    ck = _arr._offset(a_t, b_t, m)
    d = m.shape[-1]
    return _arr._gen(a_t, n, s, d), a_t, tau_t, np.sum(ck * ck, axis=-1), d, n, s**2 / n


def conditioned_batch(
    rng: np.random.Generator, size: int, extra, keep: str, record_keys=(), excess: float = 1.25
) -> Batch:
    """``size`` cases of :func:`gaussian_mean_array_batch` (all teacher/student kinds, array
    code) conditioned on ``values[keep] > 0``: ``excess`` times as many cases (plus 16) are
    drawn, and a uniformly random subset of the accepted ones is kept (as a multiset, ``size``
    independent draws of the conditional law; redrawn in larger numbers in the rare event of
    too few).  L rejects ~1/7 of the cases (a generic teacher with ``a <= 0``), U-joint almost
    none (``K_n = 0``)."""
    size, factor = int(size), float(excess)
    while True:
        batch = gaussian_mean_array_batch(
            rng, int(size * factor) + 16, extra=extra, record_keys=record_keys
        )
        ok = np.flatnonzero(batch.values[keep] > 0)
        if ok.size >= size:
            break
        factor *= 2
    idx = np.sort(rng.choice(ok, size, replace=False))
    return Batch(_Subset(batch.params, idx), {k: v[idx] for k, v in batch.values.items()})


def central_extra(rng: np.random.Generator):
    """``extra`` hook of :func:`gaussian_mean_array_batch` for Theorem L (THEORY §4, §6.6): per
    case ``eta_c`` (:func:`~kdtheory.models.gaussian_cgf._eta_central`) and, with kind
    ``0, 1, 2`` uniform: ``eta = u eta_c``, ``u ~ RANGES['eta_fraction']``, with the best slack
    ``c = c*(eta)``; the same with ``c = 0``; the edge ``eta = eta_c`` (``u = 1``) with ``c = 0``.
    Cases with ``gen_T <= 0`` (``eta_c = 0``: no admissible eta) get ``eta = c = nan`` and are
    dropped by :func:`central_batch`."""

    def extra(m, n, s, student, teacher) -> dict:
        gen, *rest = _teacher_cgf_params(m, n, s, teacher)
        eta_c = _carr._eta_central(gen, *rest)
        kind = rng.integers(0, 3, eta_c.shape)
        u = np.where(kind < 2, draw_column(rng, "eta_fraction", eta_c.shape), 1.0)
        pos = eta_c > 0
        eta = np.where(pos, u * eta_c, np.nan)
        safe = np.where(pos, eta, 1.0)
        best = _carr._central_slack(safe, np.where(pos, gen, 1.0), *rest)
        c = np.where(pos, np.where(kind == 0, best, 0.0), np.nan)
        return {"eta_fraction": u, "eta": eta, "eta_c": eta_c, "c": c}

    return extra


def central_batch(rng: np.random.Generator, size: int) -> Batch:
    """Gaussian mean cases for Theorem L (THEORY §4, §6.6) as array code: all teacher/student
    kinds conditioned on ``gen_T > 0`` (a generic teacher with ``a <= 0`` has ``eta_c = 0``),
    ``eta`` and ``c`` as in :func:`central_extra`.  Record ``i`` replays through
    :func:`~kdtheory.audit.gaussian_cases.replay_gaussian_mean_case` and carries
    ``eta_fraction, eta, eta_c, c`` at its top level."""
    return conditioned_batch(
        rng, size, central_extra(rng), "eta_c", ("eta_fraction", "eta", "eta_c", "c")
    )


register_claim(
    SamplingClaim(
        id="L",
        theorem=theorem("L"),
        model="gaussian-mean",
        description="$\\eta \\in (0, \\eta_c]$ with $c = c^*(\\eta)$ or $c = 0$; all teacher/student "
        "kinds (array code, $\\eta_c$ by vectorised bisection)",
        sampler=central_batch,
        cases=100_000,
        seconds_per_case=4e-5,  # measured: ~4 s a block (the eta_c bisection)
    )
)


def joint_extra(side: str):
    """``extra`` hook of :func:`gaussian_mean_array_batch` for Theorem U-joint (THEORY §3, §6.5):
    the optimising ``theta*`` of ``(K_n + Lambda(+-theta))/theta`` and ``Lambda`` there
    (``Lambda_T`` on the upper side, ``Lambda_T_neg`` on the lower), by
    :func:`~kdtheory.models.gaussian_cgf._joint_optimum`; ``nan`` where ``K_n = 0`` (no
    optimiser; dropped by :func:`joint_batch`)."""
    sign, key = (1, "Lambda_T") if side == "upper" else (-1, "Lambda_T_neg")

    def extra(m, n, s, student, teacher) -> dict:
        _, *rest = _teacher_cgf_params(m, n, s, teacher)
        k_n = _arr._theorem_values(m, n, s, *student, *teacher)["K_n"]
        pos = k_n > 0
        theta, lam = _carr._joint_optimum(np.where(pos, k_n, 1.0), sign, *rest)
        return {"theta": np.where(pos, theta, np.nan), key: np.where(pos, lam, np.nan)}

    return extra


def joint_batch(rng: np.random.Generator, size: int, side: str = "upper") -> Batch:
    """Model A cases (all teacher/student kinds, array code, conditioned on ``K_n > 0``) with the
    values of Theorem U-joint on ``side`` (``'upper'`` or ``'lower'``) at the optimising
    ``theta*``; record ``i`` carries ``theta`` at its top level."""
    return conditioned_batch(rng, size, joint_extra(side), "K_n", ("theta",), excess=1.01)


for _id, _side in (("U-joint", "upper"), ("U-joint-lower", "lower")):
    register_claim(
        SamplingClaim(
            id=_id,
            theorem=theorem(_id),
            model="gaussian-mean",
            description=f"exact joint CGF (THEORY §6.5) at its optimising $\\theta$ ({_side} side; "
            "array code, $\\theta^*$ by vectorised bisection)",
            sampler=lambda rng, size, side=_side: joint_batch(rng, size, side),
            cases=100_000,
            seconds_per_case=3e-5,  # measured: ~3 s a block (the theta* bisection)
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
            description="all teacher/student kinds, closed-form $\\operatorname{Var} g$ and "
            f"$\\mu_\\pm$ ({_side} side, THEORY §6.5; array code)",
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
    vals = _memoriser._theorem_values(M, n, p_s, p_t)
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
        description="$\\bar\\sigma = 1/2$: the memoriser's gap lies in $[0, 1]$ (THEORY §8 N2)",
        sampler=memoriser_batch,
        cases=100_000,
    )
)
