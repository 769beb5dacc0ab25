"""Audit claims on the linear-Gaussian case study (THEORY §7): Theorem U1 on random designs."""

from __future__ import annotations

from ..theorems.registry import theorem
from .engine import SamplingClaim, register_claim
from .linear_cases import linear_array_batch, linear_tilt_witness_batch
from .witness_balls import linear_tilt_exact

register_claim(
    SamplingClaim(
        id="U1@linear",
        theorem=theorem("U1"),
        model="linear-gaussian",
        description=(
            "random $X$ ($d > n$ included), $W^*$, $\\nu$; Gibbs, tempered-Bayes and generic "
            "teachers; KD (mean and sampled soft labels), Gibbs, output/input projection, best "
            "rank-$r$ and generic students (stacked matrix code, grouped by shape); witness: tilt"
        ),
        sampler=linear_array_batch,
        cases=100_000,
        witness=linear_tilt_witness_batch,
        witness_cases=20,
        witness_exact=linear_tilt_exact,
        seconds_per_case=3e-5,
    )
)
