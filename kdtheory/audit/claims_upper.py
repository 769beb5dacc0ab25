"""Audit claims for the lemmas and Theorem U (THEORY §2-§3) on exact models."""

from __future__ import annotations

import numpy as np

from ..models.scalar_laws import LAWS, sg_values
from ..sampling import RANGES, Range
from ..theorems.registry import theorem
from .array_cases import ColumnRecords, draw_column
from .engine import Batch, SamplingClaim, register_claim
from .gaussian_cases import gaussian_mean_array_batch, gaussian_mean_batch, tilt_witness_batch
from .gaussian_pair_cases import dv_batch
from .witness_balls import dv_pair_exact, gaussian_law_exact, gaussian_mean_exact

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


def _u0_expectation(case) -> dict:
    """``E_D sqrt(2 sigma_D^2 KL_D)`` by the polar quadrature of THEORY §6.4."""
    return {
        "E_D": case.model.expectation_over_data(
            # values at the quadrature nodes come from the validated model: no per-node checks
            _U0.integrand_function.unchecked,
            case.student,
            case.teacher,
            epsrel=1e-11,
        )
    }


register_claim(
    SamplingClaim(
        id="U0",
        theorem=_U0,
        model="gaussian-mean",
        description="per-dataset form by polar quadrature; witness: tilt",
        sampler=lambda rng, size: gaussian_mean_batch(rng, size, extra=_u0_expectation),
        cases=60,
        witness=lambda rng, size: tilt_witness_batch(rng, size, extra=_u0_expectation),
        witness_cases=10,
        seconds_per_case=0.15,
    )
)
