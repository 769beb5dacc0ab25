"""The exact joint CGF of the Gaussian mean model and the constants built on it
(THEORY §3, §4, §6.5, §6.6; golden values THEORY §9)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kdtheory import GaussianMeanModel, theorem
from kdtheory.models.gaussian_cgf import CGF_EXPR, CGF_SYMBOLS
from kdtheory.strategies import gaussian_mean_cases

RTOL_GOLDEN = 1e-12  # THEORY §9: double-precision references
EPS = np.finfo(float).eps


def golden():
    """THEORY §9: d=3, n=7, s=1.3, m=(.5,-1,2); Gibbs(gamma=2, lam=.7, m0=.2) teacher;
    KD(alpha=.3, gamma_S=1, lam_S=2, m0_S=0) student with mean soft labels."""
    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    student = model.kd_student(teacher, alpha=0.3, gamma=1.0, lam=2.0, m0=0.0)
    return model, student, teacher


# -- symbolic facts about the closed form ---------------------------------------------------------


def test_cgf_derivatives_at_zero_are_gen_and_variance():
    """d/dtheta log E e^{theta g} at 0 = gen = 2 a d s^2/n and the second derivative = Var g of
    THEORY §6.5 (exact, sympy)."""
    th, d, n, s, a, tau, ck2 = CGF_SYMBOLS
    v = s**2 / n
    first = sp.diff(CGF_EXPR, th).subs(th, 0)
    second = sp.diff(CGF_EXPR, th, 2).subs(th, 0)
    var = 4 * tau**2 * d * v + 4 * v * ck2 + 2 * d * v**2 * ((2 * a - 1) ** 2 + n - 1)
    assert sp.simplify(CGF_EXPR.subs(th, 0)) == 0
    assert sp.simplify(first - 2 * a * d * s**2 / n) == 0
    assert sp.simplify(second - var) == 0


@given(gaussian_mean_cases())
def test_gap_variance_matches_symbolic_second_derivative(case):
    model, k = case.model, case.teacher
    th, d, n, s, a, tau, ck2 = CGF_SYMBOLS
    ck = model.offset(k)
    second = sp.diff(CGF_EXPR, th, 2).subs(th, 0)
    sub = {d: model.d, n: model.n, s: model.s, a: k.a, tau: k.tau, ck2: float(ck @ ck)}
    assert math.isclose(model.gap_variance(k), float(second.subs(sub)), rel_tol=1e-12)


# -- golden values (THEORY §9) --------------------------------------------------------------------


def test_golden_values():
    model, student, teacher = golden()
    assert math.isclose(model.gap_variance(teacher), 2.9893622324257914, rel_tol=RTOL_GOLDEN)
    # eta_c from Brent's method at rtol 4 ulp: it reaches the reference to 1 ulp
    eta_c = model.eta_central(teacher)
    assert math.isclose(eta_c, 0.7044512613306998, rel_tol=RTOL_GOLDEN)
    vals = model.theorem_values(student, teacher)
    l_at_eta_c = theorem("L").evaluate(**vals, eta=eta_c, c=0.0).rhs
    assert math.isclose(float(l_at_eta_c), -3.3509719737911694, rel_tol=RTOL_GOLDEN)
    assert math.isclose(
        model.u_joint(student, teacher).value, 3.9422332770037194, rel_tol=RTOL_GOLDEN
    )
    assert math.isclose(
        model.u_gamma(student, teacher).value, 5.299334781101108, rel_tol=RTOL_GOLDEN
    )
    low = model.u_joint_lower(student, teacher)
    assert math.isclose(vals["gen_T"] + low.value, -3.0702123109080652, rel_tol=RTOL_GOLDEN)
    # THEORY §9 quotes the optimiser and c* to 12 digits only
    assert math.isclose(low.theta, 0.944435150415, rel_tol=1e-11)
    assert math.isclose(model.central_slack(teacher, low.theta), -0.462946369292, abs_tol=1e-12)


# -- Monte Carlo twin (4 standard errors) ---------------------------------------------------------


@pytest.mark.parametrize("fraction", [-0.3, -0.1, 0.1, 0.3])
def test_joint_cgf_matches_monte_carlo_golden(fraction):
    """At theta = fraction x (domain edge), so 2 theta is inside the domain (finite MC variance)."""
    model, _, teacher = golden()
    lo, hi = model.cgf_domain(teacher)
    theta = fraction * (hi if fraction > 0 else -lo)
    est, se = model.monte_carlo_cgf(teacher, theta, 200_000, np.random.default_rng(7))
    assert abs(est - model.joint_cgf(teacher, theta)) <= 4 * se


@settings(max_examples=15)
@given(gaussian_mean_cases(), st.floats(-0.5, 0.5), st.integers(0, 2**32 - 1))
def test_joint_cgf_matches_monte_carlo_random(case, f, seed):
    """theta = f / sd(g) (capped at 0.3 x the domain edge): theta g has sd <= 0.5, so
    exp(theta g) is not so heavy-tailed that its sample standard error is unreliable."""
    model, k = case.model, case.student
    lo, hi = model.cgf_domain(k)
    theta = float(np.clip(f / math.sqrt(model.gap_variance(k)), 0.3 * lo, 0.3 * hi))
    est, se = model.monte_carlo_cgf(k, theta, 20_000, np.random.default_rng(seed))
    assert abs(est - model.joint_cgf(k, theta)) <= 4 * se + 1e-12


# -- domain, eigenvalues, Jensen ------------------------------------------------------------------


@given(gaussian_mean_cases())
def test_domain_and_eigenvalues(case):
    model, k = case.model, case.teacher
    mu_p, mu_m = model.chaos_eigenvalues(k)
    v, b = model.v, (2 * k.a - 1) * model.v
    assert mu_m < 0 < mu_p
    assert math.isclose(mu_p + mu_m, b, rel_tol=1e-12, abs_tol=1e-14 * (abs(mu_p) + abs(mu_m)))
    assert math.isclose(mu_p * mu_m, -(k.tau**2) * v, rel_tol=1e-12)
    lo, hi = model.cgf_domain(k)
    assert lo < 0 < hi
    # +inf exactly outside, finite just inside
    assert model.joint_cgf(k, hi) == math.inf and model.joint_cgf(k, lo) == math.inf
    assert math.isfinite(model.joint_cgf(k, hi * (1 - 1e-6)))
    assert math.isfinite(model.joint_cgf(k, lo * (1 - 1e-6)))


@given(gaussian_mean_cases(), st.floats(-0.99, 0.99))
def test_centred_cgf_is_nonnegative(case, fraction):
    """Jensen: Lambda(theta) = log E exp(theta (g - gen)) >= 0, with Lambda(0) = 0."""
    model, k = case.model, case.teacher
    lo, hi = model.cgf_domain(k)
    theta = fraction * (hi if fraction > 0 else -lo)
    lam = model.centred_cgf(k, theta)
    scale = abs(theta) * (abs(model.gen(k)) + model.d * model.s**2) + 1e-300
    assert lam >= -1e-12 * scale
    assert model.centred_cgf(k, 0.0) == 0.0


def test_cgf_vectorised_and_n_equal_one():
    model = GaussianMeanModel(d=2, n=1, s=0.7, m=0.3)
    k = model.kernel(0.4, 0.1, 0.5)
    lo, hi = model.cgf_domain(k)
    # for n = 1 there is no S_D term: the lower edge is 1/(2 mu_-), below -1/(2v)
    assert lo == 1 / (2 * model.chaos_eigenvalues(k)[1]) < -1 / (2 * model.v)
    grid = np.linspace(lo * 0.99, hi * 0.99, 7)
    vec = model.joint_cgf(k, grid)
    assert np.all(np.isfinite(vec))
    assert np.allclose(vec, [model.joint_cgf(k, float(t)) for t in grid], rtol=0, atol=0)


# -- central condition (THEORY §4, §6.6) ----------------------------------------------------------


@given(gaussian_mean_cases(teacher_kinds=("gibbs", "bayes", "generic")))
def test_eta_central_is_the_positive_root(case):
    model, t = case.model, case.teacher
    eta_c = model.eta_central(t)
    if model.gen(t) <= 0:
        assert eta_c == 0.0
        return
    edge = -model.cgf_domain(t)[0]
    assert 0 < eta_c < edge
    # f(eta) = log E exp(-eta g) changes sign within a few ulp of eta_c (f may be steep there:
    # near the edge it blows up like -log(edge - eta)); +inf beyond the edge.  The sign is read
    # from the cancellation-free h(eta) = f(eta)/eta = Lambda(-eta)/eta - gen_T.  (Near the edge
    # f is ill-conditioned in the kernel's parameters -- log p(theta) with p -> 0 -- so the
    # uncentred joint_cgf, which also cancels terms of size ~eta d s^2, is not used here; the two
    # forms are compared where they are well conditioned: test_stable_centred_cgf_matches_80_digit_symbolic.)
    gen = model.gen(t)

    def h(eta):
        return model.centred_cgf(t, -eta) / eta - gen

    below, above = eta_c * (1 - 8 * EPS), min(eta_c * (1 + 8 * EPS), edge)
    tol = 1e-12 * gen
    assert h(eta_c) <= 0  # eta_c is admissible: the central condition holds there exactly
    assert h(below) <= tol
    assert above == edge or h(above) >= -tol
    # c*(eta) in [0, 1) below eta_c, negative above (THEORY §4)
    for u in (0.1, 0.5, 0.9):
        c = model.central_slack(t, u * eta_c)
        # c* < 1 strictly; below eta ~ 1e-150, 1 - c* ~ eta Var / gen_T underflows next to 1
        assert 0 <= c < 1 if eta_c > 1e-100 else 0 <= c <= 1
    mid = 0.5 * (eta_c + edge)
    if mid > eta_c * (1 + 8 * EPS):  # else eta_c is the last double below the edge
        assert model.central_slack(t, mid) < 0


def test_eta_central_monte_carlo():
    """E exp(-eta_c g) = 1 by simulation, within 4 standard errors."""
    model, _, teacher = golden()
    eta_c = model.eta_central(teacher)
    # 2 eta_c must be inside the domain for a finite MC variance
    assert 2 * eta_c < -model.cgf_domain(teacher)[0]
    est, se = model.monte_carlo_cgf(teacher, -eta_c, 400_000, np.random.default_rng(3))
    assert abs(est) <= 4 * se


def test_eta_central_zero_when_gen_nonpositive():
    model = GaussianMeanModel(d=2, n=5, s=1.0)
    assert model.eta_central(model.kernel(0.0, 0.0, 1.0)) == 0.0
    assert model.eta_central(model.kernel(-0.5, 0.3, 0.2)) == 0.0


@pytest.mark.parametrize("factor,central", [(0.5, True), (0.99, True), (1.01, False), (2.0, False)])
def test_loss_central_constant(factor, central):
    """E exp(-eta (l(w,Z) - l(m,Z))) = exp(-eta (1 - 2 eta s^2) ||w - m||^2) (THEORY §6.6): <= 1
    iff eta <= 1/(2 s^2); checked by simulation within 4 standard errors."""
    model = GaussianMeanModel(d=2, n=3, s=0.8, m=[0.2, -0.4])
    eta = factor * model.loss_central_constant()
    assert model.loss_central_constant() == 1 / (2 * 0.8**2)
    w = model.m + np.array([0.3, 0.1])
    r2 = float(np.sum((w - model.m) ** 2))
    exact = math.exp(-eta * (1 - 2 * eta * model.s**2) * r2)
    assert (exact <= 1) is central
    z = model.m + model.s * np.random.default_rng(11).standard_normal((400_000, 2))
    x = np.exp(-eta * (np.sum((w - z) ** 2, axis=1) - np.sum((model.m - z) ** 2, axis=1)))
    assert abs(x.mean() - exact) <= 4 * x.std(ddof=1) / math.sqrt(len(x))


# -- the U-joint optimisation (THEORY §3) ---------------------------------------------------------


@settings(max_examples=25)
@given(gaussian_mean_cases())
def test_u_joint_optimiser(case):
    """theta* minimises the unimodal objective; at theta* the objective equals Lambda'(theta*);
    the exact-CGF bound is at least as tight as the sub-gamma envelope (THEORY §3, §6.5)."""
    model, s_, t = case.model, case.student, case.teacher
    gen_t = model.gen(t)
    if model.distillation_divergence(s_, t) == 0:  # student == teacher: no optimiser exists
        with pytest.raises(ValueError, match="K_n > 0"):
            model.u_joint(s_, t)
        assert model.u_gamma(s_, t).value == 0.0 == model.u_gamma(s_, t).theta
        return
    for side in (+1, -1):
        b = model.u_joint(s_, t) if side > 0 else model.u_joint_lower(s_, t)
        k_n = b.values["K_n"]

        def obj(th, side=side, k_n=k_n):
            return (k_n + model.centred_cgf(t, side * th)) / th

        best = obj(b.theta)
        assert math.isclose(side * best, b.value, rel_tol=1e-12)
        for f in (1 - 1e-3, 1 + 1e-3, 0.5, 0.9):
            th = b.theta * f
            if (side * th) < model.cgf_domain(t)[1] and (side * th) > model.cgf_domain(t)[0]:
                assert obj(th) >= best * (1 - 1e-12)
        slope = side * model.joint_cgf_derivative(t, side * b.theta) - side * gen_t
        assert math.isclose(slope, best, rel_tol=1e-8)
    assert model.u_joint(s_, t).value <= model.u_gamma(s_, t).value * (1 + 1e-12)
    assert gen_t + model.u_joint_lower(s_, t).value >= model.l_gamma(s_, t).value - 1e-12 * (
        1 + abs(gen_t)
    )


@given(gaussian_mean_cases())
def test_sub_gamma_envelopes_bound_the_cgf(case):
    """Lambda(theta) <= V theta^2 / (2 (1 - b theta)) on 0 < theta < 1/b, both sides (THEORY §6.5)."""
    model, t = case.model, case.teacher
    for side, sign in (("upper", 1), ("lower", -1)):
        var, b = model.sub_gamma_constants(t, side)
        for f in (0.1, 0.5, 0.9, 0.999):
            th = f / b
            lam = model.centred_cgf(t, sign * th)
            assert lam <= var * th**2 / (2 * (1 - b * th)) * (1 + 1e-10)


def test_cgf_bound_values_come_from_the_statements():
    model, student, teacher = golden()
    for method, thm in (
        ("u_joint", "U-joint"),
        ("u_joint_lower", "U-joint-lower"),
        ("u_gamma", "U-gamma"),
        ("l_gamma", "L-gamma"),
    ):
        b = getattr(model, method)(student, teacher)
        ev = theorem(thm).evaluate(**b.values)
        assert float(ev.rhs) == b.value and ev.all_hold
    ug = model.u_gamma(student, teacher)
    var, bg = model.sub_gamma_constants(teacher)
    k_n = ug.values["K_n"]
    # theta* = 1/(b + sqrt(V/(2K))) attains the envelope infimum (THEORY §3)
    env = k_n / ug.theta + var * ug.theta / (2 * (1 - bg * ug.theta))
    assert math.isclose(env, ug.value, rel_tol=1e-12)


# -- invalid inputs -------------------------------------------------------------------------------

_M = GaussianMeanModel(d=2, n=4, s=1.0)
_K = _M.kernel(0.5, 0.0, 1.0)
_OTHER = GaussianMeanModel(d=3, n=4, s=1.0).kernel(0.5, 0.0, 1.0)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: _M.joint_cgf(_K, float("nan")), ValueError, "theta"),
        (lambda: _M.joint_cgf(_K, "0.1"), TypeError, "theta"),
        (lambda: _M.joint_cgf("kernel", 0.1), TypeError, "kernel"),
        (lambda: _M.joint_cgf(_OTHER, 0.1), ValueError, "dimension"),
        (lambda: _M.central_slack(_K, -1.0), ValueError, "eta"),
        (lambda: _M.central_slack(_K, 0.0), ValueError, "eta"),
        (lambda: _M.central_slack(_M.kernel(-0.1, 0, 1), 0.5), ValueError, "gen_T"),
        (lambda: _M.sub_gamma_constants(_K, "middle"), ValueError, "side"),
        (lambda: _M.u_joint(_K, _K), ValueError, "K_n"),
        (lambda: _M.monte_carlo_cgf(_K, 0.1, 0, np.random.default_rng(0)), ValueError, "size"),
    ],
)
def test_invalid_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- the cancellation-free centred CGF equals the symbolic one ------------------------------------


def _stable_sympy():
    th, d, n, s, a, tau, ck2 = CGF_SYMBOLS
    v = s**2 / n
    x = 2 * th * v
    q = -2 * th * (2 * a - 1) * v - 4 * th**2 * tau**2 * v

    def ell(y):
        return sp.log(1 + y) - y

    return (
        -(d * (n - 1) / 2) * ell(x)
        - (d / 2) * ell(q)
        + 2 * d * th**2 * tau**2 * v
        + 2 * th**2 * v * ck2 / (1 + q)
    )


def test_stable_centred_form_is_symbolically_equal():
    th, d, n, s, a, tau, ck2 = CGF_SYMBOLS
    centred = CGF_EXPR - th * 2 * a * d * s**2 / n
    assert sp.simplify(sp.expand(centred - _stable_sympy())) == 0


_TH, _D, _N, _S, _A, _TAU, _CK2 = CGF_SYMBOLS
_CENTRED = CGF_EXPR - _TH * 2 * _A * _D * _S**2 / _N
# n = 1: the S_D term d(n-1)/2 log(1 + 2 theta v) is absent (sympy drops 0 * log(...))
_MP = {
    many: tuple(
        sp.lambdify(CGF_SYMBOLS, e if many else e.subs(_N, 1), "mpmath")
        for e in (_CENTRED, sp.diff(_CENTRED, _TH))
    )
    for many in (True, False)
}


@settings(max_examples=30)
@given(gaussian_mean_cases(), st.floats(0.01, 0.99), st.booleans(), st.integers(-12, 0))
def test_stable_centred_cgf_matches_80_digit_symbolic(case, f, negative, exponent):
    """centred_cgf and its derivative against CGF_EXPR - theta gen evaluated by mpmath with 80
    digits, down to theta = 1e-14 x (domain edge), where the naive difference in double precision
    loses most digits."""
    import mpmath

    model, k = case.model, case.teacher
    lo, hi = model.cgf_domain(k)
    theta = (-f * -lo if negative else f * hi) * 10.0**exponent
    ck = model.offset(k)
    with mpmath.workdps(80):
        args = [mpmath.mpf(x) for x in (theta, model.d, model.n, model.s, k.a, k.tau, ck @ ck)]
        f_mp, df_mp = _MP[model.n > 1]
        ref, dref = float(f_mp(*args)), float(df_mp(*args))
    lam, dlam = model._centred_terms(k, theta)
    assert math.isclose(model.centred_cgf(k, theta), ref, rel_tol=1e-12)
    assert math.isclose(float(dlam), dref, rel_tol=1e-11)
