"""The ball kernel's formulas (issue 11; :mod:`kdtheory.formulas.ball`): every formula's compiled
numpy function equals its expression at 50 digits; the registered ``ball_average`` equals its
definition (the non-central chi-square form) at 50 digits in every regime of its numerics and
its arb ball encloses it; the derivations equal the closed forms of the model's docstring; the
formulas agree with the model's numbers; the batch code computes from the compiled functions;
each quantity is written once; ``kdtheory derive --model ball-kernel`` works."""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from formula_checks import draw, hits_outside_formulas, run_derive

from kdtheory.formulas import ball as FB
from kdtheory.formulas.compile import OVERRIDES, ball_average, compile_expr

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-12  # compiled double vs 50-digit mpmath of the expression (issue 11)
S = {k: p.symbol for k, p in FB.SYMBOLS.items()}

#: points per formula of the 50-digit meta-test: the quadrature behind Psi and gen is slower
POINTS = {"Psi": 25, "gen": 15}


def _columns(name, rng, size):
    cols = {k: draw(rng, FB.SYMBOLS[k], size) for k in FB.formula(name).args}
    if "d" in cols:  # dimensions 1..12 (d log d rounding of the log-prefactor stays < 1e-13)
        cols["d"] = rng.integers(1, 13, size)
    return cols


def _scale(name, xs):
    """``gen = Psi(v_tr) - Psi(v_te)`` is a difference of two averages that cancels when
    ``a s^2/n << omega^2 + s^2`` (no stable form: the batch code subtracts the two); its error is
    measured relative to ``Psi(v_tr) + Psi(v_te)``, the scale of its terms."""
    psi = FB.compiled("Psi").mpmath
    v = {k: sp.lambdify(FB.formula(k).args, FB.formula(k).expr, "mpmath") for k in ("v_tr", "v_te")}
    terms = [
        psi(
            xs["ck2"],
            xs["radius"],
            xs["omega"],
            v[k](*(xs[a] for a in FB.formula(k).args)),
            xs["d"],
        )
        for k in v
    ]
    return sum(terms)


@pytest.mark.parametrize("name", list(FB.formulas()))
def test_compiled_numpy_equals_expression_at_50_digits(name):
    """Meta-test over every ball-kernel formula: the vectorised numpy function (the registered
    ``ball_average`` included) equals the expression -- overrides replaced by their definitions,
    the chi-square probability by 50-digit quadrature of its density -- evaluated with mpmath
    at 50 digits, to 1e-12 relative (gen: relative to its terms, :func:`_scale`), at random
    points of the symbols' domains (integers passed exactly); the relation ``inside`` agrees
    wherever its sides differ by more than 1e-9."""
    f, c = FB.formula(name), FB.compiled(name)
    size = POINTS.get(name, 200)
    rng = np.random.default_rng(zlib.crc32(f"ball-kernel/{name}".encode()))
    cols = [_columns(name, rng, size)[k] for k in f.args]
    got = np.broadcast_to(c.numpy(*cols), (size,))
    worst, checked = 0.0, 0
    for i in range(size):
        with mpmath.workdps(50):
            xs = [mpmath.mpf(int(x[i]) if x.dtype.kind == "i" else x[i]) for x in cols]
            want = c.mpmath(*xs)
            if isinstance(f.expr, sp.Rel):
                lhs, rhs = (sp.lambdify(f.args, side, "mpmath")(*xs) for side in f.expr.args)
                if abs(lhs - rhs) > 1e-9 * abs(rhs):
                    assert bool(got[i]) == bool(want), [x[i] for x in cols]
                    checked += 1
                continue
            scale = _scale(name, dict(zip(f.args, xs, strict=True))) if name == "gen" else want
            worst = max(worst, float(abs(got[i] - want) / max(abs(scale), mpmath.mpf(1e-300))))
    assert worst <= RTOL, f"ball-kernel.{name}: max relative difference {worst:.2e}"
    if isinstance(f.expr, sp.Rel):
        assert 0 < got.sum() < size and checked > size // 2  # both outcomes, mostly decided


#: regimes of the ball average's numerics (formulas/ncx2.py), as (ck2, radius, omega, x, d):
#: scipy's ncx2 CDF, the small-ball expansion (t <= 1e-8), the vectorised far tail and the
#: extended-precision one (P far below 1e-280), a central ball (ck2 = 0), a subnormal
#: non-centrality and a large ball
REGIMES = [
    (1.5, 0.7, 0.9, 1.2, 3),
    (9.0, 0.3, 0.6, 2.0, 5),
    (0.2, 4.0, 2.0, 0.0, 2),
    (3.0, 1e-5, 1.0, 0.5, 7),
    (0.4, 1e-7, 0.3, 0.1, 1),
    (400.0, 0.1, 1.0, 0.0, 1),
    (15.0, 20.0, 0.05, 3.0, 40),
    (900.0, 0.5, 1.0, 0.0, 30),
    (0.0, 2.0, 1.0, 0.5, 1),
    (1e-320, 0.8, 1.0, 0.3, 2),
    (50.0, 30.0, 1.0, 2.0, 3),
]


@pytest.mark.parametrize("args", REGIMES)
def test_ball_average_override_equals_its_definition(args):
    """``ball_average``'s numpy form (log space, small-ball expansion, scipy's ncx2 CDF, the float
    and extended-precision Poisson tails) equals its definition -- ``(2 pi omega^2)^(d/2)/vol(B)
    exp(-nc/2)`` times the integral of the chi-square density, mpmath quadrature at 50 digits --
    to 1e-12 relative in each regime, and its arb ball (the Poisson mixture with a rigorous rest)
    contains the 50-digit value."""
    flint = pytest.importorskip("flint")
    xs = sp.symbols("ck2 radius omega x d", positive=True)
    c = compile_expr(OVERRIDES["ball_average"].function(*xs), xs)
    got = float(c.numpy(*args))
    with mpmath.workdps(50):
        want = c.mpmath(*[mpmath.mpf(v) for v in args])
        assert abs(got - want) <= RTOL * want, (args, got, want)
        ball = c.arb(*args)
        assert ball.overlaps(flint.arb(mpmath.nstr(want, 45)))
        assert float(ball.rad()) <= 1e-12 * float(want)


def test_ball_average_definition_against_the_ball_integral_itself():
    """An independent route to the definition: at ``d = 1`` the ball is an interval and
    ``Psi = (1/2R) int_{-R}^{R} (omega^2/q)^(1/2) exp(-(c + u)^2/(2q)) du`` in erfc form; at
    ``d = 2`` a polar double integral (mpmath, 30 digits)."""
    c = FB.compiled("Psi")
    with mpmath.workdps(30):
        for ck2, r, om, x in [(0.49, 0.7, 0.9, 1.2), (400.0, 0.1, 1.0, 0.0), (4.0, 3.0, 0.5, 0.3)]:
            q, cc = mpmath.mpf(om) ** 2 + x, mpmath.sqrt(ck2)
            erfc = mpmath.erfc((cc - r) / mpmath.sqrt(2 * q)) - mpmath.erfc(
                (cc + r) / mpmath.sqrt(2 * q)
            )
            want = mpmath.sqrt(om**2 / q) * mpmath.sqrt(mpmath.pi * q / 2) * erfc / (2 * r)
            assert float(c.numpy(ck2, r, om, x, 1)) == pytest.approx(float(want), rel=1e-12)
        ck2, r, om, x = 1.3, 0.8, 0.7, 0.4
        q = mpmath.mpf(om) ** 2 + x

        def integrand(rho, th):
            return rho * mpmath.exp(
                -(ck2 + rho**2 + 2 * rho * mpmath.sqrt(ck2) * mpmath.cos(th)) / (2 * q)
            )

        want = (
            om**2
            / q
            * mpmath.quad(integrand, [0, r], [0, mpmath.pi, 2 * mpmath.pi])
            / (mpmath.pi * r**2)
        )
        assert float(c.numpy(ck2, r, om, x, 2)) == pytest.approx(float(want), rel=1e-12)


def test_derivations_equal_the_models_closed_forms():
    """The closed forms of :mod:`kdtheory.models.ball_kernel`'s docstring (THEORY §5, §6 A-bump):
    ``K_n = d log(R_T/R_S)``, ``G1 = (1/omega + C/sqrt(omega^2 + s^2))/sqrt(e)``,
    ``beta = 1/omega^2 + C/(omega^2 + s^2)``, ``sigma_bar = (1 + C)/2``, the variances at
    ``tau = 0``, ``gen = Psi(v_tr) - Psi(v_te)`` and the containment relation."""
    d, n, s, om, a = (S[k] for k in ("d", "n", "s", "omega", "a"))
    ck2, r, x, r_s, r_t, shift = (S[k] for k in ("ck2", "radius", "x", "R_S", "R_T", "shift"))
    e = {k: f.expr for k, f in FB.formulas().items()}
    sig2 = om**2 + s**2
    c = (om**2 / sig2) ** (d / 2)
    assert (
        sp.simplify(sp.expand_log(e["K_n"] - (d * sp.log(r_t) - d * sp.log(r_s)), force=True)) == 0
    )
    assert sp.simplify(e["G1"] - (1 / om + c / sp.sqrt(sig2)) / sp.sqrt(sp.E)) == 0
    assert sp.simplify(e["beta"] - (1 / om**2 + c / sig2)) == 0
    assert sp.simplify(e["sigma_bar"] - (1 + c) / 2) == 0
    v_tr, v_te = s**2 * (1 - 2 * a / n + a**2 / n), s**2 * (1 + a**2 / n)
    assert sp.simplify(e["v_tr"] - v_tr) == 0 and sp.simplify(e["v_te"] - v_te) == 0
    psi = ball_average(ck2, r, om, x, d)
    assert e["Psi"] == psi
    assert sp.simplify(e["gen"] - (psi.subs(x, v_tr) - psi.subs(x, v_te))) == 0
    assert e["inside"] == sp.Le(shift + r_s, r_t) and e["centre_shift"] == sp.sqrt(S["db2"])


def _model_cases(rng, k):
    from kdtheory.models import BallKernelModel

    for _ in range(k):
        d = int(rng.integers(1, 6))
        model = BallKernelModel(d=d, n=int(rng.integers(1, 30)), s=float(np.exp(rng.uniform(-1, 1))),
                                m=rng.normal(size=d), omega=float(np.exp(rng.uniform(-1, 1))))  # fmt: skip
        r_t = float(np.exp(rng.uniform(-2, 1)))
        a = float(rng.normal())
        teacher = model.kernel(a=a, b=rng.normal(size=d), radius=r_t)
        shift = rng.uniform(0, 0.5) * r_t * rng.normal(size=d) / math.sqrt(d)
        student = model.kernel(a=a, b=teacher.b + shift, radius=r_t * rng.uniform(0.1, 0.5))
        yield model, student, teacher


def test_formulas_agree_with_the_model_at_random_points():
    """The compiled formulas against :class:`~kdtheory.models.BallKernelModel` (which evaluates
    the batch code) at random models and nested balls, 1e-12 relative: gen, K_n, the sharpness
    constants and Hoeffding's scale, the centre shift and the containment."""
    rng = np.random.default_rng(7)
    c = FB.compiled
    for model, student, teacher in _model_cases(rng, 40):
        args = (model.d, model.s, model.omega)
        for k in (student, teacher):
            ck2 = float(np.sum(model.offset(k) ** 2))
            want = c("gen")(ck2, k.radius, model.omega, k.a, model.n, model.s, model.d)
            assert model.gen(k) == pytest.approx(float(want), rel=1e-12, abs=1e-15)
        k_n = c("K_n")(model.d, student.radius, teacher.radius)
        assert float(model.distillation_divergence(student, teacher)) == pytest.approx(
            k_n, rel=1e-12
        )
        sc = model.sharpness_constants()
        assert sc["G1"] == pytest.approx(c("G1")(*args), rel=1e-12)
        assert sc["beta"] == pytest.approx(c("beta")(*args), rel=1e-12)
        vals = model.theorem_values(student, teacher)
        assert vals["sigma_bar"] == pytest.approx(c("sigma_bar")(*args), rel=1e-12)
        shift = c("centre_shift")(float(np.sum((student.b - teacher.b) ** 2)))
        assert shift == pytest.approx(float(np.linalg.norm(student.b - teacher.b)), rel=1e-12)
        assert bool(c("inside")(shift, student.radius, teacher.radius))
        assert not bool(c("inside")(shift, teacher.radius, teacher.radius)) or shift == 0


def test_batch_code_computes_from_the_compiled_formulas():
    """The batch functions of :mod:`kdtheory.models.ball_kernel` call the compiled formulas (the
    variances are Model A-bump's compiled ``v_tr``/``v_te`` at ``tau = 0``, the same
    expressions), and the model's Theorem S values equal those of the formulas."""
    src = (ROOT / "kdtheory/models/ball_kernel.py").read_text()
    for name in ("Psi", "K_n", "centre_shift", "inside", "G1", "beta", "sigma_bar"):
        assert f'_f("{name}")' in src
    assert "_train_variance(a, 0.0, n, s)" in src and "_test_variance(a, 0.0, n, s)" in src
    from kdtheory.formulas import bump as FBump

    tau = FBump.SYMBOLS["tau"].symbol
    for k in ("v_tr", "v_te"):
        assert FBump.formula(k).expr.subs(tau, 0) == FB.formula(k).expr


#: telltale pieces of the ball kernel's quantities as the array code typed them before the
#: formula module, each with a line of that old code it must match
TELLTALES = {
    "K_n d log(R_T/R_S)": (
        r"d\s*\*\s*np\.log\(\s*r_t\s*/\s*r_s",
        "return np.where(inside, np.maximum(d * np.log(r_t / r_s), 0.0), np.inf)",
    ),
    "G1 over sqrt(e)": (
        r"np\.sqrt\(\s*np\.e\s*\)",
        "return (1 / omega + c / np.sqrt(sig2)) / np.sqrt(np.e), 1 / omega**2 + c / sig2",
    ),
    "Hoeffding scale (1 + C)/2": (
        r"\(\s*1\s*\+\s*[\w.]*gap_floor\(.*\)\s*\)\s*/\s*2",
        "return (1 + _barr._gap_floor(d, s, omega)) / 2",
    ),
    "containment shift + R_S <= R_T": (
        r"shift\(.*\)\s*\+\s*r_s\s*<=",
        "return (a_s == a_t) & (_centre_shift(b_s, b_t) + r_s <= r_t * (1 + CONTAIN_RTOL))",
    ),
}


@pytest.mark.parametrize("what", list(TELLTALES))
def test_each_quantity_is_written_once(what):
    """Inventory: no module of kdtheory/ outside kdtheory/formulas/ types the quantity."""
    pattern, old_line = TELLTALES[what]
    assert re.search(pattern, old_line), "the telltale must match the code it replaced"
    assert hits_outside_formulas(pattern) == []


def test_formulas_have_symbols_meanings_and_provenance():
    for f in FB.formulas().values():
        assert {str(x) for x in f.expr.free_symbols} <= set(f.args)
        assert f.ref.startswith("THEORY §") and f.meaning
        assert f.how.startswith(("derived", "closed form from THEORY")), f.how
        assert FB.closed_form(f.name) is f
    with pytest.raises(KeyError, match="unknown ball-kernel quantity"):
        FB.formula("nope")


def test_derive_ball_kernel():
    """``kdtheory derive --model ball-kernel``: K_n's closed form and its derivative in R_S (no
    stationary point), gen in terms of the registered ball_average with its definition, and the
    printed closed form parses back to the expression."""
    rc, text = run_derive("K_n", "--model", "ball-kernel", "--wrt", "R_S")
    lines = text.splitlines()
    assert rc == 0 and lines[0].startswith("K_n (ball-kernel): K_n = E_D KL_D")
    assert lines[1] == "  K_n = d*log(R_T/R_S)" and lines[-2] == "d/dR_S = -d/R_S"
    assert lines[-1].endswith("(sympy.solve, symbolic): none")
    rc, text = run_derive("gen", "--model", "ball-kernel")
    local = {**S, "ball_average": ball_average}
    shown = sp.sympify(text.splitlines()[1].split("=", 1)[1], locals=local)
    assert rc == 0 and sp.simplify(shown - FB.formula("gen").expr) == 0
    assert "where ball_average(x, y, z, w, v) = " in text and "hyper" in text
    with pytest.raises(SystemExit):  # a relation has no derivative
        run_derive("inside", "--model", "ball-kernel", "--wrt", "R_S")


def test_import_kdtheory_loads_neither_the_ball_formulas_nor_their_numerics():
    import subprocess
    import sys

    code = "import sys, kdtheory; print(sorted(m for m in sys.modules if 'formulas.' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    loaded = eval(out.stdout.strip())  # a printed list of module names
    assert not [m for m in loaded if m.rsplit(".", 1)[-1] in {"ball", "ncx2"}]
