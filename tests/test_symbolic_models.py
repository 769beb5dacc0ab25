"""The memoriser, the bump model and Model C, symbolic in and symbolic out (issue 11 item 3;
THEORY §6 A-bump, §7, §8 N2).

Facts checked, per model: sympy parameters give quantities that are sympy expressions; these are
the formulas of the model's formula module with the arguments substituted (compared
structurally, not numerically); substituting random numbers into a fully symbolic result and
evaluating at 40 digits gives the numeric path's float to 1e-12 relative; numbers still give
floats; bad input is refused naming the parameter; numeric-only methods refuse symbolic input.
For Model C, ``sympy.solve`` on the symbolic ``K_n(alpha)`` of a KD student finds the design
value that the formula module's solver derives (``gamma_T lam_S / (gamma_S lam_T)``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from test_gaussian_mean_symbolic import _quantities as _model_a_quantities

import kdtheory
from kdtheory import BumpLossModel, MemoriserModel
from kdtheory.divergences import Divergence
from kdtheory.formulas import bump as FB
from kdtheory.formulas import gaussian_mean as FA
from kdtheory.formulas import linear_gaussian as FC
from kdtheory.formulas import memoriser as FM
from kdtheory.formulas.compile import definition
from kdtheory.models.linear import LinearGaussianModel

RTOL = 1e-12  # the symbolic result evaluated at 40 digits vs the compiled double path
#: where the exact value is 0 (a tilt student's offset part: its mean difference vanishes) the
#: double path leaves the rounding of the mean difference squared, ~1e-31 here
ATOL_ZERO = 1e-25
X_POS = sp.Symbol("x", positive=True)
Z_COMPLEX = sp.Symbol("z", complex=True)


def _at(expr, values) -> float:
    """``expr`` with ``values`` substituted, the stable functions expanded, at 40 digits (the
    values as 40-digit Floats of the same doubles: a 15-digit substitution would evaluate
    ``phi(x) = x - 1 - log x`` near ``x = 1`` with double cancellation)."""
    exact = {k: sp.Float(v, 40) if isinstance(v, float) else v for k, v in values.items()}
    return float(sp.N(definition(sp.sympify(expr)).subs(exact), 40))


def _agree(sym: dict, num: dict, values: dict) -> None:
    """Every symbolic quantity at ``values`` equals the numeric path's float (a ``K_n`` of the
    numeric path is a :class:`~kdtheory.divergences.Divergence`, as before)."""
    assert set(sym) == set(num)
    for key, expr in sym.items():
        want = float(num[key]) if isinstance(num[key], Divergence) else num[key]
        assert type(want) in (float, int), key
        if want == math.inf:
            assert expr is sp.oo, key
            continue
        assert _at(expr, values) == pytest.approx(want, rel=RTOL, abs=ATOL_ZERO), key


def _positive(rng, *names) -> tuple[dict, dict]:
    """Positive symbols ``names`` and log-uniform random values for them."""
    syms = {k: sp.Symbol(k, positive=True) for k in names}
    return syms, {syms[k]: math.exp(rng.uniform(-1.0, 1.0)) for k in names}


# -- the memoriser (THEORY §8 N2) -------------------------------------------------------------------
def _memoriser_quantities(model, student, teacher) -> dict:
    out = {f"tv {k}": v for k, v in model.theorem_values(student, teacher).items()}
    out["miss"] = model.miss_probability()
    out["K_n"] = model.distillation_divergence(student, teacher)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_memoriser_numbers_substituted_equal_the_numeric_path(seed):
    rng = np.random.default_rng(seed)
    M, n = (sp.Symbol(k, positive=True, integer=True) for k in ("M", "n"))
    p_s, p_t = (sp.Symbol(k, real=True) for k in ("p_S", "p_T"))
    values = {M: int(rng.integers(2, 10**6)), n: int(rng.integers(1, 500))}
    values.update({p_s: rng.uniform(0.01, 0.99), p_t: rng.uniform(0.01, 0.99)})
    model = MemoriserModel(M, n)
    sym = _memoriser_quantities(model, model.kernel(p_s), model.kernel(p_t))
    assert all(isinstance(v, sp.Expr) for v in sym.values())
    assert sym["K_n"].free_symbols == {p_s, p_t} and sym["tv gen_S"].free_symbols == {M, n, p_s}
    num_model = MemoriserModel(values[M], values[n])
    num = _memoriser_quantities(
        num_model, num_model.kernel(values[p_s]), num_model.kernel(values[p_t])
    )
    assert isinstance(num.pop("K_n"), Divergence)  # numbers: a Divergence, as before
    sym.pop("K_n")
    _agree(sym, num, values)


def test_memoriser_results_are_the_formulas_substituted():
    S = {k: p.symbol for k, p in FM.SYMBOLS.items()}
    model = MemoriserModel(S["M"], S["n"])
    student, teacher = model.kernel(S["p_S"]), model.kernel(S["p_T"])
    assert model.gen(model.kernel(S["p"])) == FM.formula("gen").expr
    assert model.miss_probability() == FM.formula("miss_probability").expr
    assert model.distillation_divergence(student, teacher) == FM.formula("K_n").expr
    vals = model.theorem_values(student, teacher)
    assert vals["sigma_bar"] == FM.formula("uniform_proxy").expr and vals["n"] is S["n"]
    # a symbolic p with numbers for M and n: the numbers substituted exactly
    p = sp.Symbol("p")
    assert MemoriserModel(10, 3).gen(MemoriserModel(10, 3).kernel(p)) == FM.formula(
        "gen"
    ).expr.subs({S["p"]: p, S["M"]: 10, S["n"]: 3})


def test_memoriser_numbers_keep_returning_floats_and_brute_force_needs_numbers():
    model = MemoriserModel(3, 2)
    k = model.kernel(sp.Rational(1, 3))  # a sympy number is a number
    assert type(k.p) is float and type(model.gen(k)) is float
    assert all(type(v) in (float, int) for v in model.theorem_values(k, k).values())
    symbolic = model.kernel(sp.Symbol("p"))
    with pytest.raises(TypeError, match="numerically only.*student .*symbolic parameters"):
        model.brute_force(symbolic, k)
    with pytest.raises(TypeError, match="the model .*symbolic parameters"):
        MemoriserModel(3, sp.Symbol("n", positive=True)).brute_force(k, k)


# -- the bump model (THEORY §6 A-bump) -------------------------------------------------------------
def _bump_quantities(model, teacher, students) -> dict:
    out = {"C": model.gap_floor(), "proxy": model.hoeffding_proxy(), "gen_T": model.gen(teacher)}
    out["v_tr"], out["v_te"] = model.train_variance(teacher), model.test_variance(teacher)
    for name, st in students.items():
        out[f"{name} gen"] = model.gen(st)
        out[f"{name} dgen"] = model.dgen(st, teacher)
        out[f"{name} Esigma2"] = model.conditional_proxy(teacher)
        for k, v in model.theorem_values(st, teacher).items():
            out[f"{name} tv {k}"] = v
    return out


@pytest.mark.parametrize("seed", range(3))
def test_bump_numbers_substituted_equal_the_numeric_path(seed):
    """Every parameter symbolic (n, s, m, the width; Gibbs teacher; KD, tilt and tempered Bayes
    students): the expressions at random numbers equal the numeric path's floats."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 4))
    y, values = _positive(rng, "s", "omega", "g_t", "l_t", "g_s", "l_s", "temp")
    for k in ("m0", "kappa", *(f"m{j}" for j in range(d))):
        y[k] = sp.Symbol(k, real=True)
        values[y[k]] = rng.uniform(-1.5, 1.5)
    y["n"], y["alpha"] = sp.Symbol("n", positive=True, integer=True), sp.Symbol("alpha")
    values[y["n"]], values[y["alpha"]] = int(rng.integers(1, 30)), rng.uniform(0, 1)
    num = {str(k): v for k, v in values.items()}

    def build(get, symbolic):
        model = BumpLossModel(d, get("n"), get("s"), [get(f"m{j}") for j in range(d)], get("omega"))
        assert model.symbolic is symbolic
        teacher = model.gibbs(get("g_t"), get("l_t"), get("m0"))
        students = {
            "kd": model.kd_student(teacher, get("alpha"), get("g_s"), get("l_s")),
            "tilt": model.tilt_student(teacher, get("kappa")),
            "bayes": model.tempered_bayes(get("temp")),
        }
        return _bump_quantities(model, teacher, students)

    sym = build(lambda k: y[k], True)
    assert all(isinstance(v, sp.Expr) and v.free_symbols for v in sym.values())
    _agree(sym, build(lambda k: num[k], False), values)


def test_bump_results_are_the_formulas_substituted():
    """d = 1, a model and a kernel in the table's own symbols: gen, the variances, C and the proxy
    are ``formula(...).expr`` with ``||c_K||^2 = c_K^2`` (Model A's ``c_K``) and ``d = 1``."""
    S = {k: p.symbol for k, p in FB.SYMBOLS.items()}
    m, b = FA.SYMBOLS["m"].symbol, FA.SYMBOLS["b"].symbol
    model = BumpLossModel(1, S["n"], S["s"], m, S["omega"])
    k = model.kernel(S["a"], b, S["tau"])
    c_k = FA.formula("c_K").expr
    assert model.gen(k) == FB.formula("gen").expr.subs({S["ck2"]: c_k**2, S["d"]: 1})
    assert model.train_variance(k) == FB.formula("v_tr").expr
    assert model.test_variance(k) == FB.formula("v_te").expr
    assert model.gap_floor() == FB.formula("gap_floor").expr.subs(S["d"], 1)
    assert model.hoeffding_proxy() == FB.formula("hoeffding_proxy").expr.subs(S["d"], 1)


def test_bump_symbolic_width_only_and_numeric_only_methods():
    """A symbolic width makes gen symbolic for a numeric kernel (K_n stays a float: it does not
    involve the loss); the smoothing and simulation methods refuse symbolic input."""
    omega = sp.Symbol("omega", positive=True)
    model = BumpLossModel(2, 10, 1.0, 0.0, beta=omega)
    numeric = BumpLossModel(2, 10, 1.0, 0.0, beta=1.3)
    teacher, student = model.gibbs(2.0, 0.7), model.kd_student(model.gibbs(2.0, 0.7), 0.3, 1.0, 2.0)
    assert model.gen(teacher).free_symbols == {omega}
    assert type(model.distillation_divergence(student, teacher)) is float
    assert _at(model.gen(teacher), {omega: 1.3}) == pytest.approx(numeric.gen(teacher), rel=RTOL)
    assert all(type(v) is float for v in numeric.theorem_values(student, teacher).values())
    rng = np.random.default_rng(0)
    for call in (
        lambda: model.tightness_radius(student, teacher),
        lambda: model.smoothing_bound(student, teacher, 0.5),
        lambda: model.monte_carlo_gen(teacher, 10, rng),
        lambda: model.simulate(teacher, 10, rng),
    ):
        with pytest.raises(TypeError, match="the model .*symbolic parameters"):
            call()
    symbolic_student = numeric.kd_student(teacher, sp.Symbol("alpha"), 1.0, 2.0)
    with pytest.raises(TypeError, match="numerically only, but student"):
        numeric.optimal_radius(symbolic_student, teacher)


# -- Model C (THEORY §7, spectral form) ------------------------------------------------------------
def _design(seed):
    rng = np.random.default_rng(seed)
    d, n, k = int(rng.integers(1, 4)), int(rng.integers(4, 9)), int(rng.integers(1, 3))
    return rng, rng.standard_normal((d, n)), rng.standard_normal((k, d))


def _linear_quantities(model, teacher, students) -> dict:
    """Model A's list of quantities (the same method names) and ``K_n``, ``I_SKL``."""
    out = _model_a_quantities(model, teacher, students)
    for name, st in students.items():
        out[f"{name} K_n"] = model.distillation_divergence(st, teacher)
        out[f"{name} I_SKL"] = model.symmetrized_information(st)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_linear_numbers_substituted_equal_the_numeric_path(seed):
    """nu and every hyper-parameter symbolic (Gibbs teacher gamma, lam; KD student alpha, gamma,
    lam, also with a sampled soft label; tilt kappa; a Bayes teacher's lam and temperature):
    the expressions at random numbers equal the numeric path's floats (1e-12)."""
    rng, X, W = _design(seed)
    y, values = _positive(rng, "nu", "g_t", "l_t", "g_s", "l_s", "temp")
    y["alpha"], y["kappa"] = sp.Symbol("alpha", nonnegative=True), sp.Symbol("kappa", real=True)
    values[y["alpha"]], values[y["kappa"]] = rng.uniform(0, 1), rng.uniform(-2, 2)
    num = {str(k): v for k, v in values.items()}

    def build(get, symbolic):
        model = LinearGaussianModel(X, W, get("nu"))
        teacher = model.gibbs(get("g_t"), get("l_t"), M0=0.3)
        kd = dict(alpha=get("alpha"), gamma=get("g_s"), lam=get("l_s"), M0=-0.2)
        students = {
            "kd": model.kd_student(teacher, **kd),
            "kd-sample": model.kd_student(teacher, **kd, teacher_sample=True),
            "tilt": model.tilt_student(teacher, get("kappa")),
            "bayes": model.bayes_teacher(get("l_s"), get("temp")),
        }
        assert all(st.symbolic is symbolic for st in (teacher, *students.values()))
        return _linear_quantities(model, teacher, students)

    sym = build(lambda k: y[k], True)
    assert all(isinstance(v, sp.Basic) for v in sym.values())
    _agree(sym, build(lambda k: num[k], False), values)


def test_linear_results_are_the_formulas_substituted_and_summed():
    """A Gibbs teacher with the table's own gamma_T, lam_T and a symbolic nu: its kernel maps are
    ``gibbs_h``/``gibbs_v`` at each eigenvalue, and gen, Esigma2 the per-direction formulas at
    them, summed over the numeric eigenvalues (never a second copy of a formula)."""
    S = {k: p.symbol for k, p in FC.SYMBOLS.items()}
    _, X, W = _design(1)
    model = LinearGaussianModel(X, W, S["nu"])
    teacher = model.gibbs(S["gamma_T"], S["lam_T"])
    spec, n, k = teacher.spectral, model.n, model.k
    gen, esig = sp.S.Zero, sp.S.Zero
    for i, s_i in enumerate(model.design.s):
        at = {S["s"]: sp.Float(s_i), S["n"]: sp.Integer(n)}
        h_i, v_i = FC.formula("gibbs_h").expr.xreplace(at), FC.formula("gibbs_v").expr.xreplace(at)
        assert spec.h[i] == h_i and spec.v[i] == v_i
        rest = {**at, S["nu"]: S["nu"], S["k"]: sp.Integer(k)}
        gen += FC.formula("gen_dir").expr.xreplace({**rest, S["h"]: h_i})
        esig += FC.formula("Esigma2_dir").expr.xreplace({**rest, S["v_T"]: v_i})
    assert model.gen(teacher) == gen and model.conditional_proxy(teacher) == esig


@pytest.fixture(scope="module")
def design_alpha():
    """The K_n-optimal KD weight derived by the formula module's solver from the spectral sum
    ``K_n_kd`` (zero prior means): an expression in gamma_T, lam_T, gamma_S, lam_S."""
    alpha = FC.SYMBOLS["alpha"].symbol
    _, points, how = FC.stationary_points(FC.spectral_sum("K_n_kd"), alpha)
    assert how == "symbolic" and len(points) == 1
    return points[0]


@pytest.mark.parametrize("seed", range(3))
def test_solving_the_symbolic_k_n_finds_the_design_alpha(seed, design_alpha):
    """``sympy.solve(diff(K_n(alpha)), alpha)`` on a symbolic KD student of a Gibbs teacher
    (zero prior means, random design and hyper-parameters) is the design value."""
    rng, X, W = _design(seed)
    g_t, l_t, g_s, l_s = (math.exp(rng.uniform(-1, 1)) for _ in range(4))
    model = LinearGaussianModel(X, W, math.exp(rng.uniform(-1, 1)))
    teacher = model.gibbs(g_t, l_t)
    alpha = sp.Symbol("alpha", real=True)
    k_n = model.distillation_divergence(model.kd_student(teacher, alpha, g_s, l_s), teacher)
    assert k_n.free_symbols == {alpha}
    (root,) = sp.solve(sp.diff(k_n, alpha), alpha)
    want = design_alpha.subs(
        {FC.SYMBOLS[k].symbol: v for k, v in zip(("gamma_T", "lam_T", "gamma_S", "lam_S"),
                                                 (g_t, l_t, g_s, l_s), strict=True)}
    )  # fmt: skip
    assert float(root) == pytest.approx(float(want), rel=1e-9)
    assert float(sp.diff(k_n, alpha, 2)) > 0  # a minimum


def test_linear_numbers_keep_returning_floats():
    _, X, W = _design(0)
    model = LinearGaussianModel(X, W, 1.1)
    teacher = model.gibbs(sp.Integer(2), sp.Rational(7, 10))  # sympy numbers are numbers
    student = model.kd_student(teacher, sp.Rational(3, 10), 1.0, 2.0)
    assert not student.symbolic and student.Sigma.dtype == float
    assert isinstance(model.distillation_divergence(student, teacher), Divergence)
    vals = model.theorem_values(student, teacher)
    assert all(type(v) is float for v in vals.values()) and vals["sigma_bar"] == math.inf


def test_linear_numeric_only_paths_refuse_symbolic_input():
    _, X, W = _design(2)
    model = LinearGaussianModel(X, W, 1.1)
    teacher = model.gibbs(2.0, 0.7)
    student = model.kd_student(teacher, sp.Symbol("alpha"), 1.0, 2.0)
    rng = np.random.default_rng(0)
    y = model.simulate_labels(1, rng)[0]
    for call in (
        lambda: model.kl_given_data(student, teacher, y),
        lambda: model.rank_profile(student),
        lambda: model.simulate(student, 5, rng),
        lambda: model.mean_over_data(student),
    ):
        with pytest.raises(TypeError, match="numerically only.*symbolic parameters"):
            call()
    matrix_teacher = model.kernel(H=teacher.H, Sigma=teacher.Sigma)  # outside the family
    with pytest.raises(TypeError, match="spectral family"):
        model.kd_student(matrix_teacher, sp.Symbol("alpha"), 1.0, 2.0)
    symbolic_nu = LinearGaussianModel(X, W, sp.Symbol("nu", positive=True))
    with pytest.raises(TypeError, match="spectral family"):
        symbolic_nu.gen(symbolic_nu.kernel(H=teacher.H, Sigma=teacher.Sigma))
    with pytest.raises(TypeError, match="the model .*symbolic parameters"):
        symbolic_nu.rank_profile(symbolic_nu.gibbs(2.0, 0.7))


# -- bad input: (call on (memoriser, bump, linear, linear teacher), error, message) -------------------
BAD = [
    (lambda mm, bm, lm, t: mm.kernel("p"), TypeError, "^p must be"),
    (lambda mm, bm, lm, t: mm.kernel(1.5), ValueError, r"^p must lie in \[0, 1\]"),
    (lambda mm, bm, lm, t: mm.kernel(Z_COMPLEX), TypeError, "^p: the symbol z is not real"),
    (lambda mm, bm, lm, t: mm.kernel(1 + X_POS), ValueError, "^p must lie in"),
    (lambda mm, bm, lm, t: MemoriserModel(-X_POS, 3), ValueError, "^M must be an integer"),
    (lambda mm, bm, lm, t: MemoriserModel(10, "n"), TypeError, "^n must be"),
    (lambda mm, bm, lm, t: BumpLossModel(2, 10, 1.0, beta="w"), TypeError, "^beta must be"),
    (lambda mm, bm, lm, t: BumpLossModel(2, 10, 1.0, beta=-X_POS), ValueError, "^beta must"),
    (lambda mm, bm, lm, t: BumpLossModel(2, 10, 1.0, beta=sp.I * X_POS), TypeError, "^beta"),
    (lambda mm, bm, lm, t: bm.kd_student(bm.gibbs(1, 1), 1.5, 1.0, 1.0), ValueError, "^alpha"),
    (lambda mm, bm, lm, t: lm.kd_student(t, "alpha", 1.0, 1.0), TypeError, "^alpha must be"),
    (lambda mm, bm, lm, t: lm.kd_student(t, 1.5, 1.0, 1.0), ValueError, r"^alpha .*\[0, 1\]"),
    (lambda mm, bm, lm, t: lm.kd_student(t, Z_COMPLEX, 1.0, 1.0), TypeError, "^alpha: the symbol"),
    (lambda mm, bm, lm, t: lm.kd_student(t, 1 + X_POS, 1.0, 1.0), ValueError, "^alpha must"),
    (lambda mm, bm, lm, t: lm.gibbs(-X_POS, 1.0), ValueError, "^gamma must"),
    (lambda mm, bm, lm, t: lm.gibbs(1.0, sp.Eq(X_POS, 1)), TypeError, "^lam must be"),
    (lambda mm, bm, lm, t: lm.tilt_student(t, Z_COMPLEX), TypeError, "^kappa: the symbol"),
    (lambda mm, bm, lm, t: lm.bayes_teacher(temperature=-X_POS), ValueError, "^temperature"),
    (lambda mm, bm, lm, t: LinearGaussianModel(lm.X, lm.W_star, "nu"), TypeError, "^nu must"),
    (lambda mm, bm, lm, t: LinearGaussianModel(lm.X, lm.W_star, -X_POS), ValueError, "^nu must"),
]


@pytest.mark.parametrize("call,error,match", BAD)
def test_bad_input_raises_naming_the_parameter(call, error, match):
    _, X, W = _design(0)
    lm = LinearGaussianModel(X, W, 1.1)
    with pytest.raises(error, match=match):
        call(MemoriserModel(10, 3), BumpLossModel(2, 10, 1.0), lm, lm.gibbs(2.0, 0.7))


@pytest.mark.parametrize(
    "make, name, module",
    [
        (lambda: kdtheory.MemoriserModel(M=5, n=3), "K_n", "memoriser"),
        (lambda: kdtheory.BumpLossModel(d=1, n=3, s=1.0), "gen", "bump"),
        (lambda: kdtheory.BallKernelModel(d=1, n=3, s=1.0), "K_n", "ball"),
        (lambda: kdtheory.LinearGaussianModel(np.ones((1, 3)), [[1.0]], 1.0), "gen_dir",
         "linear_gaussian"),
    ],
)  # fmt: skip
def test_every_model_gives_its_closed_forms(make, name, module):
    """``model.closed_form(name)`` is the formula module's record (Model A's has its own test)."""
    from importlib import import_module

    f = make().closed_form(name)
    assert f is import_module(f"kdtheory.formulas.{module}").formula(name)
    with pytest.raises(KeyError, match="nope"):
        make().closed_form("nope")


def test_model_c_closed_form_of_a_sum():
    from kdtheory.formulas.linear_gaussian import spectral_sum

    lin = kdtheory.LinearGaussianModel(np.ones((1, 3)), [[1.0]], 1.0)
    assert lin.closed_form("K_n").expr == spectral_sum("K_n")
