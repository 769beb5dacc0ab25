"""Audit claims for the lemmas and Theorem U (THEORY §2-§3) on exact models."""

from __future__ import annotations

import numpy as np

from ..models.gaussian_mean_quadrature import expectation_over_data
from ..models.scalar_laws import LAWS, sg_values
from ..sampling import RANGES, Range
from ..theorems.registry import theorem
from .array_cases import ColumnRecords, draw_column
from .engine import Batch, SamplingClaim, register_claim
from .gaussian_cases import gaussian_mean_array_batch, tilt_witness_batch
from .gaussian_pair_cases import dv_batch
from .witness_balls import (
    dv_pair_exact,
    gaussian_law_exact,
    gaussian_mean_exact,
    u0_expectation_ball,
)

# -- Lemma DV on Gaussian pairs with quadratic f (exact both sides, array code) --------------------

register_claim(
    SamplingClaim(
        id="lemma-DV",
        theorem=theorem("lemma-DV"),
        model="gaussian-pairs",
        description="Gaussian $P, Q$ ($d = 1, \\dots, 4$) with quadratic $f$, stacked linalg; "
        "witness $f = \\log(dQ/dP)$",
        sampler=dv_batch,
        cases=100_000,
        witness=lambda rng, size: dv_batch(rng, size, witness=True),
        witness_cases=1000,
        witness_exact=dv_pair_exact,
    )
)

# -- Lemma SG on Gaussian, scaled Bernoulli and uniform variables (exact CGFs) -------------------


#: the laws' parameter ranges (``p`` from the shared table)
SG_RANGES = {
    "t": Range(-6.0, 6.0),
    "lo": Range(-2.0, 2.0),
    "mean": Range(-2.0, 2.0),
    "width": Range(0.05, 5.0, log=True),
    "sd": Range(0.05, 5.0, log=True),
    "p": RANGES["p"],
}


def sg_batch(rng: np.random.Generator, size: int, kinds=("bernoulli", "uniform")) -> Batch:
    """``size`` scalar-law cases for Lemma SG (THEORY §2), case ``i`` of law ``kinds[i % k]``,
    parameters from :data:`SG_RANGES`, values by the array closed forms of
    :mod:`kdtheory.models.scalar_laws`.  Record ``i`` is ``{"kind", "t", <the law's
    parameters>}``: ``sg_values(kind, t, **params)`` replays it."""
    kind = np.array(kinds)[np.arange(size) % len(kinds)]
    cols: dict[str, np.ndarray] = {"kind": kind, "t": draw_column(rng, "t", size, SG_RANGES)}
    names = sorted({k for law in kinds for k in LAWS[law]})
    for k in names:
        cols[k] = np.full(size, np.nan)
    values = {k: np.empty(size) for k in ("cgf", "mean", "sigma", "t")}
    for law in kinds:
        sel = kind == law
        cnt = int(np.count_nonzero(sel))
        p = {k: draw_column(rng, k, cnt, SG_RANGES) for k in LAWS[law]}
        for k, v in p.items():
            cols[k][sel] = v
        for k, v in sg_values(law, cols["t"][sel], **p).items():
            values[k][sel] = v
    return Batch(ColumnRecords(cols), values)


register_claim(
    SamplingClaim(
        id="lemma-SG",
        theorem=theorem("lemma-SG"),
        model="scalar-laws",
        description="scaled Bernoulli and uniform laws (Hoeffding proxy); witness: Gaussian "
        "(array code)",
        sampler=sg_batch,
        cases=100_000,
        witness=lambda rng, size: sg_batch(rng, size, ("gaussian",)),
        witness_cases=1000,
        witness_exact=gaussian_law_exact,
    )
)

# -- Theorem U on the Gaussian mean model ---------------------------------------------------------

register_claim(
    SamplingClaim(
        id="U1",
        theorem=theorem("U1"),
        model="gaussian-mean",
        description=(
            "Gibbs, Bayes and generic teachers; KD, tilt, Gibbs and generic students (array "
            "code); "
            "witness: tilt"
        ),
        sampler=gaussian_mean_array_batch,
        cases=100_000,
        witness=tilt_witness_batch,
        witness_exact=gaussian_mean_exact,
    )
)

_U0 = theorem("U0")


def _u0_expectation_arrays(m, n, s, student, teacher) -> dict:
    """``E_D sqrt(2 sigma_D^2 KL_D)`` for a block of Model A cases (arrays, common ``d``) by the
    fixed-node polar quadrature of THEORY §6.4
    (:func:`kdtheory.models.gaussian_mean_quadrature.expectation_over_data`: estimated relative
    error <= 1e-12 per case, 1000 times below the theorem's tolerance)."""
    # values at the quadrature nodes come from the validated model: no per-node checks
    integrand = _U0.integrand_function.unchecked
    return {"E_D": expectation_over_data(integrand, m, n, s, student, teacher)}


def _u0_expectation(case) -> dict:
    """:func:`_u0_expectation_arrays` of one built case (``case.model``, ``.student``,
    ``.teacher``)."""
    mod = case.model
    kernels = [(k.a, k.b, k.tau) for k in (case.student, case.teacher)]
    return {k: float(v) for k, v in _u0_expectation_arrays(mod.m, mod.n, mod.s, *kernels).items()}


def _u0_exact(record: dict, num) -> dict:
    """Theorem U0's symbols of a Model A witness record in ball arithmetic: the model's values
    (:func:`~kdtheory.audit.witness_balls.gaussian_mean_exact`) and ``E_D`` enclosed by
    :func:`~kdtheory.audit.witness_balls.u0_expectation_ball` (a tilt student: the perturbation
    bound around ``2 v |a_S - a_T| d``, THEORY §6.4)."""
    e_d = u0_expectation_ball(record, num)
    if e_d is None:
        raise ValueError("E_D of this record is not enclosed in ball arithmetic")
    return {**gaussian_mean_exact(record, num), "E_D": e_d}


register_claim(
    SamplingClaim(
        id="U0",
        theorem=_U0,
        model="gaussian-mean",
        description="per-dataset form by polar quadrature (fixed nodes, array code); witness: tilt",
        sampler=lambda rng, size: gaussian_mean_array_batch(
            rng, size, extra=_u0_expectation_arrays
        ),
        cases=100_000,
        witness=lambda rng, size: gaussian_mean_array_batch(
            rng, size, student_kinds=("tilt",), extra=_u0_expectation_arrays
        ),
        witness_cases=10,
        witness_exact=_u0_exact,
        seconds_per_case=3e-5,
    )
)
