"""Model A's formulas as data (kdtheory.formulas, issue 11): the compiled functions equal their
expressions, the expressions reproduce THEORY §9, the design helper agrees with a numeric
minimiser, ``kdtheory derive`` prints what the expressions say, and Model A's K_n is written
only where it is derived."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from formula_checks import draw as _draw
from formula_checks import hits_outside_formulas, run_derive
from scipy.optimize import minimize_scalar

from kdtheory import GaussianMeanModel
from kdtheory.cli import main
from kdtheory.formulas import OVERRIDES, compile_expr, phi
from kdtheory.formulas import gaussian_mean as F
from kdtheory.formulas.compile import definition
from kdtheory.models import gaussian_mean as A

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-12  # compiled double vs 50-digit mpmath of the expression (issue 11)


def _mp_reference(fn, cols, i):
    with mpmath.workdps(50):
        args = [
            int(c[i]) if np.issubdtype(c.dtype, np.integer) else mpmath.mpf(float(c[i]))
            for c in cols
        ]
        return fn(*args)


@pytest.mark.parametrize("name", list(F.formulas()))
def test_compiled_numpy_equals_expression_at_50_digits(name):
    """Meta-test over every registered formula: the vectorised numpy function (stable overrides
    included) equals the expression -- overrides replaced by their definitions -- evaluated
    with mpmath at 50 digits, to 1e-12 relative, at 200 random points of the symbols' domains."""
    f, c = F.formula(name), F.compiled(name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cols = [_draw(rng, F.SYMBOLS[k], 200) for k in f.args]
    got = np.broadcast_to(c.numpy(*cols), (200,))
    worst = 0.0
    for i in range(200):
        want = _mp_reference(c.mpmath, cols, i)
        worst = max(worst, float(abs(got[i] - want) / max(abs(want), mpmath.mpf(1e-300))))
    assert worst <= RTOL, f"{name}: max relative difference {worst:.2e}"


#: the overrides with their own test points and tolerances (tests/test_formulas_cgf.py)
OWN_TESTS = {"log1pmx", "tightness_ratio"}


@pytest.mark.parametrize("name", ["log1p", "phi"])  # others: test_formulas_models/_cgf.py
def test_stable_override_equals_its_definition(name):
    """Each registered stable form equals its definition at 50 digits (1e-12 relative), also
    where the definition cancels: phi near 1, log1p near 0."""
    ov = OVERRIDES[name]
    x = sp.Symbol("x", positive=True)
    c = compile_expr(ov.function(x), [x])
    rng = np.random.default_rng(7)
    pts = np.concatenate(
        [
            np.exp(rng.uniform(-20, 20, 200)),
            1.0 + rng.choice([-1, 1], 100) * 10.0 ** rng.uniform(-15, -1, 100),
            10.0 ** rng.uniform(-15, -1, 100),
        ]
    )
    got = c.numpy(pts)
    for i, xv in enumerate(pts):
        with mpmath.workdps(50):
            want = c.mpmath(mpmath.mpf(float(xv)))
            assert abs(got[i] - want) <= RTOL * abs(want), (name, xv, got[i], want)


def test_overrides_and_formulas_have_symbols_with_meanings():
    assert {"phi", "log1p"} | OWN_TESTS <= set(OVERRIDES)
    for f in F.formulas().values():
        assert {str(s) for s in f.expr.free_symbols} <= set(f.args)
        for k, p in f.symbols.items():
            assert p.name == k and p.meaning and p.latex
        assert f.ref.startswith("THEORY §")
    with pytest.raises(ValueError, match="already registered"):
        from kdtheory.formulas.compile import register_override

        register_override(OVERRIDES["phi"])


def test_compiled_arb_encloses_the_expression():
    """The arb compile encloses the 50-digit value (it is what the certified path runs)."""
    flint = pytest.importorskip("flint")
    c = F.compiled("K_n")
    args = (2.5, 0.3, -0.1, 1.2, 0.9, 3, 7, 1.3)
    ball = c.arb(*args)
    with mpmath.workdps(50):
        want = c.mpmath(*[mpmath.mpf(x) if isinstance(x, float) else x for x in args])
    assert ball.contains(flint.arb(mpmath.nstr(want, 45)))
    assert float(ball.rad()) < 1e-14
    # object arrays dispatch elementwise to the arb function
    out = c(np.array([flint.arb(2.5)], dtype=object), *args[1:])
    assert out.dtype == object and out[0].overlaps(ball)


# -- THEORY §9 golden values from the expressions --------------------------------------------------
def _golden_subs():
    """THEORY §9's case as exact rationals substituted into the expressions: d=3, n=7, s=1.3,
    m=(.5,-1,2); teacher Gibbs(gamma=2, lam=.7, m0=.2); student KD(alpha=.3, gamma_S=1,
    lam_S=2, m0_S=0), mean soft labels."""
    R = sp.Rational
    S = {k: p.symbol for k, p in F.SYMBOLS.items()}
    e = {k: F.formula(k).expr for k in F.formulas()}
    m = [R(1, 2), -1, 2]
    hyper = {S["gamma_T"]: 2, S["lam_T"]: R(7, 10), S["m0_T"]: R(1, 5)}
    a_t, tau_t = e["gibbs_a"].subs(hyper), e["gibbs_tau"].subs(hyper)
    b_t = e["gibbs_b"].subs(hyper)  # the same in every coordinate (scalar m0)
    kd = {
        S["alpha"]: R(3, 10),
        S["gamma_S"]: 1,
        S["lam_S"]: 2,
        S["m0_S"]: 0,
        S["a_T"]: a_t,
        S["b_T"]: b_t,
    }
    a_s, b_s, tau_s = e["kd_a_S"].subs(kd), e["kd_b_S"].subs(kd), e["kd_tau_S"].subs(kd)
    c2 = sum(
        e["c_Delta"].subs({S["a_S"]: a_s, S["b_S"]: b_s, S["a_T"]: a_t, S["b_T"]: b_t, S["m"]: mj})
        ** 2
        for mj in m
    )
    subs = {S["d"]: 3, S["n"]: 7, S["s"]: R(13, 10), S["c_Delta2"]: c2}
    subs.update({S["a_S"]: a_s, S["a_T"]: a_t, S["tau_S"]: tau_s, S["tau_T"]: tau_t})
    return e, subs, S


def test_golden_values_from_the_expressions():
    """THEORY §9 (double precision, recorded there), reproduced by substituting the case into
    the derived expressions and evaluating at 30 digits."""
    e, subs, S = _golden_subs()

    def val(expr):
        return float(sp.N(definition(expr).subs(subs), 30))

    golden = {
        "K_n": 2.3605964336210143,
        "offset": 2.063304175531915,
        "estimation": 0.2766944794832827,
        "spread": 0.02059777860581659,
        "Esigma2": 0.6164133738601825,
    }
    for k, want in golden.items():
        assert val(e[k]) == pytest.approx(want, rel=1e-12), k
    assert val(e["gen"].subs(S["a"], S["a_T"])) == pytest.approx(1.232826747720365, rel=1e-12)
    assert val(e["gen"].subs(S["a"], S["a_S"])) == pytest.approx(0.648775075987842, rel=1e-12)
    u1, _ = F.expression("U1")
    assert val(u1) == pytest.approx(1.705932713778972, rel=1e-12)
    # the composed K_n of a KD student of a Gibbs teacher gives the same K_n (m_sq, m_sum of m)
    kd = {S["alpha"]: sp.Rational(3, 10), S["gamma_S"]: 1, S["lam_S"]: 2, S["m0_S"]: 0}
    kd.update({S["gamma_T"]: 2, S["lam_T"]: sp.Rational(7, 10), S["m0_T"]: sp.Rational(1, 5)})
    kd.update({S["m_sq"]: sp.Rational(21, 4), S["m_sum"]: sp.Rational(3, 2)})
    assert val(e["K_n_kd"].subs(kd)) == pytest.approx(2.3605964336210143, rel=1e-12)


def test_golden_tilt_student_attains_u1():
    """THEORY §9: tilt student kappa = .4 of the golden teacher: dgen = U1 = 0.5794285714285716."""
    e, subs, S = _golden_subs()
    kappa = sp.Rational(2, 5)
    a_t, tau_t = subs[S["a_T"]], subs[S["tau_T"]]
    tilt = {S["a_S"]: e["tilt_a_S"].subs({S["a_T"]: a_t, S["kappa"]: kappa})}
    tilt[S["tau_S"]] = e["tilt_tau_S"].subs(S["tau_T"], tau_t)
    b_t = e["gibbs_b"].subs(
        {S["gamma_T"]: 2, S["lam_T"]: sp.Rational(7, 10), S["m0_T"]: sp.Rational(1, 5)}
    )
    c2 = sum(
        e["c_Delta"].subs(
            {
                S["a_S"]: tilt[S["a_S"]],
                S["b_S"]: e["tilt_b_S"].subs({S["b_T"]: b_t, S["kappa"]: kappa, S["m"]: mj}),
                S["a_T"]: a_t,
                S["b_T"]: b_t,
                S["m"]: mj,
            }
        )
        ** 2
        for mj in (sp.Rational(1, 2), -1, 2)
    )
    assert sp.simplify(c2) == 0  # the tilt keeps c_Delta = 0 (THEORY §6.4)
    subs = {**subs, **tilt, S["c_Delta2"]: 0}
    u1 = sp.nsimplify(definition(F.expression("U1")[0]).subs(subs))
    dgen = e["dgen"].subs(subs)
    assert sp.simplify(u1 - dgen) == 0  # exact equality, not just to rounding
    assert float(dgen) == pytest.approx(0.5794285714285716, rel=1e-12)


# -- the design helper (more in tests/test_design.py) ---------------------------------------------
def test_design_kd_weight_zero_prior_means_from_the_solver():
    """For zero prior means the solver's root is gamma_T lam_S / (gamma_S lam_T) (issue 11)."""
    w = F.design("K_n", "alpha", zero_prior_means=True)
    S = {k: p.symbol for k, p in F.SYMBOLS.items()}
    assert w.kind == "symbolic" and w.value is None
    assert sp.simplify(w.expr - S["gamma_T"] * S["lam_S"] / (S["gamma_S"] * S["lam_T"])) == 0


@pytest.mark.parametrize("seed", range(6))
def test_design_kd_weight_agrees_with_a_numeric_minimiser(seed):
    """The helper's alpha (exact root at the numbers, or an end of [0, 1]) against scipy's
    bounded minimiser of K_n computed by the array code (Gibbs teacher, KD student, exact K_n)
    -- an independent route through the kernel maps and the vector c_Delta."""
    rng = np.random.default_rng(seed)
    d, n, s = int(rng.integers(1, 5)), int(rng.integers(1, 30)), float(rng.uniform(0.3, 3))
    m = rng.normal(size=d)
    g_t, l_t, m0_t = rng.uniform(0.2, 5), rng.uniform(0.1, 5), float(rng.normal())
    g_s, l_s, m0_s = rng.uniform(0.2, 5), rng.uniform(0.1, 5), float(rng.normal())
    teacher = A.gibbs(g_t, l_t, np.full(d, m0_t))

    def k_n(alpha):
        st = A.kd_student(*teacher, alpha, g_s, l_s, np.full(d, m0_s))
        return float(A.distillation_divergence(m, n, s, *st, *teacher))

    res = minimize_scalar(k_n, bounds=(0, 1), method="bounded", options={"xatol": 1e-10})
    best = min([0.0, 1.0, res.x], key=k_n)
    w = F.design(
        "K_n", "alpha", gamma_S=g_s, lam_S=l_s, m0_S=m0_s, gamma_T=g_t, lam_T=l_t, m0_T=m0_t,
        m_sq=float(m @ m), m_sum=float(m.sum()), d=d, n=n, s=s,
    )  # fmt: skip
    assert w.kind == "symbolic"
    assert w.value == pytest.approx(best, abs=1e-6)
    assert k_n(w.value) <= k_n(best) + 1e-12
    assert w.minimum == pytest.approx(k_n(w.value), rel=1e-12)


# -- kdtheory derive -----------------------------------------------------------------------------


def test_derive_k_n_prints_the_closed_form_and_the_stationary_point():
    rc, text = run_derive("K_n", "--model", "gaussian-mean", "--wrt", "a_S")
    assert rc == 0
    lines = text.splitlines()
    shown = sp.sympify(
        lines[1].split("=", 1)[1],
        locals={"phi": phi, **{k: p.symbol for k, p in F.SYMBOLS.items()}},
    )
    assert sp.simplify(shown - F.formula("K_n").expr) == 0
    assert "c_Delta2" in text and "squared norm of the offset difference" in text
    assert lines[-1].endswith("(sympy.solve, symbolic): a_T")  # K_n is smallest at a_S = a_T


def test_derive_gen_has_no_stationary_point():
    rc, text = run_derive("gen", "--wrt", "a")
    assert rc == 0
    assert "gen = 2*a*d*s**2/n" in text
    assert text.splitlines()[-2] == "d/da = 2*d*s**2/n"
    assert text.splitlines()[-1].endswith("symbolic): none")


def test_derive_u1_bound_in_model_terms():
    """U1's bound side with Model A's K_n and Esigma2 substituted; its square is 2 Esigma2 K_n;
    stationary in a_S at a_S = a_T (through its square), and --latex prints LaTeX."""
    rc, text = run_derive("U1", "--wrt", "a_S")
    assert rc == 0 and "upper side of theorem U1" in text
    u1, _ = F.expression("U1")
    want = 2 * F.formula("Esigma2").expr * F.formula("K_n").expr
    assert sp.simplify(u1**2 - want) == 0
    assert text.splitlines()[-1].endswith("symbolic): a_T")
    rc, tex = run_derive("U1", "--latex")
    assert rc == 0 and r"\|c_\Delta\|^2" in tex and r"\phi\left(" in tex


def test_derive_kd_weight_from_the_cli():
    rc, text = run_derive("K_n_kd", "--wrt", "alpha")
    assert rc == 0 and "stationary points in alpha (sympy.solve, symbolic)" in text


@pytest.mark.parametrize(
    "argv,match",
    [
        (["nonsense"], "unknown quantity 'nonsense'"),
        (["gen", "--wrt", "zz"], "--wrt zz: not a symbol of gen"),
        (["U0"], "theorem U0 needs E_D"),
        (["gen", "--model", "nonsense"], "invalid choice"),
    ],
)
def test_derive_bad_arguments_exit_2_with_one_line(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["derive", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]  # argparse's usage, then one error line
    assert len(errors) == 1 and match in errors[0] and err[-1] == errors[0]


def test_model_closed_form():
    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    f = model.closed_form("K_n")
    assert f is F.formula("K_n")
    assert set(f.symbols) == {"c_Delta2", "a_S", "a_T", "tau_S", "tau_T", "d", "n", "s"}
    assert "distillation divergence" in f.meaning and "c_Delta2" in f.describe()
    with pytest.raises(KeyError, match="unknown Model A quantity"):
        model.closed_form("nope")


# -- single source ----------------------------------------------------------------------------------
#: telltale pieces of Model A's K_n (THEORY §6.2) as it was typed by hand before the formulas
#: module, each with a line of that old code it must match
TELLTALES = {
    "estimation da^2 d v": (
        r"_sq\(da\)\s*\*\s*d|\bda\s*\*\*\s*2\s*\*\s*d\b|\bda\s*\*\s*da\s*\*\s*d\b",
        '"estimation": _sq(da) * d * (_sq(s) / n) / (2 * t2),',
    ),
    "spread (d/2) phi(tau_S^2/tau_T^2)": (
        r"\bd\s*\*\s*phi\(\s*(_sq\()?(student\.)?tau",
        "spread = 0.5 * d * phi(student.tau**2 / t2)",
    ),
    "offset ||c_Delta||^2/(2 tau_T^2)": (
        r"c_delta\s*\*\s*c_delta.*\)\s*/\s*\(2",
        '"offset": np.sum(c_delta * c_delta, axis=-1) / (2 * t2),',
    ),
}


@pytest.mark.parametrize("what", list(TELLTALES))
def test_model_a_k_n_is_written_only_in_the_formulas_module(what):
    """Inventory: no module of kdtheory/ outside kdtheory/formulas/ types a piece of Model A's
    K_n; the array code gets it from the derived formulas (``_f("offset")`` ...)."""
    pattern, old_line = TELLTALES[what]
    assert re.search(pattern, old_line), "the telltale must match the code it replaced"
    assert hits_outside_formulas(pattern) == []
    arrays = (ROOT / "kdtheory" / "models" / "gaussian_mean.py").read_text()
    for name in (
        "offset",
        "estimation",
        "spread",
        "c_Delta",
        "gen",
        "Esigma2",
        "gibbs_a",
        "kd_a_S",
    ):
        assert f'_f("{name}")' in arrays


def test_import_kdtheory_derives_nothing():
    """The derivations run on first use, not at ``import kdtheory`` (import time)."""
    import subprocess
    import sys

    code = "import sys, kdtheory; print(any('formulas.gaussian_mean' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
