"""Model A-bump (THEORY §6 A-bump): exact gen vs its Monte Carlo twin, the Hoeffding proxy, the
teacher's sharpness gap Sh_rho, the numeric tightness radius, and a teacher whose flatness moves
rho_0 (THEORY §5)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kdtheory.models.ball_kernel
import kdtheory.models.bump
import kdtheory.models.gaussian_smoothing
from kdtheory import BumpLossModel, GaussianMeanModel, theorem
from kdtheory.audit.sharpness_cases import build_bump_case
from kdtheory.strategies import hypothesis_source

S_SMOOTH, U_UNIFORM, U1 = theorem("S-smooth"), theorem("U-uniform"), theorem("U1")


def _case(draw, **kw):
    return build_bump_case(hypothesis_source(draw), **kw)


# -- exact gen ------------------------------------------------------------------------------------
@settings(max_examples=12)
@given(st.data())
def test_gen_matches_its_monte_carlo_twin(data):
    case = _case(data.draw)
    m = case.model
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    size = max(2000, 400_000 // (m.n * m.d))
    for k in (case.teacher, case.student):
        est, se = m.monte_carlo_gen(k, size, rng)
        assert abs(m.gen(k) - est) <= 4 * se + 1e-15  # 4 standard errors


def test_gen_hand_value_and_squared_loss_limit():
    # flat-prior Bayes teacher, d = 2, m = 0: c_K = 0, v_tr = 1, v_te = 1.2 -> 1/2 - 1/2.2 = 1/22
    m = BumpLossModel(d=2, n=10, s=1.0, m=0.0, beta=1.0)
    assert math.isclose(m.gen(m.tempered_bayes(1.0)), 1 / 22, rel_tol=1e-14)
    # wide bump: l ~ ||w - z||^2/(2 omega^2), so 2 omega^2 gen -> Model A's gen = 2 a d s^2 / n
    a_model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    wide = BumpLossModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0], beta=1e3)
    k = a_model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    assert math.isclose(2 * 1e6 * wide.gen(k), a_model.gen(k), rel_tol=1e-4)


@given(st.data())
def test_gap_range_and_hoeffding_proxy(data):
    case = _case(data.draw)
    m = case.model
    c = m.gap_floor()
    assert 0 < c < 1 and m.hoeffding_proxy() == (1 + c) ** 2 / 4
    rng = np.random.default_rng(0)
    z, w = m.simulate(case.teacher, 500, rng)
    # g(w, D) = L_mu(w) - L_D(w) with L_mu(w) = 1 - C exp(-|w - m|^2 / (2 (omega^2 + s^2)))
    l_mu = 1 - c * np.exp(-np.sum((w - m.m) ** 2, axis=1) / (2 * (m.omega**2 + m.s**2)))
    l_d = np.mean(kdtheory.models.bump.bump_loss(w[:, None, :], z, m.omega), axis=1)
    g = l_mu - l_d
    assert np.all(g > -c) and np.all(g <= 1)


@given(st.data())
def test_upper_bounds_hold_with_the_hoeffding_proxy(data):
    case = _case(data.draw)
    vals = case.model.theorem_values(case.student, case.teacher)
    assert U_UNIFORM.evaluate(**vals).all_hold and U1.evaluate(**vals).all_hold
    for rho in (0.0, 0.1, 1.0, 5.0):
        assert S_SMOOTH.evaluate(
            **case.model.smoothing_values(case.student, case.teacher, rho)
        ).all_hold


# -- sharpness gap and tightness radius -----------------------------------------------------------
def test_sharpness_gap_is_nonzero_and_vanishes_at_rho_0():
    m = BumpLossModel(d=1, n=2, s=1.0, m=0.0, beta=0.5)
    t = m.kernel(1.0, 0.0, 0.3)
    assert m.sharpness_gap(t, 0.0) == 0.0
    assert m.sharpness_gap(t, 0.3) < -1e-3  # smoothing a teacher at the bump's centre lowers gen
    assert m.sharpness_gap(m.kernel(1.0, 2.0, 0.3), 0.3) > 1e-3  # on the flank it raises it


@settings(max_examples=15)
@given(st.data(), st.floats(1.1, 4.0))
def test_numeric_tightness_radius_is_the_first_crossing(data, factor):
    case = _case(data.draw, teacher_kinds=("gibbs", "bayes"))
    m, t = case.model, case.teacher
    s = m.kernel(case.student.a, case.student.b, factor * t.tau)
    r0 = m.tightness_radius(s, t)
    b0 = m.smoothing_bound(s, t, 0.0)
    scale = abs(m.gen(t)) + abs(b0 - m.gen(t))
    if math.isinf(r0):  # no crossing up to 1e100 tau_T: a huge offset term decays like 1/rho^2
        assert np.all(m.smoothing_bound(s, t, np.geomspace(1e-4, 1e100, 60) * t.tau) < b0)
    elif r0 > 0:
        assert abs(m.smoothing_bound(s, t, r0) - b0) <= 1e-12 * scale
        inside = m.smoothing_bound(s, t, r0 * np.linspace(0.02, 0.98, 25))
        assert np.all(inside < b0)
        assert m.smoothing_bound(s, t, 1.02 * r0) > b0
        r_opt = m.optimal_radius(s, t)
        dense = m.smoothing_bound(s, t, np.geomspace(1e-4 * t.tau, r0, 300))
        assert 0 < r_opt < r0 and m.smoothing_bound(s, t, r_opt) <= dense.min() + 1e-12 * scale
    else:
        assert m.smoothing_bound(s, t, 1e-4 * t.tau) >= b0


def test_teacher_flatness_moves_rho_0():
    """Two teachers with the *same* divergence profile K_n(S || T^rho) (students 1.5 tau_T with the
    teacher's mean map, so c_Delta = 0 and da = 0) but different expected-sharpness gaps: the
    teacher at the bump's centre (Sh_rho < 0) has a wider regime than the one on its flank
    (Sh_rho > 0); with Sh_rho removed both would share one radius (THEORY §5, §6 A-bump)."""
    m = BumpLossModel(d=1, n=2, s=1.0, m=0.0, beta=0.5)
    radii, gaps = [], []
    for b in (0.0, 2.0):
        t = m.kernel(1.0, b, 0.3)
        s = m.kernel(1.0, b, 0.45)
        radii.append(m.tightness_radius(s, t))
        gaps.append(m.sharpness_gap(t, 0.3))
        k_profile = [m.smoothing_values(s, t, r)["K_n_rho"] for r in (0.1, 0.3, 0.7)]
        if b == 0.0:
            k_ref = k_profile
        else:
            np.testing.assert_allclose(k_profile, k_ref, rtol=1e-14)
    assert gaps[0] < 0 < gaps[1]
    assert radii[0] > 1.1 * radii[1] > 0  # 0.834 vs 0.689

    # the same bound with Sh_rho removed (a flat teacher in the smoothing sense): one radius
    class NoSharpnessGap(BumpLossModel):
        def smoothing_values(self, student, teacher, rho):
            return {**super().smoothing_values(student, teacher, rho), "Sh_rho": 0.0}

    flat = NoSharpnessGap(d=1, n=2, s=1.0, m=0.0, beta=0.5)
    flat_radii = [
        flat.tightness_radius(flat.kernel(1.0, b, 0.45), flat.kernel(1.0, b, 0.3))
        for b in (0.0, 2.0)
    ]
    assert math.isclose(flat_radii[0], flat_radii[1], rel_tol=1e-12)
    assert radii[1] < flat_radii[0] < radii[0]


def test_module_doctests():
    for mod in (
        kdtheory.models.bump,
        kdtheory.models.ball_kernel,
        kdtheory.models.gaussian_smoothing,
    ):
        res = doctest.testmod(mod)
        assert res.attempted > 0 and res.failed == 0


# -- invalid input ---------------------------------------------------------------------------------
_M = BumpLossModel(d=2, n=4, s=1.0, m=0.0, beta=1.0)
_T = _M.tempered_bayes(1.0)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: BumpLossModel(d=2, n=4, s=1.0, beta=0.0), ValueError, "beta"),
        (lambda: BumpLossModel(d=2, n=4, s=1.0, beta=-1.0), ValueError, "beta"),
        (lambda: BumpLossModel(d=2, n=4, s=1.0, beta=math.inf), ValueError, "beta"),
        (lambda: BumpLossModel(d=2, n=4, s=1.0, beta="wide"), TypeError, "beta"),
        (lambda: BumpLossModel(d=0, n=4, s=1.0), ValueError, "d"),
        (lambda: BumpLossModel(d=2, n=0, s=1.0), ValueError, "n"),
        (lambda: BumpLossModel(d=2, n=4, s=-1.0), ValueError, "s"),
        (lambda: BumpLossModel(d=2, n=4, s=1.0, m=[1, 2, 3]), ValueError, "m"),
        (lambda: _M.gen("teacher"), TypeError, "GaussianKernel"),
        (lambda: _M.gen(GaussianMeanModel(d=1, n=4, s=1.0).kernel(1.0)), ValueError, "dimension"),
        (lambda: _M.sharpness_gap(_T, -1.0), ValueError, "rho"),
        (lambda: _M.smoothing_bound(_T, _T, float("nan")), ValueError, "rho"),
    ],
)
def test_invalid_input_raises_naming_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()
