"""Benchmark of kdtheory's closed forms (issue 7): ``python benchmarks/bench_closed_forms.py [--quick]``.

Prints, in one run and as ratios:

1. Model A ``K_n`` + Theorem U1 (THEORY §3, §6) on the same points: vectorised array code
   (:mod:`kdtheory.models.gaussian_mean` + ``Theorem.evaluate``, inputs validated) vs a scalar
   Python loop over the package's scalar API vs ``sympy`` ``subs``/``evalf`` of the same formulas
   (the sympy expression is built by running the same array kernels on sympy symbols; all three
   agree); a fused numpy reference written by hand here (:func:`fused_reference`: the same
   formulas in one function with ``out=``, no validation; the yardstick of issue 15 item 6,
   never part of the package); plus the audit's end-to-end rate (vectorised sampler +
   evaluation) for the U1 claim.
2. Closed-form ``K_n`` vs a Monte Carlo estimate of equal accuracy (extrapolated from a run).
3. Model C (THEORY §7): time of a Bayes teacher + KD student and of ``K_n`` as ``d = k`` grow to
   500 (``n = 2d``), with the fitted growth exponent.

Runs on one core (BLAS/OpenMP threads pinned to 1 before numpy is imported).  No assertion on
timings: the targets (>= 1e6 configurations/s per closed-form claim, >= 100x a scalar loop) are
printed with the measured numbers.
"""

from __future__ import annotations

import os
import sys

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
# the checkout this file lives in, not whichever kdtheory is installed
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from kdtheory import LinearGaussianModel  # noqa: E402
from kdtheory.audit.gaussian_cases import gaussian_mean_array_batch  # noqa: E402
from kdtheory.models import GaussianMeanModel  # noqa: E402
from kdtheory.models import gaussian_mean as A  # noqa: E402
from kdtheory.sampling import RANGES  # noqa: E402
from kdtheory.theorems import ATOL as U1_ATOL  # noqa: E402
from kdtheory.theorems import RTOL as U1_RTOL  # noqa: E402
from kdtheory.theorems import theorem  # noqa: E402

U1 = theorem("U1")


def best_time(fn, repeat=3):
    """Minimum wall time of ``fn()`` over ``repeat`` runs (seconds) and its last result."""
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def draw(rng, name, shape):
    r = RANGES[name]
    if r.log:
        return np.exp(rng.uniform(math.log(r.low), math.log(r.high), shape))
    if r.integer:
        return rng.integers(int(r.low), int(r.high) + 1, shape)
    return rng.uniform(r.low, r.high, shape)


def points(rng, size, d=3):
    """``size`` Model A configurations: Gibbs teachers, KD students (THEORY §6), ranges of RANGES."""
    m = draw(rng, "m", (size, d))
    n = draw(rng, "n", size)
    s = draw(rng, "s", size)
    teacher = A.gibbs(draw(rng, "gamma", size), draw(rng, "lam", size), draw(rng, "m0", (size, d)))
    student = A.kd_student(
        *teacher,
        draw(rng, "alpha", size),
        draw(rng, "gamma", size),
        draw(rng, "lam", size),
        draw(rng, "m0", (size, d)),
    )
    return (m, n, s, *student, *teacher)


def vectorised(args):
    vals = A.theorem_values(*args)
    return vals, U1.evaluate(**vals)


#: Taylor coefficients of ``u - log1p(u) = sum_{k>=2} (-1)^k u^k / k`` (k = 19..2), for |u| < 0.1
_SERIES = [(-1.0) ** k / k for k in range(19, 1, -1)]


def fused_reference(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t):
    """K_n and U1 (``|dgen| <= sqrt(2 Esigma2 K_n)``, THEORY §3, §6.2, §6.4) for a batch, written
    by hand as one numpy function with ``out=`` and column sums, no validation: the yardstick of
    issue 15 item 6 (benchmark only; the package computes from its sympy formulas).  The stable
    ``phi`` as in :func:`kdtheory.divergences.phi`.  Returns ``(K_n, U1 rhs, holds, ratio)``."""
    d = m.shape[-1]
    da = a_s - a_t
    total = None  # ||c_Delta||^2, c_Delta = b_S - b_T + m (a_S - a_T), coordinate by coordinate
    for j in range(d):
        c = np.subtract(b_s[:, j], b_t[:, j])
        c += m[:, j] * da
        c *= c
        total = c if total is None else np.add(total, c, out=total)
    v = np.square(s)
    v /= n
    tt2 = np.square(tau_t)
    k_n = np.square(da)  # K_n = (||c_Delta||^2 + d da^2 v) / (2 tau_T^2) + (d/2) phi(x)
    k_n *= v
    k_n *= d
    k_n += total
    k_n /= tt2
    k_n *= 0.5
    x = np.square(tau_s)
    x /= tt2
    u = x - 1.0
    ph = u - np.log1p(u)
    far = np.flatnonzero((u < -0.5) | (u > 1.0))
    ph[far] = (x[far] - 1.0) - np.log(x[far])
    small = np.flatnonzero(np.abs(u) < 0.1)
    us = u[small]
    acc = np.zeros_like(us)
    for coef in _SERIES:
        acc = acc * us + coef
    ph[small] = acc * us * us
    ph *= 0.5 * d
    k_n += ph
    dgen = da * v
    dgen *= 2 * d
    e_sigma2 = tt2 * v
    e_sigma2 *= 4 * d
    lhs = np.abs(dgen)
    rhs = e_sigma2 * k_n
    rhs *= 2.0
    np.sqrt(rhs, out=rhs)
    tol = np.maximum(lhs, rhs)
    tol *= U1_RTOL
    tol += U1_ATOL
    holds = rhs - lhs >= -tol
    return k_n, rhs, holds, lhs / rhs


def scalar_loop(objs):
    out = np.empty(len(objs))
    for i, (model, st, te) in enumerate(objs):
        vals = model.theorem_values(st, te)
        out[i] = float(U1.evaluate(**vals).rhs)
    return out


def sympy_expressions(d=3):
    """K_n, Esigma2, dgen and the U1 sides as sympy expressions of the model/kernel symbols,
    from the formulas the numeric code is compiled from (:mod:`kdtheory.formulas.gaussian_mean`,
    one source; ``||c_Delta||^2`` summed over ``d`` coordinates of the per-coordinate formula)."""
    from kdtheory.formulas.compile import definition
    from kdtheory.formulas.gaussian_mean import SYMBOLS, formula

    S = {k: p.symbol for k, p in SYMBOLS.items()}
    n, s, a_s, tau_s, a_t, tau_t = (S[k] for k in ("n", "s", "a_S", "tau_S", "a_T", "tau_T"))
    m = np.array(sp.symbols(f"m0:{d}", real=True), dtype=object)
    b_s = np.array(sp.symbols(f"bS0:{d}", real=True), dtype=object)
    b_t = np.array(sp.symbols(f"bT0:{d}", real=True), dtype=object)
    c_delta = formula("c_Delta").expr
    c2 = sum(
        c_delta.subs({S["m"]: m[j], S["b_S"]: b_s[j], S["b_T"]: b_t[j]}) ** 2 for j in range(d)
    )
    common = {S["d"]: d, S["c_Delta2"]: c2}
    vals = {k: definition(formula(k).expr).subs(common) for k in ("K_n", "Esigma2", "dgen")}
    sub = {U1_sym: vals[name] for name, U1_sym in _u1_symbols().items()}
    lhs, rhs = U1.lhs.subs(sub), U1.rhs.subs(sub)
    syms = {"n": n, "s": s, "a_S": a_s, "tau_S": tau_s, "a_T": a_t, "tau_T": tau_t}
    return lhs, rhs, vals["K_n"], syms, m, b_s, b_t


def _u1_symbols():
    from kdtheory.symbols import symbol

    return {name: symbol(name) for name in U1.symbols}


def sympy_eval(exprs, args, idx):
    lhs, rhs, k_n, syms, m, b_s, b_t = exprs
    am, an, as_, aas, abs_, ats, aat, abt, att = args
    out = np.empty((len(idx), 2))
    for j, i in enumerate(idx):
        sub = {
            syms["n"]: int(an[i]),
            syms["s"]: sp.Float(float(as_[i])),
            syms["a_S"]: sp.Float(float(aas[i])),
            syms["tau_S"]: sp.Float(float(ats[i])),
            syms["a_T"]: sp.Float(float(aat[i])),
            syms["tau_T"]: sp.Float(float(att[i])),
        }
        for k in range(len(m)):
            sub[m[k]] = sp.Float(float(am[i, k]))
            sub[b_s[k]] = sp.Float(float(abs_[i, k]))
            sub[b_t[k]] = sp.Float(float(abt[i, k]))
        out[j, 0] = float(k_n.subs(sub).evalf())
        out[j, 1] = float(rhs.subs(sub).evalf())
    return out


def section_vectorised(quick: bool):
    rng = np.random.default_rng(2026)
    n_vec = 100_000 if quick else 1_000_000
    n_loop = 2_000 if quick else 20_000
    n_sym = 30 if quick else 200
    args = points(rng, n_vec)
    t_vec, (vals, ev) = best_time(lambda: vectorised(args), repeat=5)
    rate_vec = n_vec / t_vec

    idx = np.arange(n_loop)
    m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t = args
    objs = []
    for i in idx:
        model = GaussianMeanModel(3, int(n[i]), float(s[i]), m[i])
        objs.append(
            (model, model.kernel(a_s[i], b_s[i], tau_s[i]), model.kernel(a_t[i], b_t[i], tau_t[i]))
        )
    t_loop, rhs_loop = best_time(lambda: scalar_loop(objs), repeat=1)
    rate_loop = n_loop / t_loop

    exprs = sympy_expressions()
    sidx = np.arange(n_sym)
    t_sym, sym_vals = best_time(lambda: sympy_eval(exprs, args, sidx), repeat=1)
    rate_sym = n_sym / t_sym

    # the three agree on the same points
    dev_loop = np.max(np.abs(rhs_loop - ev.rhs[idx]) / np.abs(ev.rhs[idx]))
    dev_sym_k = np.max(np.abs(sym_vals[:, 0] - vals["K_n"][sidx]) / np.abs(vals["K_n"][sidx]))
    dev_sym_u = np.max(np.abs(sym_vals[:, 1] - ev.rhs[sidx]) / np.abs(ev.rhs[sidx]))

    floats = tuple(np.asarray(a, dtype=float) for a in args)
    t_fused, (k_f, rhs_f, holds_f, _) = best_time(lambda: fused_reference(*floats), repeat=5)
    rate_fused = n_vec / t_fused
    dev_fused = max(
        np.max(np.abs(k_f - vals["K_n"]) / np.abs(vals["K_n"])),
        np.max(np.abs(rhs_f - ev.rhs) / np.abs(ev.rhs)),
    )
    t_check, _ = best_time(lambda: A.theorem_values(*args), repeat=5)
    t_kern, _ = best_time(lambda: A._theorem_values(*A._triple(*args)), repeat=5)
    t_triple, _ = best_time(lambda: A._triple(*args), repeat=5)

    t_audit, batch = best_time(lambda: gaussian_mean_array_batch(rng, n_vec))
    t_audit_ev, _ = best_time(lambda: U1.evaluate(**batch.values))
    rate_audit = n_vec / (t_audit + t_audit_ev)

    print("## 1. Model A: K_n + Theorem U1 on the same points (d = 3, Gibbs teacher, KD student)")
    print(f"vectorised      {n_vec:>9,d} configs  {t_vec:9.4f} s  {rate_vec:14,.0f} configs/s")
    print(f"scalar loop     {n_loop:>9,d} configs  {t_loop:9.4f} s  {rate_loop:14,.0f} configs/s")
    print(f"sympy subs/evalf{n_sym:>9,d} configs  {t_sym:9.4f} s  {rate_sym:14,.1f} configs/s")
    print(
        f"fused numpy ref {n_vec:>9,d} configs  {t_fused:9.4f} s  {rate_fused:14,.0f} configs/s"
        f"  (hand-written here, no validation; max rel. diff {dev_fused:.1e}, same verdicts: "
        f"{bool(np.array_equal(holds_f, ev.holds))})"
    )
    print(
        f"vectorised = {rate_vec / 1e6:.1f} M configs/s (target >= 10 M); of it: validating the "
        f"9 input arrays {t_triple:.4f} s, model kernels {t_kern - t_triple:.4f} s, "
        f"Theorem.evaluate {max(t_vec - t_check, 0.0):.4f} s; fused reference / vectorised "
        f"= {rate_fused / rate_vec:.2f}x"
    )
    print(f"ratio vectorised / scalar loop   = {rate_vec / rate_loop:12,.0f}x   (target >= 100x)")
    print(f"ratio vectorised / sympy         = {rate_vec / rate_sym:12,.0f}x")
    print(f"ratio scalar loop / sympy        = {rate_loop / rate_sym:12,.0f}x")
    print(
        f"agreement (max rel. diff): loop vs vectorised U1 {dev_loop:.1e}; "
        f"sympy vs vectorised K_n {dev_sym_k:.1e}, U1 {dev_sym_u:.1e}"
    )
    print(
        f"audit claim U1 end to end (vectorised sampler {t_audit:.4f} s + evaluate "
        f"{t_audit_ev:.4f} s): {rate_audit:,.0f} configs/s (target >= 1e6)"
    )
    print(f"all U1 cases hold: {bool(np.all(ev.holds))}")
    print()


def section_monte_carlo(quick: bool):
    """Closed-form K_n (THEORY §6.2) vs its Monte Carlo twin on the THEORY §9 golden case."""
    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    student = model.kd_student(teacher, alpha=0.3, gamma=1.0, lam=2.0, m0=0.0)
    reps = 2_000 if quick else 20_000
    t_cf, k_n = best_time(
        lambda: [model.distillation_divergence(student, teacher) for _ in range(reps)][-1]
    )
    t_cf /= reps
    size = 20_000 if quick else 200_000
    rng = np.random.default_rng(1)
    t_mc, (est, se) = best_time(
        lambda: model.monte_carlo_divergence(student, teacher, size, rng), repeat=1
    )
    # accuracy of the double-precision closed form: against a 200-bit ball evaluation
    err, how = _closed_form_error(model, student, teacher, k_n)
    need = size * (se / err) ** 2
    t_need = t_mc * need / size
    need3 = size * (se / (1e-3 * k_n)) ** 2
    print("## 2. Closed-form K_n vs Monte Carlo of equal accuracy (THEORY §9 golden case)")
    print(
        f"closed form: K_n = {k_n!r}, {t_cf * 1e6:.2f} us per evaluation, abs. error {err:.1e} ({how})"
    )
    print(
        f"Monte Carlo: {size:,d} draws in {t_mc:.3f} s: {est:.6f} +/- {se:.1e} "
        f"(|MC - closed| = {abs(est - k_n) / se:.2f} standard errors)"
    )
    print(
        f"equal accuracy ({err:.1e}) needs ~{need:.1e} draws, ~{t_need:.1e} s: "
        f"{t_need / t_cf:.1e}x the closed form"
    )
    print(
        f"even 1e-3 relative accuracy needs ~{need3:.1e} draws, ~{t_mc * need3 / size:.2f} s: "
        f"{t_mc * need3 / size / t_cf:.1e}x the closed form"
    )
    print()


def _closed_form_error(model, student, teacher, k_n):
    try:
        from flint import arb, ctx
    except ImportError:
        return 4 * np.finfo(float).eps * k_n, "4 ulp assumed: python-flint not installed"
    old = ctx.prec
    ctx.prec = 200
    try:

        def vec(x):
            return np.array([arb(float(v)) for v in x], dtype=object)

        parts = A._divergence_parts(
            vec(model.m),
            model.n,
            arb(model.s),
            arb(student.a),
            vec(student.b),
            arb(student.tau),
            arb(teacher.a),
            vec(teacher.b),
            arb(teacher.tau),
        )
        exact = parts["offset"] + parts["estimation"] + parts["spread"]
        err = abs(exact - arb(k_n))
        return max(float(err.upper()), np.finfo(float).tiny), "vs a 200-bit arb ball evaluation"
    finally:
        ctx.prec = old


#: Model C sizes d = k (n = 2d); the growth exponent is fitted on d >= MODEL_C_FIT_FROM, where the
#: O(d^3) linear algebra dominates the per-call Python overhead
MODEL_C_SIZES = (10, 50, 100, 200, 500)
MODEL_C_FIT_FROM = 50


def _growth_exponent(ds, ts) -> float:
    """Least-squares slope of ``log t`` against ``log d``."""
    return float(np.polyfit(np.log(ds), np.log(ts), 1)[0])


def section_model_c(quick: bool):
    """Model C (THEORY §7) at scale: ``d = k`` up to 500, ``n = 2d``, design ``X`` and ``W*`` iid
    normal (``W*`` scaled by ``1/sqrt(d)``), ``nu = 1``; Bayes teacher (``lam = 1``, ``T = 1``) and a
    KD student (``alpha = 0.5``, ``gamma_S = n/4``, ``lam_S = 2``; all three parts of ``K_n``
    non-zero).  Times: building the teacher + student, and ``distillation_divergence``."""
    print("## 3. Model C (linear-Gaussian, THEORY §7): time as d = k grow (n = 2d)")
    print(
        "Bayes teacher (lam = 1, T = 1) + KD student (alpha = .5, gamma_S = n/4, lam_S = 2); "
        "best of 3 below 0.5 s"
    )
    sizes = MODEL_C_SIZES[:3] if quick else MODEL_C_SIZES
    rng = np.random.default_rng(5)
    print(
        f"{'d = k':>6} {'n':>6} {'K_n':>14} {'offset':>11} {'estimation':>11} {'spread':>11} "
        f"{'build s':>9} {'K_n s':>9}"
    )
    rows = []
    for d in sizes:
        n = 2 * d
        model = LinearGaussianModel(
            rng.standard_normal((d, n)), rng.standard_normal((d, d)) / math.sqrt(d), 1.0
        )

        def build(mo=model, n=n):
            teacher = mo.bayes_teacher(lam=1.0, temperature=1.0)
            return teacher, mo.kd_student(teacher, alpha=0.5, gamma=n / 4, lam=2.0)

        t_build, (teacher, student) = _timed(build)
        t_kn, k_n = _timed(
            lambda mo=model, st=student, te=teacher: mo.distillation_divergence(st, te)
        )
        parts = model.divergence_parts(student, teacher)
        rows.append((d, t_build, t_kn))
        print(
            f"{d:>6} {n:>6} {float(k_n):>14.8g} {parts['offset']:>11.4g} "
            f"{parts['estimation']:>11.4g} {parts['spread']:>11.4g} {t_build:>9.4f} {t_kn:>9.4f}"
        )
    fit = [r for r in rows if r[0] >= MODEL_C_FIT_FROM]
    if len(fit) >= 2:
        ds = [r[0] for r in fit]
        e_build = _growth_exponent(ds, [r[1] for r in fit])
        e_kn = _growth_exponent(ds, [r[2] for r in fit])
        print(
            f"fitted growth (least squares, d = {ds[0]}..{ds[-1]}): build ~ d^{e_build:.2f}, "
            f"K_n ~ d^{e_kn:.2f}  (operation count O(d^3 + d^2 n + k^2 d), no Kronecker product)"
        )
    print()


def _timed(fn):
    """Wall time of ``fn()`` (best of 3 if one run takes < 0.5 s) and its result."""
    t0 = time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    if t < 0.5:
        t = min(t, best_time(fn)[0])
    return t, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10x fewer configurations (a smoke run)")
    args = p.parse_args(argv)
    print(
        f"kdtheory closed-form benchmark ({'quick' if args.quick else 'full'}); python "
        f"{platform.python_version()}, numpy {np.__version__}, sympy {sp.__version__}; "
        f"{os.cpu_count()} CPUs visible, 1 thread"
    )
    print()
    section_vectorised(args.quick)
    section_monte_carlo(args.quick)
    section_model_c(args.quick)


if __name__ == "__main__":
    main()
