"""Model A's joint CGF and smoothing quantities as data (kdtheory.formulas.gaussian_cgf, issue 11):
the compiled functions equal their expressions at 50 digits, the derived CGF's Taylor
coefficients are the moment engine's mean and variance, the stable overrides equal their
definitions (the tightness series is the expansion of the closed form), the expressions reproduce
THEORY §9, ``kdtheory derive`` knows them, and ``p(theta)`` & co. are written only in formulas/."""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from formula_checks import hits_outside_formulas, run_derive
from test_formulas import _golden_subs

from kdtheory.formulas import OVERRIDES, compile_expr
from kdtheory.formulas import gaussian_cgf as G
from kdtheory.formulas import gaussian_mean as F
from kdtheory.formulas.compile import definition, log1pmx, tightness_ratio
from kdtheory.formulas.engine import gaussian_expectation, gaussian_log_mgf
from kdtheory.formulas.stable import SERIES_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-12  # compiled double vs 50-digit mpmath of the expression (issue 11)
SYM = {k: p.symbol for k, p in F.SYMBOLS.items()}


# -- compiled numpy vs the expression at 50 digits --------------------------------------------------
def _draw_case(rng, args, size, wider=False):
    """Columns for ``args``: model and kernel parameters from their domains; ``theta`` (``eta``)
    a fraction in (-0.99, 0.99) (in (0, 0.99)) of the way to the CGF domain's edge, sometimes
    tiny (down to 1e-12 of it); ``t`` in (0, 0.97) and ``tau_T < 0.985 tau_S`` or
    ``tau_T >= tau_S`` (only the former with ``wider``, for ``rho_0^sm``, which is 0 otherwise; the
    Lambert-W branch of the tightness ratio is accurate to ~1e-16/(1 - t)^2, tested separately)."""
    col = {
        "a": rng.uniform(-3, 3, size),
        "tau": np.exp(rng.uniform(math.log(0.05), math.log(20), size)),
        "v": np.exp(rng.uniform(math.log(0.01), math.log(10), size)),
        "n": rng.integers(1, 41, size),
        "d": rng.integers(1, 41, size),
        "c_K2": np.exp(rng.uniform(math.log(1e-3), math.log(50), size)) * (rng.random(size) > 0.2),
        "c_Delta2": np.exp(rng.uniform(math.log(1e-3), math.log(50), size)),
        "a_S": rng.uniform(-3, 3, size),
        "a_T": rng.uniform(-3, 3, size),
        "s": np.exp(rng.uniform(math.log(0.05), math.log(20), size)),
        "tau_S": np.exp(rng.uniform(math.log(0.05), math.log(20), size)),
        "rho": np.exp(rng.uniform(math.log(0.01), math.log(20), size)),
        "u": np.exp(rng.uniform(math.log(0.01), math.log(20), size)),
        "t": rng.uniform(0.0, 0.97, size),
    }
    narrower = (rng.random(size) < 0.7) | wider  # the tightness radius needs tau_S > tau_T
    col["tau_T"] = col["tau_S"] * np.where(
        narrower, rng.uniform(0.01, 0.985, size), rng.uniform(1, 3, size)
    )
    lo = G.compiled("cgf_lo").numpy(col["a"], col["tau"], col["n"], col["v"])
    hi = G.compiled("cgf_hi").numpy(col["a"], col["tau"], col["v"])
    frac = rng.uniform(-0.99, 0.99, size) * np.where(
        rng.random(size) < 0.3, 10.0 ** rng.uniform(-12, 0, size), 1.0
    )
    col["theta"] = np.where(frac > 0, frac * hi, -frac * lo)
    col["eta"] = np.abs(frac) * -lo
    return [col[k] for k in args]


def _mp_args(cols, i):
    return [
        int(c[i]) if np.issubdtype(c.dtype, np.integer) else mpmath.mpf(float(c[i])) for c in cols
    ]


@pytest.mark.parametrize("name", list(G.formulas()))
def test_compiled_numpy_equals_expression_at_50_digits(name):
    """Meta-test over every CGF and smoothing formula: the numpy compile (stable overrides
    included) equals the expression -- overrides replaced by their definitions -- at 50 digits,
    to 1e-12 relative, at 200 random points inside the CGF's domain."""
    f, c = G.formula(name), G.compiled(name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cols = _draw_case(rng, f.args, 200, wider=name == "tightness_radius")
    got = np.broadcast_to(c.numpy(*cols), (200,))
    worst = 0.0
    for i in range(200):
        with mpmath.workdps(50):
            want = c.mpmath(*_mp_args(cols, i))
        worst = max(worst, float(abs(got[i] - want) / max(abs(want), mpmath.mpf(1e-300))))
    assert worst <= RTOL, f"{name}: max relative difference {worst:.2e}"


@pytest.mark.parametrize("name", ["centred_cgf_gauss", "centred_cgf_sd", "joint_cgf_gauss"])
def test_compiled_theta_derivative_equals_expression_at_50_digits(name):
    """The compiled d/dtheta (the U-joint root's objective) against 50-digit mpmath."""
    f, c = G.formula(name), G.compiled_derivative(name, "theta")
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    cols = _draw_case(rng, f.args, 200)
    got = c.numpy(*cols)
    for i in range(200):
        with mpmath.workdps(50):
            want = c.mpmath(*_mp_args(cols, i))
        assert abs(got[i] - want) <= 1e-11 * abs(want) + 1e-300, (name, i, got[i], want)


# -- the derivation --------------------------------------------------------------------------------
def test_gaussian_log_mgf_of_one_normal_and_of_a_product():
    """The engine's log-MGF: ``log E exp(B x + A x^2) = B^2/(2(1-2A)) - log(1-2A)/2``, and for the
    product of two normals ``E exp(theta x y) = (1 - theta^2)^(-1/2)`` (domain |theta| < 1)."""
    x, y = sp.symbols("x y", real=True)
    a, b, th = sp.symbols("A B theta", real=True)
    lm, cond = gaussian_log_mgf(a * x**2 + b * x, [x])
    assert sp.simplify(lm - (b**2 / (2 * (1 - 2 * a)) - sp.log(1 - 2 * a) / 2)) == 0
    assert [sp.simplify(cond[0] - (1 - 2 * a))] == [0]
    lm, cond = gaussian_log_mgf(th * x * y, [x, y])
    assert sp.simplify(sp.exp(-2 * lm) - (1 - th**2)) == 0
    with pytest.raises(ArithmeticError, match="not quadratic"):
        gaussian_log_mgf(x**3, [x])


def test_cgf_taylor_coefficients_are_the_engines_mean_and_variance():
    """The derived joint CGF at 0 is 0, its first derivative is the engine's ``gen`` (formula
    ``gen`` of the moment engine, THEORY §6.1), its second the engine's ``Var g`` (formula
    ``gap_variance``: E (g - E g)^2 over the normals) -- the CGF was derived by Gaussian
    integrals, the moments by the moment engine: two routes, one answer (THEORY §6.5)."""
    th, n, v, s = SYM["theta"], SYM["n"], SYM["v"], SYM["s"]
    cgf = definition(G.formula("joint_cgf").expr)
    gen_v = F.formula("gen").expr.subs(s, sp.sqrt(n * v))
    assert sp.simplify(cgf.subs(th, 0)) == 0
    assert sp.simplify(sp.diff(cgf, th).subs(th, 0) - gen_v) == 0
    assert sp.simplify(sp.diff(cgf, th, 2).subs(th, 0) - G.formula("gap_variance").expr) == 0
    # the centred form is the CGF minus theta gen (the registered override by its definition)
    centred = definition(G.formula("centred_cgf").expr)
    assert sp.simplify(sp.expand_log(centred - (cgf - th * gen_v), force=True)) == 0


def test_variance_third_route_one_coordinate_by_moments():
    """Var g per coordinate by the moment engine from scratch (independent of the module): with
    ``n = 2`` (one chi-square normal), ``d = 1``, compare with the formula."""
    eta, xi, zeta = sp.symbols("e x z", real=True)
    a, tau, v, c = SYM["a"], SYM["tau"], SYM["v"], sp.Symbol("c", real=True)
    delta = sp.sqrt(v) * eta
    g = 2 * (a * delta + c + tau * xi) * delta - delta**2 + 2 * v - v * zeta**2  # s^2 = n v
    mean = gaussian_expectation(g, [eta, xi, zeta])
    var = gaussian_expectation(sp.expand((g - mean) ** 2), [eta, xi, zeta])
    want = G.formula("gap_variance").expr.subs({SYM["d"]: 1, SYM["n"]: 2, SYM["c_K2"]: c**2})
    assert sp.simplify(var - want) == 0


def test_p_factors_over_the_chaos_eigenvalues_and_the_domain_ends():
    th = SYM["theta"]
    p = G.formula("cgf_p").expr
    a, tau, v = SYM["a"], SYM["tau"], SYM["v"]
    for a_val in (sp.Rational(3, 4), sp.Rational(-1, 3)):  # both branches of the stable form
        sub = {a: a_val}
        mu_p = G.formula("chaos_mu_plus").expr.subs(sub)
        mu_m = G.formula("chaos_mu_minus").expr.subs(sub)
        assert sp.simplify(p.subs(sub) - (1 - 2 * th * mu_p) * (1 - 2 * th * mu_m)) == 0
        assert sp.simplify(mu_p * mu_m + tau**2 * v) == 0
        hi = G.formula("cgf_hi").expr.subs(sub)
        assert sp.simplify(p.subs(sub).subs(th, hi)) == 0


# -- the registered overrides ---------------------------------------------------------------------
def test_log1pmx_equals_its_definition_at_50_digits():
    """The series form of ``log(1+x) - x`` against the definition at 50 digits (1e-12 relative),
    where the definition cancels (|x| tiny) and beyond the series' range."""
    assert OVERRIDES["log1pmx"].function is log1pmx
    x = sp.Symbol("x")
    c = compile_expr(log1pmx(x), [x])
    rng = np.random.default_rng(11)
    pts = np.concatenate(
        [
            rng.choice([-1, 1], 200) * 10.0 ** rng.uniform(-15, 0, 200),
            np.exp(rng.uniform(-5, 20, 100)),
            -1 + 10.0 ** rng.uniform(-12, -0.01, 100),
        ]
    )
    pts = pts[pts > -1]
    got = c.numpy(pts)
    for xv, gv in zip(pts, got, strict=True):
        with mpmath.workdps(50):
            want = c.mpmath(mpmath.mpf(float(xv)))
        assert abs(gv - want) <= RTOL * abs(want), (xv, gv, want)
    assert sp.diff(log1pmx(x), x) == -x / (1 + x)


def test_tightness_series_is_the_expansion_of_the_closed_form():
    """The series ``2 dt + dt^2/3 + dt^3/9`` (THEORY §6.6) is the Taylor expansion of the root
    ``x > 1`` of ``1 - x + x log x = 1 - t + t log t`` (``t = 1 - dt``), which the closed form
    ``exp(1 + W_0((t log t - t)/e))`` solves: ``sympy.series`` of the equation with
    ``x = t + c1 dt + c2 dt^2 + c3 dt^3 + c4 dt^4`` fixes ``c1 = 2`` (``c1 = 0`` is the root
    ``x = t``, the W_{-1} branch), ``c2 = 1/3``, ``c3 = 1/9``.  (``sympy.series`` of the W form
    itself expands about the branch point as if W were analytic there, so the expansion goes
    through the equation; the closed form is checked at 50 digits below.)"""
    dt = sp.Symbol("dt", positive=True)
    c = sp.symbols("c1:5")
    t = 1 - dt
    x = t + sum(ci * dt ** (i + 1) for i, ci in enumerate(c))

    def f(y):
        return 1 - y + y * sp.log(y)

    eq = sp.series(f(x) - f(t), dt, 0, 6).removeO()
    coeffs = [sp.expand(eq).coeff(dt, k) for k in range(2, 6)]
    sols = sp.solve(coeffs, c, dict=True)
    wide = [s for s in sols if s[c[0]] == 2]
    assert {s[c[0]] for s in sols} == {0, 2} and len(wide) == 1
    assert (wide[0][c[1]], wide[0][c[2]]) == (sp.Rational(1, 3), sp.Rational(1, 9))
    # the closed form is the root x > 1 (W_0): check the equation at a point, 50 digits
    with mpmath.workdps(50):
        tv = mpmath.mpf("0.3")
        xv = mpmath.exp(1 + mpmath.lambertw((tv * mpmath.log(tv) - tv) / mpmath.e))
        assert xv > 1 and abs(f(xv) - f(tv)) < mpmath.mpf(10) ** -45
    ratio = tightness_ratio(t).rewrite(sp.LambertW)
    assert ratio == OVERRIDES["tightness_ratio"].definition(t)


def test_tightness_ratio_equals_its_definition_at_50_digits():
    """The registered form (series for dt < 1e-4, W_0 above) against the Lambert-W definition at
    50 digits: 1e-12 relative in the series range and where W_0 is well conditioned; above the
    threshold the W_0 branch inherits the rounding of its argument, ``~1e-16/dt^2``."""
    t = sp.Symbol("t", positive=True)
    c = compile_expr(tightness_ratio(t), [t])
    rng = np.random.default_rng(5)
    dts = np.concatenate([10.0 ** rng.uniform(-15, -4, 200), 10.0 ** rng.uniform(-4, 0, 200)])
    dts = dts[(dts < 1) & (dts > 0)]
    got = c.numpy(1.0 - dts)
    for dv, gv in zip(dts, got, strict=True):
        tv = 1.0 - dv  # the double the code saw
        with mpmath.workdps(50):
            want = c.mpmath(mpmath.mpf(tv))
        tol = RTOL if 1 - tv < SERIES_THRESHOLD else max(RTOL, 5e-16 / (1 - tv) ** 2)
        assert abs(gv - want) <= tol * abs(want), (tv, gv, want)


def test_tightness_radius_arb_encloses_the_expression():
    flint = pytest.importorskip("flint")
    c = G.compiled("tightness_radius")
    ball = c.arb(1.5, 0.9)
    with mpmath.workdps(50):
        want = c.mpmath(mpmath.mpf(1.5), mpmath.mpf(0.9))
    assert ball.contains(flint.arb(mpmath.nstr(want, 45))) and float(ball.rad()) < 1e-13


# -- THEORY §9 golden values from the expressions ---------------------------------------------------
def _teacher_subs():
    """The golden teacher as exact rationals in the CGF formulas' symbols (``c_K2`` of its
    offset ``c_K = (a_T - 1) m + b_T`` summed over m = (.5, -1, 2), ``v = s^2/n``)."""
    e, subs, S = _golden_subs()
    a_t, tau_t = subs[S["a_T"]], subs[S["tau_T"]]
    b_t = e["gibbs_b"].subs(
        {S["gamma_T"]: 2, S["lam_T"]: sp.Rational(7, 10), S["m0_T"]: sp.Rational(1, 5)}
    )
    ck2 = sum(
        e["c_K"].subs({S["a"]: a_t, S["b"]: b_t, S["m"]: mj}) ** 2
        for mj in (sp.Rational(1, 2), -1, 2)
    )
    v = sp.Rational(169, 100) / 7
    return {S["a"]: a_t, S["tau"]: tau_t, S["c_K2"]: ck2, S["d"]: 3, S["n"]: 7, S["v"]: v}, subs


def test_golden_variance_and_sub_gamma_bound():
    """THEORY §9: ``Var_T g = 2.9893622324257914`` and ``U_gamma = 5.299334781101108`` (theorem
    U-gamma's bound side with Model A's formulas substituted, ``kdtheory derive U-gamma``)."""
    teacher, subs = _teacher_subs()
    var = G.formula("gap_variance").expr.subs(teacher)
    assert float(sp.N(var, 30)) == pytest.approx(2.9893622324257914, rel=1e-12)
    u_gamma, _ = F.expression("U-gamma")
    S = SYM
    extra = {S["c_K2"]: teacher[S["c_K2"]]}
    val = sp.N(definition(u_gamma).subs(subs).subs(extra), 30)
    assert float(val) == pytest.approx(5.299334781101108, rel=1e-12)


def _bisect(f, lo, hi):
    """The root of an increasing ``f`` with ``f(lo) < 0 < f(hi)``, by 200 bisections (mpmath)."""
    assert f(lo) < 0 < f(hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def test_golden_eta_c_is_the_root_of_the_central_cgf():
    """THEORY §9: ``eta_c = 0.7044512613306998``, the positive root of ``central_cgf`` (log E
    exp(-eta g)), found at 50 digits by mpmath on the expression."""
    teacher, _ = _teacher_subs()
    eta = SYM["eta"]
    f = sp.lambdify(eta, definition(G.formula("central_cgf").expr.subs(teacher)), "mpmath")
    edge = -sp.N(G.formula("cgf_lo").expr.subs(teacher), 50)
    with mpmath.workdps(50):
        hi = mpmath.mpf(edge) * (1 - mpmath.mpf(10) ** -6)
        root = _bisect(f, mpmath.mpf("0.01"), hi)
    assert float(root) == pytest.approx(0.7044512613306998, rel=1e-12)


def test_golden_u_joint_from_the_centred_cgf():
    """THEORY §9: U-joint ``= inf_theta (K_n + Lambda(theta))/theta = 3.9422332770037194``, at
    the root of ``theta Lambda'(theta) - Lambda(theta) = K_n`` (mpmath, 50 digits, on the
    expression ``centred_cgf``)."""
    teacher, subs = _teacher_subs()
    th = SYM["theta"]
    lam = definition(G.formula("centred_cgf").expr.subs(teacher))
    k_n = sp.N(definition(F.formula("K_n").expr).subs(subs), 50)
    obj = sp.lambdify(th, th * sp.diff(lam, th) - lam - k_n, "mpmath")
    lam_f = sp.lambdify(th, lam, "mpmath")
    edge = sp.N(G.formula("cgf_hi").expr.subs(teacher), 50)
    with mpmath.workdps(50):
        hi = mpmath.mpf(edge) * (1 - mpmath.mpf(10) ** -8)
        root = _bisect(obj, mpmath.mpf(10) ** -6, hi)
        value = (k_n + lam_f(root)) / root
    assert float(value) == pytest.approx(3.9422332770037194, rel=1e-12)


def test_golden_smoothing_radii():
    """THEORY §9: student ``(a_T, b_T, 1.5 tau_T)``: ``rho_* = 0.5157106231293969``,
    ``rho_0^sm = 0.7712129493364144`` from the expressions (30 digits), and the compiled
    functions agree; ``B(rho_0^sm) = B(0)`` at 30 digits."""
    _, subs, _ = _golden_subs()
    S = SYM
    tau_t = subs[S["tau_T"]]
    radii = {S["tau_S"]: sp.Rational(3, 2) * tau_t, S["tau_T"]: tau_t}
    r_star = sp.N(definition(G.formula("optimal_radius").expr.subs(radii)), 30)
    r0 = sp.N(definition(G.formula("tightness_radius").expr.subs(radii)).doit(), 30)
    assert float(r_star) == pytest.approx(0.5157106231293969, rel=1e-12)
    assert float(r0) == pytest.approx(0.7712129493364144, rel=1e-12)
    tt = float(tau_t)
    assert G.compiled("tightness_radius")(1.5 * tt, tt) == pytest.approx(float(r0), rel=1e-12)
    assert G.compiled("optimal_radius")(1.5 * tt, tt) == pytest.approx(float(r_star), rel=1e-12)
    bound = G.formula("smoothing_bound").expr
    same = {**subs, S["tau_S"]: radii[S["tau_S"]], S["a_S"]: subs[S["a_T"]], S["c_Delta2"]: 0}
    b0 = sp.N(definition(bound).subs(same).subs(S["rho"], 0), 30)
    b_r0 = sp.N(definition(bound).subs(same).subs(S["rho"], r0), 30)
    assert abs(b_r0 - b0) < 1e-25
    b_star = sp.N(definition(bound).subs(same).subs(S["rho"], r_star), 30)
    assert b_star < b0


def test_smoothing_bound_equals_the_models_theorem_value():
    """``smoothing_bound`` (closed form) against Theorem S''s statement evaluated by the model."""
    from kdtheory import GaussianMeanModel

    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    student = model.kd_student(teacher, alpha=0.3, gamma=1.0, lam=2.0, m0=0.0)
    cd = student.b + (student.a - teacher.a) * model.m - teacher.b
    for rho in (0.0, 0.3, 2.0):
        got = G.compiled("smoothing_bound")(
            rho, float(cd @ cd), student.a, teacher.a, student.tau, teacher.tau, 3, 7, 1.3
        )
        assert got == pytest.approx(model.smoothing_bound(student, teacher, rho), rel=1e-12)


# -- kdtheory derive -------------------------------------------------------------------------------


def test_derive_joint_cgf_wrt_theta():
    rc, text = run_derive("joint_cgf", "--model", "gaussian-mean", "--wrt", "theta")
    assert rc == 0
    lines = text.splitlines()
    shown = sp.sympify(lines[1].split("=", 1)[1], locals={**SYM, "log1pmx": log1pmx})
    assert sp.simplify(shown - G.formula("joint_cgf").expr) == 0
    assert "THEORY §6.5" in lines[0] and "c_K2" in text and "d/dtheta = " in text


def test_derive_shows_the_definitions_of_the_stable_functions():
    rc, text = run_derive("tightness_radius")
    assert rc == 0 and "where tightness_ratio(x) = " in text and "LambertW" in text
    rc, text = run_derive("centred_cgf")
    assert rc == 0 and "where log1pmx(x) = " in text


def test_derive_u_gamma_in_model_terms():
    rc, text = run_derive("U-gamma")
    assert rc == 0 and "upper side of theorem U-gamma" in text
    rc, text = run_derive("L-gamma")
    assert rc == 0 and "lower side of theorem L-gamma" in text


# -- single source ----------------------------------------------------------------------------------
#: telltale pieces of the CGF and smoothing closed forms as they were typed by hand before
#: kdtheory/formulas/gaussian_cgf.py, each with a line of that old code it must match
TELLTALES = {
    "p(theta) = 1 - 2 theta (2a-1) v - 4 theta^2 tau^2 v": (
        r"theta\s*\*\*\s*2\s*\*\s*tau\s*\*\*\s*2|\bth\s*\*\*\s*2\s*\*\s*tau\s*\*\*\s*2",
        "p = 1 - 2 * th * (2 * a - 1) * v - 4 * th**2 * tau**2 * v",
    ),
    "chaos eigenvalues: root of b^2 + 4 tau^2 v": (
        r"b\s*\*\s*b\s*\+\s*4\s*\*\s*tau|4\s*\*\s*_?tau\s*\*\*\s*2\s*\*\s*_?v\b",
        "root = np.sqrt(b * b + 4 * tau**2 * v)",
    ),
    "Var g: 2 d v^2 ((2a-1)^2 + n - 1)": (
        r"\(2\s*\*\s*_?a\s*-\s*1\)\s*\*\*\s*2\s*\+\s*_?n",
        "return 4 * tau**2 * d * v + 4 * v * ck2 + 2 * d * v**2 * ((2 * a - 1) ** 2 + n - 1)",
    ),
    "the S_D term log(1 + 2 theta v)": (
        r"log1?p?\(\s*1?\s*\+?\s*2\s*\*\s*_?th",
        "_CHI_PART = -(_d * (_n - 1) / 2) * sp.log(1 + 2 * _th * _v)",
    ),
    "the Lambert-W argument (t log t - t)/e": (
        r"\*\s*(np\.log\(tw\)|t\.log\(\))\s*-\s*t",
        "w = ((t * t.log() - t) / e).lambertw()",
    ),
    "rho_* = sqrt((tau_S^2 - tau_T^2)_+)": (
        r"tau\s*\*\*\s*2\s*-\s*teacher\.tau\s*\*\*\s*2",
        "return math.sqrt(max(student.tau**2 - teacher.tau**2, 0.0))",
    ),
}


@pytest.mark.parametrize("what", list(TELLTALES))
def test_cgf_and_smoothing_are_written_only_in_the_formulas_module(what):
    """Inventory: no module of kdtheory/ outside kdtheory/formulas/ types a piece of Model A's
    joint CGF or smoothing radii; the array code gets them from the derived formulas."""
    pattern, old_line = TELLTALES[what]
    assert re.search(pattern, old_line), "the telltale must match the code it replaced"
    assert hits_outside_formulas(pattern) == []
    arrays = (ROOT / "kdtheory" / "models" / "gaussian_cgf.py").read_text()
    for name in ("chaos_mu_plus", "gap_variance", "cgf_lo", "cgf_p", "centred_cgf_gauss"):
        assert f'_f("{name}")' in arrays
    smoothing = (ROOT / "kdtheory" / "models" / "gaussian_smoothing.py").read_text()
    for name in ("tightness_radius", "tightness_ratio", "optimal_radius"):
        assert f'_f("{name}")' in smoothing


def test_derive_does_not_claim_no_stationary_point_when_solve_gives_up():
    """The joint CGF's derivative has a degree-5 numerator in theta that sympy.solve cannot
    solve in closed form: derive says so instead of printing "none"."""
    expr = G.formula("joint_cgf").expr
    theta = next(s for s in expr.free_symbols if s.name == "theta")
    _, points, how = F.stationary_points(expr, theta)
    assert points is None and "not a proof" in how and "degree 5" in how
