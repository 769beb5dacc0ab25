"""Theorem S, the local tightness radius rho_0^loc, the uniform-ball validation model and the
sharpness audit claims (THEORY §5)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from proof_runner import run_proof
from scipy import integrate, special

from kdtheory import BallKernelModel, Sharpness, SubGaussian, theorem
from kdtheory.audit import claims_sharpness
from kdtheory.audit.sharpness_cases import build_ball_case
from kdtheory.proof import FAILED, PROVED
from kdtheory.sampling import RANGES
from kdtheory.strategies import hypothesis_source
from kdtheory.symbols import symbol
from kdtheory.theorems.sharpness import (
    RHO_0_LOCAL_STABLE,
    rho_0_local_root,
    tightness_radius_local,
    tightness_radius_local_value,
)

S, U_UNIFORM = theorem("S"), theorem("U-uniform")
G1, BETA, SIGMA = symbol("G1"), symbol("beta"), symbol("sigma")
ROOT = Path(__file__).resolve().parents[1]


def _r(name):
    return RANGES[name].strategy()


def _s_bound(g1, beta, rho, k_n):
    return float(S.rhs_value(dgen=0.0, G1=g1, beta=beta, rho=rho, K_n=k_n))


def _u_bound(sigma, k_n):
    return float(U_UNIFORM.rhs_value(dgen=0.0, sigma_bar=sigma, K_n=k_n))


# -- the theorem objects ---------------------------------------------------------------------------
def test_theorem_objects_carry_status_assumptions_and_reference():
    s, s2 = theorem("S"), theorem("S-smooth")
    assert (s.status.value, s2.status.value) == ("reconstructed", "extension")
    assert s.ref == "THEORY §5" and s2.ref.startswith("THEORY §5")
    assert [type(a) for a in s.assumptions] == [Sharpness]
    assert [type(a) for a in s2.assumptions] == [SubGaussian]
    assert s.is_upper and s2.is_upper
    assert (ROOT / s.proof).exists() and s.proof == s2.proof
    # the statement's right-hand side is s_rho sqrt(2 K_n) with s_rho from the assumption object
    expected = Sharpness().variation() * sp.sqrt(2 * symbol("K_n"))
    assert sp.simplify(s.rhs - expected) == 0
    assert "Sharpness" in s.latex() and r"\rho" in s.latex()


# -- rho_0^loc: derived root, stable form, limits ------------------------------------------------
def test_derived_root_equals_the_stable_form_symbolically():
    root = rho_0_local_root()
    assert sp.simplify(root - (sp.sqrt(G1**2 + 2 * BETA * SIGMA) - G1) / BETA) == 0
    assert sp.simplify(root - RHO_0_LOCAL_STABLE) == 0
    assert tightness_radius_local() == root
    # limits quoted in THEORY §5
    b = sp.Symbol("b", positive=True)
    assert sp.simplify(RHO_0_LOCAL_STABLE.subs({G1: 0, BETA: b}) - sp.sqrt(2 * SIGMA / b)) == 0
    assert sp.simplify(RHO_0_LOCAL_STABLE.subs(BETA, 0) - SIGMA / G1) == 0
    assert tightness_radius_local(1, 2, 3) == sp.sqrt(13) / 2 - sp.Rational(1, 2)


@given(g1=_r("G1"), beta=_r("beta"), sigma=_r("sigma"))
def test_numeric_radius_equals_the_derived_root_to_30_digits(g1, beta, sigma):
    exact_args = {G1: sp.Rational(g1), BETA: sp.Rational(beta), SIGMA: sp.Rational(sigma)}
    exact = sp.N(rho_0_local_root().subs(exact_args), 30)  # the doubles as exact rationals
    assert math.isclose(tightness_radius_local_value(g1, beta, sigma), float(exact), rel_tol=1e-13)


def test_numeric_radius_edge_cases():
    assert tightness_radius_local_value(2.0, 0.0, 1.0) == 0.5  # sigma / G1 at beta = 0
    assert math.isclose(tightness_radius_local_value(0.0, 2.0, 4.0), 2.0, rel_tol=1e-15)
    assert tightness_radius_local_value(0.0, 0.0, 1.0) == math.inf  # g constant on every ball
    arr = tightness_radius_local_value(np.array([2.0, 0.0]), np.array([0.0, 2.0]), 1.0)
    assert arr.shape == (2,) and arr[0] == 0.5 and math.isclose(arr[1], 1.0, rel_tol=1e-15)


@given(
    g1=_r("G1"),
    beta=_r("beta"),
    sigma=_r("sigma"),
    k_n=_r("K_n"),
    rho=st.floats(math.log(1e-4), math.log(1e3)).map(math.exp),
    kind=st.sampled_from(["generic", "affine", "critical"]),
)
def test_tightness_regime_symbolic_form(g1, beta, sigma, k_n, rho, kind):
    """sign(Theorem S bound - Theorem U bound with proxy sigma) = sign(rho - rho_0) (THEORY §5)."""
    g1 = 0.0 if kind == "critical" else g1
    beta = 0.0 if kind == "affine" else beta
    rho0 = tightness_radius_local_value(g1, beta, sigma)
    b_s, b_u = _s_bound(g1, beta, rho, k_n), _u_bound(sigma, k_n)
    if abs(rho / rho0 - 1) < 1e-9:  # at the radius itself: equal to the same precision
        assert math.isclose(b_s, b_u, rel_tol=1e-8)
    else:
        assert (b_s < b_u) == (rho < rho0) and b_s != b_u
    # equality at rho_0 and strict monotonicity of the S bound in rho
    assert math.isclose(_s_bound(g1, beta, rho0, k_n), b_u, rel_tol=1e-13)


@given(g1=_r("G1"), beta=_r("beta"), sigma=_r("sigma"), factor=st.floats(1.01, 100.0))
def test_flatter_teacher_wider_regime(g1, beta, sigma, factor):
    """d rho_0 / d beta < 0 (THEORY §5; proved in proofs/sharpness.py)."""
    assert tightness_radius_local_value(g1, beta, sigma) > tightness_radius_local_value(
        g1, beta * factor, sigma
    )


# -- the proof script ------------------------------------------------------------------------------
def test_proof_script_passes_every_step():
    proof = run_proof("sharpness")
    assert proof.ok and not [s for s in proof.steps if s.verdict == FAILED]
    assert sum(s.verdict == PROVED for s in proof.steps) >= 20


# -- the uniform-ball model: exact gen, divergence, sharpness constants -----------------------------
def _psi_quadrature(model, k, x):
    """``E_U (omega^2/q)^(d/2) exp(-||c + U||^2/(2q))`` by direct quadrature over the ball."""
    c = np.linalg.norm(model.offset(k))
    q, r = model.omega**2 + x, k.radius
    pref = (model.omega**2 / q) ** (model.d / 2)
    opts = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
    if model.d == 1:  # uniform on [-R, R]; c is |c_K| (the integrand is symmetric)
        val = integrate.quad(lambda u: math.exp(-((c + u) ** 2) / (2 * q)), -r, r, **opts)[0]
        return pref * val / (2 * r)
    # d = 2, polar coordinates: the angular integral is 2 pi I_0(c t / q)
    val = integrate.quad(
        lambda t: t * math.exp(-((c - t) ** 2) / (2 * q)) * special.i0e(c * t / q), 0, r, **opts
    )[0]
    return pref * 2 * val / r**2


@given(st.data())
def test_ball_gen_closed_form_equals_quadrature(data):
    case = build_ball_case(hypothesis_source(data.draw))
    m = case.model
    for k in (case.teacher, case.student):
        for x in (0.0, m.s**2, 3.7 * m.s**2):
            exact = m.ball_average(k, x)
            # ncx2.cdf flushes far-tail probabilities (< ~1e-40) to 0: absolute tolerance 1e-25
            assert math.isclose(exact, _psi_quadrature(m, k, x), rel_tol=1e-9, abs_tol=1e-25)


@pytest.mark.parametrize("d", [1, 2])
def test_ball_gen_matches_its_monte_carlo_twin(d):
    rng = np.random.default_rng(4 + d)
    model = BallKernelModel(d=d, n=4, s=0.8, m=0.3, omega=0.6)
    for k in (model.kernel(0.9, -0.2, 0.7), model.kernel(1.4, 0.5, 0.2)):
        est, se = model.monte_carlo_gen(k, 200_000, rng)
        assert abs(model.gen(k) - est) < 4 * se  # 4 standard errors


def test_ball_divergence_finite_only_inside_the_teacher_ball():
    m = BallKernelModel(d=2, n=5, s=1.0, omega=1.0)
    t = m.kernel(1.0, [0.0, 0.0], 1.0)
    assert m.distillation_divergence(m.kernel(1.0, [0.3, 0.4], 0.5), t) == 2 * math.log(2.0)
    assert m.distillation_divergence(t, t) == 0.0
    outside = m.distillation_divergence(m.kernel(1.0, [0.3, 0.4], 0.6), t)
    other_a = m.distillation_divergence(m.kernel(0.9, [0.0, 0.0], 0.1), t)
    assert outside == math.inf and "not inside" in outside.reason
    assert other_a == math.inf and "unbounded in D" in other_a.reason


@given(st.data())
def test_ball_sharpness_constants_bound_gradient_and_hessian(data):
    """``||grad g|| <= G1`` and ``||Hess g||_op <= beta`` at random w and datasets (analytic
    derivatives of g = L_mu - L_D, THEORY §5)."""
    case = build_ball_case(hypothesis_source(data.draw))
    m = case.model
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    c, sig2 = m.gap_floor(), m.omega**2 + m.s**2
    consts = m.sharpness_constants()
    z = m.m + m.s * rng.standard_normal((m.n, m.d))
    scales = np.array([0.0, 0.3, 1.0, 3.0])[:, None] * max(m.omega, m.s)
    for w in m.m + scales * rng.standard_normal((4, m.d)):
        # L_mu(w) = 1 - C exp(-|w - m|^2/(2 sig2));  L_D(w) = 1 - mean exp(-|w - z_i|^2/(2 om^2))
        x = w - m.m
        e_mu = c * math.exp(-(x @ x) / (2 * sig2))
        grad = e_mu * x / sig2
        hess = e_mu * (np.eye(m.d) / sig2 - np.outer(x, x) / sig2**2)
        for zi in z:
            y = w - zi
            e = math.exp(-(y @ y) / (2 * m.omega**2)) / m.n
            grad -= e * y / m.omega**2
            hess -= e * (np.eye(m.d) / m.omega**2 - np.outer(y, y) / m.omega**4)
        assert np.linalg.norm(grad) <= consts["G1"] * (1 + 1e-12)
        assert np.max(np.abs(np.linalg.eigvalsh(hess))) <= consts["beta"] * (1 + 1e-12)


@given(st.data())
def test_theorem_s_holds_on_uniform_ball_kernels(data):
    case = build_ball_case(hypothesis_source(data.draw))
    vals = case.model.theorem_values(case.student, case.teacher)
    assert S.evaluate(**vals).all_hold
    assert U_UNIFORM.evaluate(**vals).all_hold
    # the regime on the model's own constants: S is tighter iff the radius is below rho_0^loc
    rho0 = tightness_radius_local_value(vals["G1"], vals["beta"], vals["sigma_bar"])
    b_s, b_u = S.evaluate(**vals).rhs, U_UNIFORM.evaluate(**vals).rhs
    if vals["K_n"] > 0:
        assert (b_s < b_u) == (vals["rho"] < rho0)


def test_small_teacher_ball_theorem_s_is_tighter_and_holds():
    m = BallKernelModel(d=2, n=3, s=1.0, m=[0.5, -0.5], omega=0.5)
    t, s = m.kernel(0.8, [0.1, 0.0], 0.05), m.kernel(0.8, [0.13, 0.0], 0.02)
    vals = m.theorem_values(s, t)
    ev_s, ev_u = S.evaluate(**vals), U_UNIFORM.evaluate(**vals)
    assert ev_s.all_hold and ev_u.all_hold and vals["dgen"] != 0
    assert float(ev_s.rhs) < 0.2 * float(ev_u.rhs)  # rho = 0.05 is far below rho_0^loc


# -- the audit claims (and that their checks can fail) -------------------------------------------
def test_regime_claims_hold_and_report_zero_disagreements():
    rng = np.random.default_rng(0)
    local = claims_sharpness.local_regime_check(rng, 3000)
    model = claims_sharpness.smoothing_regime_check(rng, 40)
    for out in (local, model):
        assert out.cases > 0 and out.disagreements == 0 and out.unresolved == 0 and out.witness_ok


def test_regime_checks_detect_a_wrong_radius(monkeypatch):
    """Negative control: a radius 1 % off, or Model A's t -> 1 limit sqrt(2) rho_*, must be caught."""
    monkeypatch.setattr(
        claims_sharpness,
        "tightness_radius_local_value",
        lambda g1, b, s: 1.01 * tightness_radius_local_value(g1, b, s),
    )
    out = claims_sharpness.local_regime_check(np.random.default_rng(1), 3000)
    assert out.disagreements > 0 and not out.witness_ok and out.counterexample is not None
    from kdtheory.models.gaussian_mean import GaussianMeanModel

    monkeypatch.setattr(
        GaussianMeanModel,
        "tightness_radius",
        lambda self, st_, te: math.sqrt(2) * self.optimal_radius(st_, te),
    )
    out = claims_sharpness.smoothing_regime_check(np.random.default_rng(2), 60)
    assert not out.witness_ok


def test_audit_claims_registered_and_hold():
    from kdtheory.audit import run_audit

    ids = ["S", "S-regime", "S-smooth", "S-smooth-regime", "S-smooth@bump", "U-uniform@bump"]
    report = run_audit(seed=3, scale=0.2, only=ids)
    assert [r.id for r in report.results] == ids  # registered in reading order
    assert all(r.verdict == "holds" and r.violations == 0 for r in report.results)


# -- invalid input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: tightness_radius_local_value(-1.0, 1.0, 1.0), ValueError, "G1"),
        (lambda: tightness_radius_local_value(1.0, float("nan"), 1.0), ValueError, "beta"),
        (lambda: tightness_radius_local_value(1.0, 1.0, 0.0), ValueError, "sigma"),
        (
            lambda: tightness_radius_local_value(1.0, math.inf, 1.0),
            ValueError,
            "beta must be finite",
        ),
        (lambda: tightness_radius_local_value("1", 1.0, 1.0), TypeError, "G1"),
        (lambda: S.evaluate(dgen=0.1, K_n=1.0, G1=1.0, beta=1.0, rho=-0.5), ValueError, "rho"),
        (lambda: S.evaluate(dgen=0.1, K_n=-1.0, G1=1.0, beta=1.0, rho=0.5), ValueError, "K_n"),
        (lambda: Sharpness(beta=-1.0), ValueError, "beta"),
        (lambda: BallKernelModel(d=0, n=3, s=1.0), ValueError, "d"),
        (lambda: BallKernelModel(d=1, n=3, s=1.0, omega=-1.0), ValueError, "omega"),
        (lambda: BallKernelModel(d=1, n=3, s=1.0, omega=math.inf), ValueError, "omega"),
        (lambda: BallKernelModel(d=1, n=3, s=1.0).kernel(1.0, 0.0, 0.0), ValueError, "radius"),
        (lambda: BallKernelModel(d=2, n=3, s=1.0).kernel(1.0, [0, 0, 0], 1.0), ValueError, "b"),
        (lambda: BallKernelModel(d=1, n=3, s=1.0).gen("kernel"), TypeError, "BallKernel"),
    ],
)
def test_invalid_input_raises_naming_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()
