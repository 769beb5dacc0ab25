"""Model A, symbolic in and symbolic out (issue 11 item 3; THEORY §6).

Facts checked: sympy parameters give kernels and quantities that are sympy expressions; those
expressions are the formulas of kdtheory.formulas.gaussian_mean with the arguments substituted
(compared structurally, not numerically); substituting numbers into a fully symbolic result
gives the numeric path's float to 1e-12 relative at random points; numbers still give floats;
bad symbolic input raises naming the parameter.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import sympy as sp

import kdtheory.models.gaussian_mean
from kdtheory import GaussianMeanModel
from kdtheory.formulas import gaussian_mean as F
from kdtheory.formulas.compile import definition
from kdtheory.models.gaussian_mean import GaussianKernel
from kdtheory.symbols import UNIT_CLOSED, check_real, check_symbolic

RTOL = 1e-12  # the symbolic result evaluated at 40 digits vs the compiled double path
#: where the exact value is 0 (the tilt student's offset part: c_Delta = 0 exactly) the double
#: path leaves the rounding of c_Delta = (a_S - a_T) m + b_S - b_T squared, ~1e-31 here
ATOL_ZERO = 1e-25
SYM = {k: p.symbol for k, p in F.SYMBOLS.items()}


@pytest.fixture(scope="module")
def golden():
    """THEORY §9's model and teacher (d=3, n=7, s=1.3, m=(.5,-1,2); Gibbs(2, .7, .2))."""
    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    return model, model.gibbs(gamma=2.0, lam=0.7, m0=0.2)


def test_kd_weight_as_a_symbol_gives_expressions_in_it(golden):
    """The issue's example: alpha a plain Symbol; every quantity an expression in alpha only,
    equal to the numeric path at alpha = 0.3 (THEORY §9's student: K_n = 2.3605964336210143)."""
    model, teacher = golden
    alpha = sp.Symbol("alpha")
    student = model.kd_student(teacher, alpha=alpha, gamma=1.0, lam=2.0)
    assert student.symbolic and not teacher.symbolic
    assert all(isinstance(x, sp.Expr) for x in (student.a, student.tau, *student.b))
    numeric = model.kd_student(teacher, alpha=0.3, gamma=1.0, lam=2.0)
    quantities = {
        "K_n": (model.distillation_divergence, (student, teacher), (numeric, teacher)),
        "gen": (model.gen, (student,), (numeric,)),
        "dgen": (model.dgen, (student, teacher), (numeric, teacher)),
        "q": (model.information_ratio, (student,), (numeric,)),
        "I": (model.mutual_information, (student,), (numeric,)),
        "lautum": (model.lautum_information, (student,), (numeric,)),
        "I_SKL": (model.symmetrized_information, (student,), (numeric,)),
    }
    for name, (method, sym_args, num_args) in quantities.items():
        expr = method(*sym_args)
        assert isinstance(expr, sp.Expr) and expr.free_symbols == {alpha}, name
        want = method(*num_args)
        assert type(want) is float
        assert float(sp.N(expr.subs(alpha, 0.3), 40)) == pytest.approx(want, rel=RTOL), name
    parts = model.divergence_parts(student, teacher)
    assert parts["estimation"].free_symbols == {alpha}
    assert model.distillation_divergence(numeric, teacher) == pytest.approx(
        2.3605964336210143, rel=RTOL
    )  # THEORY §9
    vals = model.theorem_values(student, teacher)
    assert vals["sigma_bar"] is sp.oo and vals["K_n"].free_symbols == {alpha}
    assert model.conditional_proxy(teacher) == vals["Esigma2"]  # a teacher-only quantity


def test_symbolic_results_are_the_formulas_substituted():
    """The expressions come from the formula table: a model in the table's own symbols and a
    kernel in its own symbols give back ``formula(...).expr`` exactly (d fixed to 3)."""
    n, s = SYM["n"], SYM["s"]
    model = GaussianMeanModel(d=3, n=n, s=s, m=SYM["m"])
    k = model.kernel(SYM["a"], SYM["b"], SYM["tau"])
    d3 = {SYM["d"]: 3}
    assert model.gen(k) == F.formula("gen").expr.subs(d3)
    assert model.conditional_proxy(k) == F.formula("Esigma2").expr.subs(
        {**d3, SYM["tau_T"]: SYM["tau"]}
    )
    assert model.mutual_information(k) == F.formula("mutual_information").expr.subs(d3)
    assert list(model.offset(k)) == [F.formula("c_K").expr] * 3
    teacher = model.kernel(SYM["a_T"], SYM["b_T"], SYM["tau_T"])
    student = model.kernel(SYM["a_S"], SYM["b_S"], SYM["tau_S"])
    c_delta = F.formula("c_Delta").expr
    want = F.formula("K_n").expr.subs({**d3, SYM["c_Delta2"]: 3 * c_delta**2})
    assert sp.expand(model.distillation_divergence(student, teacher) - want) == 0
    gibbs = model.gibbs(SYM["gamma_T"], SYM["lam_T"], SYM["m0_T"])
    assert gibbs.a == F.formula("gibbs_a").expr and gibbs.tau == F.formula("gibbs_tau").expr
    bayes = model.tempered_bayes(SYM["temperature"])
    assert sp.simplify(bayes.a - F.formula("gibbs_a").expr.subs(
        {SYM["gamma_T"]: F.formula("bayes_gamma").expr, SYM["lam_T"]: 0}
    )) == 0  # fmt: skip


def _symbols_and_values(rng, d):
    """A fully symbolic configuration (model, Gibbs teacher, KD and tilt students) and random
    numbers for its symbols (log-uniform scales, uniform locations, alpha in [0, 1])."""
    pos = {k: sp.Symbol(k, positive=True) for k in ("s", "g_t", "l_t", "g_s", "l_s", "temp")}
    real = {
        k: sp.Symbol(k, real=True) for k in ("m0_t", "m0_s", "kappa", *(f"m{j}" for j in range(d)))
    }
    syms = {**pos, **real, "n": sp.Symbol("n", positive=True, integer=True)}
    syms["alpha"] = sp.Symbol("alpha", nonnegative=True)
    vals = {syms[k]: math.exp(rng.uniform(-1.5, 1.5)) for k in pos}
    vals.update({syms[k]: rng.uniform(-2, 2) for k in real})
    vals[syms["n"]] = int(rng.integers(1, 40))
    vals[syms["alpha"]] = rng.uniform(0, 1)
    return syms, vals


def _quantities(model, teacher, students) -> dict:
    out = {"gen_T": model.gen(teacher), "Esigma2": model.conditional_proxy(teacher)}
    for name, st in students.items():
        out[f"{name} gen"] = model.gen(st)
        out[f"{name} dgen"] = model.dgen(st, teacher)
        out[f"{name} I"] = model.mutual_information(st)
        out[f"{name} lautum"] = model.lautum_information(st)
        for k, v in model.divergence_parts(st, teacher).items():
            out[f"{name} {k}"] = v
        for k, v in model.theorem_values(st, teacher).items():
            out[f"{name} tv {k}"] = v
    return out


@pytest.mark.parametrize("seed", range(4))
def test_numbers_substituted_into_the_symbolic_path_equal_the_numeric_path(seed):
    """Every parameter symbolic (n, s, m; teacher gamma, lam, m0; KD student alpha, gamma, lam,
    m0, also with a sampled soft label; tilt kappa; a tempered Bayes teacher): the expressions
    at random numbers, evaluated at 40 digits, equal the floats of the numeric path (1e-12)."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 4))
    y, vals = _symbols_and_values(rng, d)
    num = {str(k): float(v) for k, v in vals.items()}

    def build(get, kind):
        model = GaussianMeanModel(d, get("n"), get("s"), [get(f"m{j}") for j in range(d)])
        teacher = model.gibbs(get("g_t"), get("l_t"), get("m0_t"))
        kd = dict(alpha=get("alpha"), gamma=get("g_s"), lam=get("l_s"), m0=get("m0_s"))
        students = {
            "kd": model.kd_student(teacher, **kd),
            "kd-sample": model.kd_student(teacher, **kd, teacher_sample=True),
            "tilt": model.tilt_student(teacher, get("kappa")),
            "bayes": model.tempered_bayes(get("temp")),
        }
        assert all(st.symbolic is kind for st in students.values())
        return _quantities(model, teacher, students)

    sym = build(lambda k: y[k], True)
    flt = build(lambda k: int(num[k]) if k == "n" else num[k], False)
    assert set(sym) == set(flt)
    for k, expr in sym.items():
        want = flt[k]
        assert isinstance(want, float), k
        if want == math.inf:
            assert expr is sp.oo
            continue
        got = float(sp.N(definition(sp.sympify(expr)).subs(vals), 40))
        assert got == pytest.approx(want, rel=RTOL, abs=ATOL_ZERO), k


def test_numbers_keep_returning_floats(golden):
    """A sympy *number* is a number: floats out, as before (no symbolic path)."""
    model, teacher = golden
    st = model.kd_student(teacher, alpha=sp.Rational(3, 10), gamma=sp.Integer(1), lam=2.0)
    assert not st.symbolic and type(st.a) is float
    assert type(model.distillation_divergence(st, teacher)) is float
    assert all(type(v) is float for v in model.theorem_values(st, teacher).values())


def test_numeric_only_methods_refuse_symbolic_kernels_and_models(golden):
    model, teacher = golden
    student = model.kd_student(teacher, alpha=sp.Symbol("alpha"), gamma=1.0, lam=2.0)
    for call in (
        lambda: model.kl_given_data(student, teacher, 0.0),
        lambda: model.joint_cgf(student, 0.1),
        lambda: model.smoothing_bound(student, teacher, 0.5),
        lambda: model.u_gamma(student, teacher),
        lambda: model.simulate(student, 10, np.random.default_rng(0)),
    ):
        with pytest.raises(TypeError, match="numerically only.*symbolic parameters"):
            call()
    symbolic_model = GaussianMeanModel(3, sp.Symbol("n", positive=True), 1.3)
    t = symbolic_model.gibbs(2.0, 0.7)
    with pytest.raises(TypeError, match="the model .* has symbolic parameters"):
        symbolic_model.gap_variance(t)


X_POS = sp.Symbol("x", positive=True)

#: (call, error, message): bad symbolic input raises naming the parameter
BAD = [
    (lambda m, t: m.kd_student(t, alpha="alpha", gamma=1.0, lam=0.5), TypeError, "alpha"),
    (lambda m, t: m.kd_student(t, alpha=math.nan, gamma=1.0, lam=0.5), ValueError, "alpha"),
    (lambda m, t: m.kd_student(t, alpha=1.5, gamma=1.0, lam=0.5), ValueError, r"alpha .*\[0, 1\]"),
    (lambda m, t: m.kd_student(t, alpha=1 + X_POS, gamma=1.0, lam=0.5), ValueError, "alpha"),
    (
        lambda m, t: m.kd_student(t, alpha=sp.Symbol("z", complex=True), gamma=1.0, lam=0.5),
        TypeError,
        "symbol z is not real",
    ),
    (lambda m, t: m.kd_student(t, alpha=sp.I * X_POS, gamma=1.0, lam=0.5), TypeError, "alpha"),
    (lambda m, t: m.kd_student(t, alpha=X_POS + sp.nan, gamma=1.0, lam=0.5), TypeError, "alpha"),
    (lambda m, t: m.gibbs(gamma=-X_POS, lam=0.5), ValueError, "gamma"),
    (lambda m, t: m.gibbs(gamma=1.0, lam=sp.Eq(X_POS, 1)), TypeError, "lam"),
    (lambda m, t: m.kernel(a=1.0, b=[X_POS, 1.0], tau=1.0), ValueError, r"shape \(3,\)"),
    (lambda m, t: m.kernel(a=1.0, tau=-X_POS), ValueError, "tau"),
    (lambda m, t: GaussianMeanModel(X_POS, 5, 1.0), TypeError, "d must be"),
    (
        lambda m, t: GaussianMeanModel(3, sp.Symbol("k", real=True, integer=False), 1.0),
        ValueError,
        "n must be an integer",
    ),
    (lambda m, t: GaussianMeanModel(3, 5, -X_POS), ValueError, "s"),
    (lambda m, t: GaussianMeanModel(3, 5, 1.0, [X_POS, sp.zoo, 0]), TypeError, "m"),
]


@pytest.mark.parametrize("call,error,match", BAD)
def test_bad_symbolic_input_raises_naming_the_parameter(golden, call, error, match):
    model, teacher = golden
    with pytest.raises(error, match=match):
        call(model, teacher)


def test_check_symbolic_accepts_real_and_plain_symbols_only():
    plain, real = sp.Symbol("p"), sp.Symbol("r", real=True)
    assert check_real("alpha", plain, UNIT_CLOSED) is plain
    assert check_real("alpha", real / 2, UNIT_CLOSED) == real / 2
    assert check_real("alpha", 0.5, UNIT_CLOSED) == 0.5  # numbers: floats, as before
    for bad in (sp.Symbol("i", imaginary=True), sp.Symbol("f", real=False)):
        with pytest.raises(TypeError, match="not real"):
            check_symbolic("alpha", bad, UNIT_CLOSED)


def test_a_symbolic_kernel_checks_its_parameters():
    with pytest.raises(ValueError, match="tau"):
        GaussianKernel(a=X_POS, b=np.array([1.0]), tau=-X_POS)
    k = GaussianKernel(a=X_POS, b=np.array([1.0, 2.0]), tau=1.0)
    assert k.symbolic and k.b.dtype == object and k.tau == sp.Float(1.0) and k.d == 2


def test_compiled_formula_substitutes_sympy_arguments():
    """The compile step's symbolic path (kdtheory.formulas.compile.Compiled.symbolic)."""
    c = F.compiled("gen")
    a = sp.Symbol("a")
    assert c(a, 7, 1.3, 3) == F.formula("gen").expr.subs(
        {SYM["a"]: a, SYM["n"]: 7, SYM["s"]: sp.Float(1.3), SYM["d"]: 3}
    )
    half = sp.Rational(1, 2)
    out = F.compiled("c_K")(np.array([a, 2 * a], dtype=object), half, 1)  # (a - 1) m + b
    assert out.dtype == object and list(out) == [a - half, 2 * a - half]
    assert type(c(0.5, 7, 1.3, 3)) is not sp.Float  # numbers stay on the numpy path


def test_module_doctest():
    res = doctest.testmod(kdtheory.models.gaussian_mean)
    assert res.attempted > 0 and res.failed == 0
