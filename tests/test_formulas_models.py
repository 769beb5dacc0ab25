"""Formulas as data for the simpler models (issue 11): the memoriser, the scalar laws of Lemma SG,
the bump loss and the Gaussian pairs of Lemma DV.  Every registered formula's compiled numpy
function equals its expression at 50 digits; each derivation equals its THEORY closed form
symbolically; the array code computes from the compiled functions; each quantity is written
once."""

from __future__ import annotations

import importlib
import math
import re
import zlib
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
import sympy.codegen.cfunctions
from formula_checks import draw as _draw
from formula_checks import hits_outside_formulas, run_derive

from kdtheory.formulas import OVERRIDES, compile_expr
from kdtheory.formulas import bump as FB
from kdtheory.formulas import gaussian_pair as FP
from kdtheory.formulas import memoriser as FM
from kdtheory.formulas import scalar_laws as FL
from kdtheory.formulas.compile import definition

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-12  # compiled double vs 50-digit mpmath of the expression (issue 11)

#: the formula modules of this slice, by ``kdtheory derive --model`` name
MODULES = {
    "memoriser": "kdtheory.formulas.memoriser",
    "scalar-laws": "kdtheory.formulas.scalar_laws",
    "bump": "kdtheory.formulas.bump",
    "gaussian-pair": "kdtheory.formulas.gaussian_pair",
}


def _module(model):
    return importlib.import_module(MODULES[model])


def _finite_mgf(cols, rng):
    """``B < 1/var_P`` (``log E_P exp f`` finite): ``B = 1/var_P - h``, ``h`` log-uniform."""
    h = np.exp(rng.uniform(math.log(0.05), math.log(20.0), cols["B"].shape))
    return {**cols, "B": 1 / cols["var_P"] - h}


#: draws that a formula needs beyond its symbols' domains: (model, name) -> cols -> cols
CONSTRAINTS: dict = {("gaussian-pair", "logE_P_expf"): _finite_mgf}


def _cases():
    return [(m, name) for m in MODULES for name in _module(m).formulas()]


@pytest.mark.parametrize("model,name", _cases())
def test_compiled_numpy_equals_expression_at_50_digits(model, name):
    """Meta-test over every registered formula of this slice: the vectorised numpy function
    (stable overrides included) equals the expression -- overrides replaced by their
    definitions -- evaluated with mpmath at 50 digits, to 1e-12 relative, at 200 random points
    of the symbols' domains (integers passed to mpmath exactly)."""
    F = _module(model)
    f, c = F.formula(name), F.compiled(name)
    size = 200
    rng = np.random.default_rng(zlib.crc32(f"{model}/{name}".encode()))
    cols = [_draw(rng, F.SYMBOLS[k], size) for k in f.args]
    if (model, name) in CONSTRAINTS:
        cols = CONSTRAINTS[model, name](dict(zip(f.args, cols, strict=True)), rng)
        cols = [cols[k] for k in f.args]
    with np.errstate(divide="ignore"):  # log1p(-1/M) = -inf at M = 1 (exactly 0 after exp)
        got = np.broadcast_to(c.numpy(*cols), (size,))
    worst = 0.0
    for i in range(size):
        with mpmath.workdps(50):
            want = c.mpmath(*[mpmath.mpf(int(x[i]) if x.dtype.kind == "i" else x[i]) for x in cols])
            err = abs(got[i] - want) / max(abs(want), mpmath.mpf(1e-300))
        worst = max(worst, float(err))
    assert worst <= RTOL, f"{model}.{name}: max relative difference {worst:.2e}"


@pytest.mark.parametrize("model", list(MODULES))
def test_formulas_have_symbols_meanings_and_provenance(model):
    F = _module(model)
    for f in F.formulas().values():
        assert {str(s) for s in f.expr.free_symbols} <= set(f.args)
        assert f.ref.startswith("THEORY §") and f.meaning
        assert f.how.startswith(("derived", "closed form from THEORY")), f.how
        for k, p in f.symbols.items():
            assert p.name == k and p.meaning and p.latex
        assert F.closed_form(f.name) is f
    with pytest.raises(KeyError, match=f"unknown {model} quantity"):
        F.formula("nope")


# -- the stable overrides of this slice -----------------------------------------------------------
#: the overrides this file tests at 50 digits (phi and log1p: tests/test_formulas.py)
SLICE_OVERRIDES = {"expm1", "binary_kl", "bernoulli_log_mgf", "uniform_log_mgf"}


def test_every_override_is_tested():
    """Every registered override has a 50-digit test: phi and log1p in tests/test_formulas.py,
    log1pmx and tightness_ratio in tests/test_formulas_cgf.py, ball_average in
    tests/test_formulas_ball.py, the rest here."""
    cgf = {"log1pmx", "tightness_ratio"}
    assert set(OVERRIDES) == {"phi", "log1p", "ball_average"} | cgf | SLICE_OVERRIDES


def test_binary_kl_override_equals_its_definition():
    """``binary_kl``'s numpy form (rel_entr) equals ``p log(p/q) + (1-p) log((1-p)/(1-q))`` at
    50 digits, also near p = q (where the definition cancels to ~ (p - q)^2) and at tiny p."""
    p, q = sp.symbols("p q", positive=True)
    c = compile_expr(OVERRIDES["binary_kl"].function(p, q), [p, q])
    rng = np.random.default_rng(3)
    ps = np.concatenate([rng.uniform(0, 1, 200), 10.0 ** rng.uniform(-15, -1, 100)])
    qs = np.concatenate([rng.uniform(0, 1, 200), rng.uniform(0, 1, 100)])
    near = rng.uniform(0.01, 0.99, 100)
    ps = np.concatenate([ps, near])
    qs = np.concatenate([qs, near * (1 + 10.0 ** rng.uniform(-9, -2, 100))])
    got = c.numpy(ps, qs)
    for i in range(ps.size):
        with mpmath.workdps(50):
            want = c.mpmath(mpmath.mpf(ps[i]), mpmath.mpf(qs[i]))
            assert abs(got[i] - want) <= RTOL * abs(want), (ps[i], qs[i], got[i], want)
    # the conventions the definition leaves out: 0 log 0 = 0 and inf off the support
    assert c.numpy(0.0, 0.5) == pytest.approx(math.log(2)) and c.numpy(1.0, 1.0) == 0.0
    assert c.numpy(0.5, 1.0) == math.inf


def _check_at_50_digits(c, *cols):
    got = c.numpy(*cols)
    for i in range(np.size(got)):
        with mpmath.workdps(50):
            want = c.mpmath(*[mpmath.mpf(x[i]) for x in cols])
            assert abs(got[i] - want) <= RTOL * abs(want), ([x[i] for x in cols], got[i], want)


def test_expm1_override_equals_its_definition():
    """``expm1`` (numpy) equals ``exp(x) - 1`` at 50 digits, down to |x| ~ 1e-15 and up to 700."""
    x = sp.Symbol("x", real=True)
    c = compile_expr(OVERRIDES["expm1"].function(x), [x])
    rng = np.random.default_rng(4)
    sign = rng.choice([-1.0, 1.0], 300)
    _check_at_50_digits(c, sign * 10.0 ** rng.uniform(-15, 2.8, 300))


def test_bernoulli_log_mgf_override_equals_its_definition():
    """``log(1 - p + p e^u)`` at 50 digits in every regime of the stable form: ``|u| < 1``
    (log1p/expm1, down to u ~ 1e-15), ``|u| >= 1`` (logaddexp, up to |u| = 600), p tiny and
    p near 1; exact at p in {0, 1}."""
    u, p = sp.symbols("u p", real=True)
    c = compile_expr(OVERRIDES["bernoulli_log_mgf"].function(u, p), [u, p])
    rng = np.random.default_rng(5)
    k = 400
    sign = rng.choice([-1.0, 1.0], k)
    us = sign * np.concatenate([10.0 ** rng.uniform(-15, 0, k // 2), rng.uniform(1, 600, k // 2)])
    ps = np.concatenate([rng.uniform(0, 1, k // 2), 10.0 ** rng.uniform(-12, -1, k // 4),
                         1 - 10.0 ** rng.uniform(-12, -1, k // 4)])  # fmt: skip
    _check_at_50_digits(c, us, rng.permutation(ps))
    assert c.numpy(3.0, 0.0) == 0.0 and c.numpy(3.0, 1.0) == 3.0 and c.numpy(0.0, 0.3) == 0.0


def test_uniform_log_mgf_override_equals_its_definition():
    """``log((e^u - 1)/u)`` at 50 digits: the series (|u| < 1e-2, down to 1e-12), ``expm1``
    (up to |u| = 700), both signs; 0 at u = 0 (the t = 0 branch of the derivation)."""
    u = sp.Symbol("u", real=True)
    c = compile_expr(OVERRIDES["uniform_log_mgf"].function(u), [u])
    rng = np.random.default_rng(6)
    sign = rng.choice([-1.0, 1.0], 400)
    us = sign * np.concatenate(
        [10.0 ** rng.uniform(-12, -2, 200), 10.0 ** rng.uniform(-2, 2.8, 200)]
    )
    _check_at_50_digits(c, us)
    assert c.numpy(0.0) == 0.0 and OVERRIDES["uniform_log_mgf"].function(sp.S.Zero) == 0


# -- 2. the scalar laws of Lemma SG (THEORY §2) -----------------------------------------------------
def test_scalar_law_derivations_equal_theory_closed_forms():
    """The derived CGFs and means equal THEORY §2's closed forms symbolically."""
    S = {k: p.symbol for k, p in FL.SYMBOLS.items()}
    t, mean, sd, lo, w, p = (S[k] for k in ("t", "mean", "sd", "lo", "width", "p"))
    e = {k: definition(f.expr) for k, f in FL.formulas().items()}
    assert sp.simplify(e["gaussian_cgf"] - (t * mean + t**2 * sd**2 / 2)) == 0
    assert e["gaussian_mean"] == mean and e["gaussian_sigma"] == sd
    b = t * lo + sp.log(1 - p + p * sp.exp(t * w))
    assert sp.simplify(sp.expand_log(e["bernoulli_cgf"] - b, force=True)) == 0
    assert sp.expand(e["bernoulli_mean"] - (lo + w * p)) == 0
    u = sp.log((sp.exp(t * (lo + w)) - sp.exp(t * lo)) / (t * w))
    diff = sp.expand_log(sp.expand(e["uniform_cgf"] - u), force=True)
    assert sp.simplify(sp.expand_log(sp.factor(sp.expand(diff)), force=True)) == 0
    assert sp.simplify(e["uniform_mean"] - (lo + w / 2)) == 0
    assert e["bernoulli_sigma"] == e["uniform_sigma"] == w / 2


@pytest.mark.parametrize("kind", ["gaussian", "bernoulli", "uniform"])
def test_scalar_law_proxies_satisfy_lemma_sg(kind):
    """Lemma SG for the proxies (Hoeffding's for Bernoulli and uniform, taken from THEORY):
    ``cgf <= t mean + t^2 sigma^2/2`` on random laws and arguments, with equality for the
    Gaussian."""
    from kdtheory.models.scalar_laws import LAWS, sg_values

    rng = np.random.default_rng(11)
    params = {"mean": rng.uniform(-3, 3, 500), "sd": np.exp(rng.uniform(-3, 3, 500)),
              "lo": rng.uniform(-3, 3, 500), "width": np.exp(rng.uniform(-3, 3, 500)),
              "p": rng.uniform(0, 1, 500)}  # fmt: skip
    v = sg_values(kind, rng.uniform(-5, 5, 500), **{k: params[k] for k in LAWS[kind]})
    bound = v["t"] * v["mean"] + v["t"] ** 2 * v["sigma"] ** 2 / 2
    assert np.all(v["cgf"] <= bound + 1e-12 * (1 + np.abs(bound)))
    if kind == "gaussian":
        np.testing.assert_allclose(v["cgf"], bound, rtol=1e-14, atol=1e-14)


def test_scalar_laws_compute_from_the_compiled_formulas_also_on_balls():
    """The model code calls the compiled formulas; the Gaussian one also on arb balls (the
    audit's exact equality witnesses call ``scalar_laws._gaussian`` on arb values)."""
    flint = pytest.importorskip("flint")
    from kdtheory.models import scalar_laws as L

    src = (ROOT / "kdtheory/models/scalar_laws.py").read_text()
    for name in FL.formulas():
        assert f'_f("{name}")' in src
    out = L._gaussian(flint.arb(3) / 7, flint.arb(-2), flint.arb(5) / 4)
    want = flint.arb(3) / 7 * -2 + (flint.arb(3) / 7) ** 2 * (flint.arb(5) / 4) ** 2 / 2
    assert isinstance(out["cgf"], flint.arb) and out["cgf"].overlaps(want)
    assert float(out["cgf"].rad()) < 1e-15 and out["sigma"] == flint.arb(5) / 4


# -- 1. the memoriser (THEORY §8 N2) ----------------------------------------------------------------
def test_memoriser_derivations_equal_theory_closed_forms():
    """THEORY §8 N2: gen = p (1 - 1/M)^n, K_n = kl(p_S || p_T)."""
    S = {k: p.symbol for k, p in FM.SYMBOLS.items()}
    M, n, p = S["M"], S["n"], S["p"]
    gen = definition(FM.formula("gen").expr)  # p exp(n log(1 - 1/M)): compare logarithms
    assert sp.simplify(sp.expand_log(sp.log(gen) - sp.log(p * (1 - 1 / M) ** n), force=True)) == 0
    assert (
        gen.subs({M: 7, n: 3, p: sp.Rational(1, 3)}) == sp.Rational(1, 3) * sp.Rational(6, 7) ** 3
    )
    ps, pt = S["p_S"], S["p_T"]
    k_n = definition(FM.formula("K_n").expr)
    want = ps * sp.log(ps / pt) + (1 - ps) * sp.log((1 - ps) / (1 - pt))
    assert sp.simplify(k_n - want) == 0
    assert FM.formula("uniform_proxy").expr == sp.Rational(1, 2)


@pytest.mark.parametrize("M,n", [(1, 1), (2, 3), (3, 4), (5, 2)])
def test_memoriser_formulas_match_brute_force(M, n):
    """The compiled formulas against the model's enumeration of all M^n datasets from the
    definitions; the range of g lies in [0, 1], the range the uniform proxy 1/2 is taken on."""
    from kdtheory.models.memoriser import MemoriserModel

    model = MemoriserModel(M=M, n=n)
    s, t = model.kernel(0.7), model.kernel(0.2)
    bf = model.brute_force(s, t)
    with np.errstate(divide="ignore"):
        assert FM.compiled("gen")(0.7, float(M), n) == pytest.approx(bf["gen_S"], abs=1e-14)
    assert FM.compiled("K_n")(0.7, 0.2) == pytest.approx(bf["K_n"], rel=1e-13)
    lo, hi = bf["g_range"]
    assert 0.0 <= lo and hi <= 1.0 and FM.compiled("uniform_proxy")() == (1 - 0) / 2


def test_memoriser_batch_functions_compute_from_the_compiled_formulas():
    from kdtheory.models import memoriser as A

    src = (ROOT / "kdtheory/models/memoriser.py").read_text()
    for name in ("miss_probability", "gen", "K_n", "uniform_proxy"):
        assert f'_f("{name}")' in src
    vals = A.theorem_values([1, 10**6, 7], 10, [0.6, 0.6, 0.0], [0.5, 0.5, 1.0])
    assert vals["gen_S"][0] == 0.0  # M = 1: every z is in D
    assert vals["gen_S"][1] == pytest.approx(0.6 * (1 - 1e-6) ** 10, rel=1e-15)
    assert vals["K_n"][2] == math.inf and vals["sigma_bar"].tolist() == [0.5] * 3


# -- 4. the bump loss (THEORY §6 A-bump) ------------------------------------------------------------
def test_bump_derivations_equal_theory_closed_forms():
    """THEORY §6 A-bump: Phi, v_tr, v_te, gen = Phi(v_tr) - Phi(v_te), C, (1 + C)^2/4."""
    S = {k: p.symbol for k, p in FB.SYMBOLS.items()}
    d, n, s, om, ck2, x, a, tau = (S[k] for k in ("d", "n", "s", "omega", "ck2", "x", "a", "tau"))
    e = {k: f.expr for k, f in FB.formulas().items()}

    def theory_phi(xv):
        return (om**2 / (om**2 + xv)) ** (d / 2) * sp.exp(-ck2 / (2 * (om**2 + xv)))

    assert sp.simplify(e["Phi"] - theory_phi(x)) == 0
    v_tr = s**2 * (1 - 2 * a / n + a**2 / n) + tau**2
    v_te = s**2 * (1 + a**2 / n) + tau**2
    assert sp.simplify(e["v_tr"] - v_tr) == 0 and sp.simplify(e["v_te"] - v_te) == 0
    # gen = Phi(v_tr) - Phi(v_te) in its stable form Phi(v_te) expm1(log Phi(v_tr) - log Phi(v_te))
    (em1,) = e["gen"].atoms(sp.codegen.cfunctions.expm1)
    assert sp.simplify(e["gen"] / em1 - theory_phi(v_te)) == 0
    log_ratio = sp.log(theory_phi(v_tr)) - sp.log(theory_phi(v_te))
    diff = sp.expand_log(definition(em1.args[0]) - log_ratio, force=True)
    assert sp.simplify(sp.expand_log(sp.simplify(diff), force=True)) == 0
    c = (om**2 / (om**2 + s**2)) ** (d / 2)
    assert sp.simplify(e["gap_floor"] - c) == 0
    assert sp.simplify(e["hoeffding_proxy"] - (1 + c) ** 2 / 4) == 0


def test_bump_phi_per_coordinate_against_quadrature():
    """An independent check of the integral behind Phi: 1-d adaptive quadrature at 30 digits."""
    c = FB.compiled("Phi")

    def integrand(ck, om, xv):  # exp(-y^2/(2 omega^2)) times the N(ck, xv) density
        return lambda y: mpmath.exp(-(y**2) / (2 * om**2)) * mpmath.npdf(y, ck, mpmath.sqrt(xv))

    with mpmath.workdps(30):
        for ck, om, xv in [(0.3, 0.7, 1.1), (2.0, 1.5, 0.2), (0.0, 0.4, 3.0)]:
            want = mpmath.quad(integrand(ck, om, xv), [-mpmath.inf, ck, mpmath.inf])
            assert float(c.numpy(ck**2, om, xv, 1)) == pytest.approx(float(want), rel=1e-13)


def test_bump_batch_functions_compute_from_the_compiled_formulas():
    from kdtheory.models.bump import BumpLossModel

    src = (ROOT / "kdtheory/models/bump.py").read_text()
    for name in FB.formulas():
        assert f'_f("{name}")' in src
    model = BumpLossModel(d=2, n=10, s=1.0, m=0.0, beta=1.0)
    assert model.gen(model.tempered_bayes(temperature=1.0)) == pytest.approx(
        0.045454545455, abs=1e-12
    )  # the doctest's value


# -- 3. the Gaussian pairs of Lemma DV (THEORY §2) -------------------------------------------------
def test_gaussian_pair_derivations_equal_theory_closed_forms():
    """THEORY §2's 1-d forms, and Lemma DV's equality at f = log dQ/dP + const, symbolically:
    ``E_Q f* - log E_P exp f* = KL(Q || P)``."""
    S = {k: p.symbol for k, p in FP.SYMBOLS.items()}
    a, B, mq, vq, mp, vp = (S[k] for k in ("a", "B", "mu_Q", "var_Q", "mu_P", "var_P"))
    e = {k: definition(f.expr) for k, f in FP.formulas().items()}
    assert sp.expand(e["E_Q_f"] - (a * mq + B * (vq + mq**2) / 2)) == 0
    kl = (vq / vp - 1 - sp.log(vq / vp) + (mq - mp) ** 2 / vp) / 2
    assert sp.simplify(sp.expand_log(e["KL"] - kl, force=True)) == 0
    b = a + B * mp
    mgf = a * mp + B * mp**2 / 2 + b**2 / (2 * (1 / vp - B)) - sp.log(1 - vp * B) / 2
    assert sp.simplify(e["logE_P_expf"] - mgf) == 0
    assert sp.simplify(e["dv_B"] - (1 / vp - 1 / vq)) == 0
    assert sp.simplify(e["dv_a"] - (mq / vq - mp / vp)) == 0
    star = {a: e["dv_a"], B: e["dv_B"]}
    gap = e["E_Q_f"].subs(star) - e["logE_P_expf"].subs(star) - e["KL"]
    assert sp.simplify(sp.expand_log(gap, force=True)) == 0


def _spd(rng, d, k):
    """``k`` random symmetric positive definite ``d x d`` matrices, eigenvalues in [0.2, 3]."""
    q, _ = np.linalg.qr(rng.normal(size=(k, d, d)))
    return np.einsum("kij,kj,klj->kil", q, rng.uniform(0.2, 3.0, (k, d)), q)


def _pair_cases(rng, d, k):
    mean_p, mean_q = rng.normal(size=(k, d)), rng.normal(size=(k, d))
    cov_p, cov_q = _spd(rng, d, k), _spd(rng, d, k)
    a = rng.normal(size=(k, d))
    # B = cov_p^-1 - H with H positive definite: cov_p^-1 - B = H, the mgf is finite
    B = np.linalg.inv(cov_p) - _spd(rng, d, k)
    return mean_p, cov_p, mean_q, cov_q, a, B


def test_gaussian_pair_stacked_code_at_d1_equals_the_formulas():
    """The stacked LAPACK code at d = 1 against the compiled 1-d formulas (1e-12 relative)."""
    from kdtheory.models import gaussian_pair_arrays as G

    rng = np.random.default_rng(21)
    mp_, cp, mq, cq, a, B = _pair_cases(rng, 1, 300)
    v = {"mu_P": mp_[:, 0], "var_P": cp[:, 0, 0], "mu_Q": mq[:, 0], "var_Q": cq[:, 0, 0]}
    v.update(a=a[:, 0], B=B[:, 0, 0])

    def formula(name):
        return FP.compiled(name)(*(v[k] for k in FP.formula(name).args))

    rel = {"rtol": 1e-12, "atol": 1e-13}
    np.testing.assert_allclose(G._expectation_quadratic(a, B, mq, cq), formula("E_Q_f"), **rel)
    np.testing.assert_allclose(G._kl_gaussian(mq, cq, mp_, cp), formula("KL"), **rel)
    np.testing.assert_allclose(G._log_mgf_quadratic(a, B, mp_, cp), formula("logE_P_expf"), **rel)
    a_star, b_star = G._log_density_ratio_quadratic(mp_, cp, mq, cq)
    np.testing.assert_allclose(a_star[:, 0], formula("dv_a"), **rel)
    np.testing.assert_allclose(b_star[:, 0, 0], formula("dv_B"), **rel)


def _mp_pair(mean_p, cov_p, mean_q, cov_q, a, B):
    """The textbook matrix formulas at 50 digits (mpmath): E_Q f, KL(Q || P) by traces and a
    log-determinant, log E_P exp f by completing the square, and the DV-equality (a*, B*)."""
    M = mpmath.matrix
    mp_, sp_, mq, sq, av, bm = M(mean_p), M(cov_p), M(mean_q), M(cov_q), M(a), M(B)
    d = len(mean_p)

    def tr(x):
        return sum(x[i, i] for i in range(d))

    def dot(x, y):
        return (x.T * y)[0, 0]

    e_q_f = dot(av, mq) + tr(bm * (sq + mq * mq.T)) / 2
    sp_inv, sq_inv = sp_**-1, sq**-1
    diff = mq - mp_
    r = sp_inv * sq
    kl = (tr(r) - d - mpmath.log(mpmath.det(r)) + dot(diff, sp_inv * diff)) / 2
    h = sp_inv - bm
    c = sp_inv * mp_ + av
    log_mgf = (
        -mpmath.log(mpmath.det(sp_)) / 2 - mpmath.log(mpmath.det(h)) / 2
        + dot(c, h**-1 * c) / 2 - dot(mp_, sp_inv * mp_) / 2
    )  # fmt: skip
    return e_q_f, kl, log_mgf, sq_inv * mq - sp_inv * mp_, sp_inv - sq_inv


@pytest.mark.parametrize("d", [2, 3, 4])
def test_gaussian_pair_stacked_code_against_50_digit_matrices(d):
    """The stacked code (which stays numeric) against 50-digit mpmath matrix versions of the
    textbook formulas (independent routes: the KL by traces, not the whitened eigenvalues; the
    log-MGF by completing the square), 1e-11 relative (the matrices' condition <= 15)."""
    from kdtheory.models import gaussian_pair_arrays as G

    rng = np.random.default_rng(100 + d)
    mp_, cp, mq, cq, a, B = _pair_cases(rng, d, 20)
    got = [
        G._expectation_quadratic(a, B, mq, cq),
        G._kl_gaussian(mq, cq, mp_, cp),
        G._log_mgf_quadratic(a, B, mp_, cp),
    ]
    a_star, b_star = G._log_density_ratio_quadratic(mp_, cp, mq, cq)
    with mpmath.workdps(50):
        for i in range(20):
            e_q_f, kl, log_mgf, ra, rb = _mp_pair(*(x[i].tolist() for x in (mp_, cp, mq, cq, a, B)))
            for g, want in zip(got, (e_q_f, kl, log_mgf), strict=True):
                assert float(g[i]) == pytest.approx(float(want), rel=1e-11, abs=1e-12)
            np.testing.assert_allclose(a_star[i], [float(x) for x in ra], rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(
                b_star[i], [[float(rb[r, c]) for c in range(d)] for r in range(d)],
                rtol=1e-11, atol=1e-12,
            )  # fmt: skip


# -- single source -----------------------------------------------------------------------------------


#: telltale pieces of each quantity as it was typed by hand before the formula modules, each
#: with a line of that old code it must match
TELLTALES = {
    "memoriser (1 - 1/M)^n": (
        r"log1p\(\s*-\s*1\s*/\s*M|\(\s*1\s*-\s*1\s*/\s*M\s*\)\s*\*\*",
        "return np.where(M > 1, np.exp(n * np.log1p(-1 / M)), 0.0)",
    ),
    "scalar laws: expm1/logaddexp forms of the Bernoulli CGF": (
        r"log1p\(\s*ps?\s*\*\s*np\.expm1|logaddexp\(\s*np\.log1p\(\s*-",
        "near, np.log1p(ps * np.expm1(tw)), np.logaddexp(np.log1p(-ps), np.log(ps) + tw)",
    ),
    "scalar laws: the uniform CGF's series": (
        r"1\s*/\s*180",
        "series = -u / 2 + x2 * (1 / 6 + x2 * (-1 / 180 + x2 / 2835))",
    ),
    "scalar laws: the Gaussian CGF": (
        r"t\s*\*\s*t\s*\*\s*sd\s*\*\s*sd",
        'return {"cgf": t * mean + t * t * sd * sd / 2, "mean": mean, "sigma": sd, "t": t}',
    ),
    "bump: v_tr": (
        r"1\s*-\s*2\s*\*\s*a\s*/\s*n",
        "return s**2 * (1 - 2 * a / n + a**2 / n) + tau**2",
    ),
    "bump: Phi": (
        r"\(\s*omega\s*\*\*\s*2\s*/\s*q\s*\)\s*\*\*\s*\(\s*d\s*/\s*2",
        "return (omega**2 / q) ** (d / 2) * np.exp(-ck2 / (2 * q))",
    ),
    "bump: Hoeffding proxy (1 + C)^2/4": (
        r"\(\s*1\s*\+\s*_?gap_floor\(.*\)\s*\)\s*\*\*\s*2",
        "return (1 + _gap_floor(d, s, omega)) ** 2 / 4",
    ),
    "memoriser binary kl": (
        r"rel_entr\(\s*1\s*-\s*p",
        "return np.maximum(rel_entr(p, q) + rel_entr(1 - p, 1 - q), 0.0)",
    ),
}


@pytest.mark.parametrize("what", list(TELLTALES))
def test_each_quantity_is_written_once(what):
    """Inventory: no module of kdtheory/ outside kdtheory/formulas/ types the quantity; the
    model code gets it from the compiled formulas."""
    pattern, old_line = TELLTALES[what]
    assert re.search(pattern, old_line), "the telltale must match the code it replaced"
    assert hits_outside_formulas(pattern) == []


# -- kdtheory derive ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(MODULES))
def test_derive_prints_each_models_formulas(model):
    """``kdtheory derive NAME --model MODEL`` prints the closed form of every formula of the
    model (it parses back to the expression) and its symbols' meanings."""
    F = _module(model)
    from kdtheory.formulas.compile import OVERRIDES as ovs

    local = {k: p.symbol for k, p in F.SYMBOLS.items()}
    local.update({k: ov.function for k, ov in ovs.items()})
    for name, f in F.formulas().items():
        rc, text = run_derive(name, "--model", model)
        assert rc == 0 and text.startswith(f"{name} ({model}): {f.meaning}")
        shown = sp.sympify(text.splitlines()[1].split("=", 1)[1], locals=local)
        assert sp.simplify(shown - f.expr) == 0, name
        for k in f.args:
            assert f"  {k} " in text and F.SYMBOLS[k].meaning in text


def test_derive_memoriser_gen_in_p():
    rc, text = run_derive("gen", "--model", "memoriser", "--wrt", "p")
    assert rc == 0 and text.splitlines()[-2] == "d/dp = exp(n*log1p(-1/M))"
    assert text.splitlines()[-1].endswith("(sympy.solve, symbolic): none")
    rc, text = run_derive("K_n", "--model", "memoriser", "--wrt", "p_S")
    assert "d/dp_S = log(p_S/p_T) - log((p_S - 1)/(p_T - 1))" in text


def test_import_kdtheory_derives_nothing_of_these_models():
    """The formula modules are imported (and derive) on first use, not at ``import kdtheory``."""
    import subprocess
    import sys

    code = "import sys, kdtheory; print(sorted(m for m in sys.modules if 'formulas.' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    loaded = eval(out.stdout.strip())  # a printed list of module names
    assert not [
        m for m in loaded if m.rsplit(".", 1)[-1] in {*MODULES, "scalar_laws", "gaussian_pair"}
    ]
