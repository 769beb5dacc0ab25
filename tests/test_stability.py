"""Numerical stability (issue 7): ``phi``, full-covariance KL and Model A at extreme scales.

Facts checked:

* the stable ``phi`` (series near 1) equals the symbolic ``x - 1 - log x`` evaluated in 50-digit
  arithmetic to 5e-15 relative (its documented accuracy) over ``x`` in ``[1e-300, 1e300]`` and ``1 +- [1e-17, 0.5]``, and is
  ``>= 0`` (THEORY §1);
* KL between full-covariance Gaussians with condition numbers up to 1e12 agrees with a 50-digit
  mpmath reference (the textbook ``tr - d - log det + quad`` form, computed from the exact binary
  inputs) to 1e-6 relative -- for independent pairs, rescaled pairs, commuting pairs, near-equal
  pairs (``Sp = (1 + 1e-8..1e-2) Sq``) and mean-only differences;
* Model A quantities (THEORY §6) for ``s`` from 1e-6 to 1e6 are never NaN, ``K_n >= 0`` and
  Theorem U1 holds, for scalar cases (hypothesis) and a vectorised sweep.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from kdtheory.audit.gaussian_cases import gaussian_mean_array_batch
from kdtheory.divergences import FullGaussian, kl, phi
from kdtheory.sampling import STUDENT_KINDS, TEACHER_KINDS, Range, Source, build_gaussian_mean_case
from kdtheory.strategies import hypothesis_source
from kdtheory.theorems import theorem

U0, U1 = theorem("U0"), theorem("U1")
_x = sp.Symbol("x", positive=True)
PHI_SYMBOLIC = sp.lambdify(_x, _x - 1 - sp.log(_x), modules="mpmath")


def log_uniform(lo, hi):
    return st.floats(math.log(lo), math.log(hi)).map(math.exp)


# -- phi ---------------------------------------------------------------------------------------
@given(
    st.one_of(
        log_uniform(1e-300, 1e300),
        st.tuples(st.sampled_from([-1.0, 1.0]), log_uniform(1e-17, 0.5)).map(
            lambda t: 1.0 + t[0] * t[1]
        ),
    )
)
def test_phi_equals_the_symbolic_form(x):
    with mpmath.workdps(50):
        ref = PHI_SYMBOLIC(mpmath.mpf(x))
        got = phi(x)
        assert got >= 0
        assert abs(mpmath.mpf(got) - ref) <= 5e-15 * abs(ref)


def test_phi_edge_values_and_invalid_input():
    assert phi(1.0) == 0.0
    assert phi(0.0) == math.inf and phi(math.inf) == math.inf
    np.testing.assert_array_equal(phi(np.array([1.0, 0.0])), [0.0, math.inf])
    for bad in (math.nan, -1e-300, -2.0):
        with pytest.raises(ValueError, match="phi needs x in"):
            phi(bad)


# -- KL of full covariances ----------------------------------------------------------------------
def kl_reference(mp_, cp, mq, cq):
    """50-digit ``[tr(Sq^-1 Sp) - d - log det(Sq^-1 Sp) + z' Sq^-1 z] / 2`` from the exact inputs."""
    with mpmath.workdps(50):
        d = len(mp_)
        p, q = mpmath.matrix(cp.tolist()), mpmath.matrix(cq.tolist())
        qi = mpmath.inverse(q)
        z = mpmath.matrix((np.asarray(mp_) - np.asarray(mq)).tolist()) if d else None
        a = qi * p
        tr = sum(a[i, i] for i in range(d))
        logdet = mpmath.log(mpmath.det(p)) - mpmath.log(mpmath.det(q))
        w = qi * z
        quad = sum(z[i] * w[i] for i in range(d))
        return (tr - d - logdet + quad) / 2


def spd(rng, d, log10_cond, scale):
    """A random covariance ``Q diag(ev) Q'`` with eigenvalues spanning exactly ``10^log10_cond``."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    ev = np.exp(rng.uniform(0, log10_cond * math.log(10), d))
    ev[0], ev[-1] = 1.0, 10.0**log10_cond
    c = (q * (ev[:d] * scale)) @ q.T
    return (c + c.T) / 2, q, ev * scale


FAMILIES = ("independent", "rescaled", "commuting", "near-equal", "mean-only")


@pytest.mark.parametrize("family", FAMILIES)
@given(
    d=st.integers(1, 5),
    log10_cond=st.floats(0.0, 12.0),
    log10_scale=st.floats(-3.0, 3.0),
    log10_shift=st.floats(-6.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
@example(d=5, log10_cond=12.0, log10_scale=3.0, log10_shift=-6.0, seed=1)
@example(d=3, log10_cond=12.0, log10_scale=-3.0, log10_shift=1.0, seed=2)
@settings(max_examples=15)
def test_kl_full_covariance_matches_50_digit_reference(
    family, d, log10_cond, log10_scale, log10_shift, seed
):
    event(f"{family}, condition number 1e{int(log10_cond) // 4 * 4}+")
    rng = np.random.default_rng(seed)
    cq, q, ev = spd(rng, d, log10_cond, 10.0**log10_scale)
    mq = rng.standard_normal(d)
    mp_ = mq + rng.standard_normal(d) * 10.0**log10_shift
    if family == "independent":
        cp, _, _ = spd(rng, d, rng.uniform(0, 12), 10.0 ** rng.uniform(-3, 3))
    elif family == "rescaled":
        cp = cq * math.exp(rng.uniform(-2, 2))
    elif family == "commuting":
        cp = (q * (ev * np.exp(rng.uniform(-2, 2, d)))) @ q.T
        cp = (cp + cp.T) / 2
    elif family == "near-equal":
        cp, mp_ = cq * (1 + 10.0 ** rng.uniform(-8, -2)), mq.copy()
    else:
        cp = cq.copy()
    got = kl(FullGaussian(mp_, cp), FullGaussian(mq, cq))
    ref = kl_reference(mp_, cp, mq, cq)
    assert math.isfinite(got) and got >= 0
    assert abs(mpmath.mpf(float(got)) - ref) <= 1e-6 * abs(ref)


def test_kl_of_a_distribution_with_itself_is_zero_at_any_conditioning():
    rng = np.random.default_rng(0)
    for log10_cond in (0.0, 6.0, 12.0):
        c, _, _ = spd(rng, 4, log10_cond, 1.0)
        g = FullGaussian(np.ones(4), c)
        assert kl(g, g) == 0.0


# -- Model A at extreme scales --------------------------------------------------------------------
EXTREME_S = Range(1e-6, 1e6, log=True)


@st.composite
def extreme_scale_cases(draw, student_kinds=STUDENT_KINDS):
    """Model A cases with ``s`` log-uniform in [1e-6, 1e6] (other parameters from RANGES)."""
    s = draw(EXTREME_S.strategy())
    src = hypothesis_source(draw)
    wrapped = Source(draw=lambda name: s if name == "s" else src.draw(name), choose=src.choose)
    return build_gaussian_mean_case(wrapped, TEACHER_KINDS, student_kinds)


def no_nan(x):
    return not np.any(np.isnan(np.asarray(x, dtype=float)))


@given(extreme_scale_cases())
def test_model_a_never_nan_at_extreme_scales(case):
    model, st_, te = case.model, case.student, case.teacher
    vals = model.theorem_values(st_, te)
    assert all(no_nan(v) for v in vals.values())
    parts = model.divergence_parts(st_, te)
    assert all(v >= 0 and no_nan(v) for v in parts.values())
    assert vals["K_n"] >= 0 and vals["Esigma2"] > 0
    for k in (st_, te):
        for fn in (
            model.gen,
            model.information_ratio,
            model.mutual_information,
            model.lautum_information,
            model.symmetrized_information,
        ):
            assert no_nan(fn(k))
    assert no_nan(model.kl_given_data(st_, te, model.m))
    assert U1.evaluate(**vals).all_hold


@given(extreme_scale_cases(student_kinds=("kd", "tilt", "generic")))
@settings(max_examples=8)
def test_u0_quadrature_at_extreme_scales(case):
    """THEORY §6.4 polar quadrature stays finite and U0 <= U1 at extreme scales."""
    vals = case.model.theorem_values(case.student, case.teacher)
    e_d = case.model.expectation_over_data(
        U0.integrand_function, case.student, case.teacher, epsrel=1e-10
    )
    assert math.isfinite(e_d)
    assert U0.evaluate(**vals, E_D=e_d).all_hold
    u1 = float(U1.evaluate(**vals).rhs)
    assert e_d <= u1 * (1 + 1e-9) + 1e-300  # Cauchy-Schwarz: U0 <= U1


def test_vectorised_sweep_at_extreme_scales():
    batch = gaussian_mean_array_batch(np.random.default_rng(11), 50_000, ranges={"s": EXTREME_S})
    s = np.array([batch.params[i]["model"]["s"] for i in range(0, 50_000, 97)])
    assert s.min() < 1e-5 and s.max() > 1e5  # the sweep reaches the ends of the range
    assert all(no_nan(v) for v in batch.values.values())
    assert np.all(batch.values["K_n"] >= 0)
    assert U1.evaluate(**batch.values).all_hold
