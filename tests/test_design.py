"""The design helper (issue 11 item 4): the student's KD weight, temperature or regulariser
minimising K_n or the U1 bound, and ``kdtheory design``.

Facts checked: the helper's minimiser (sympy.solve, exact at the numbers) agrees with scipy
brute force on K_n computed by the array code -- an independent route through the kernel maps
and the vector c_Delta -- for alpha, gamma_S, T_S and lam_S on random configurations; U1's
minimiser is K_n's and its minimum is the U1 bound there; the general roots in the symbols,
evaluated at numbers, give the same minimiser; the numeric method agrees; the CLI prints what
the helper returns; bad input is refused naming the problem.
"""

from __future__ import annotations

import io
import math
import re
from contextlib import redirect_stdout

import numpy as np
import pytest
import sympy as sp
from formula_checks import hits_outside_formulas
from scipy.optimize import minimize_scalar

from kdtheory import theorem
from kdtheory.cli import main
from kdtheory.formulas import gaussian_mean as F
from kdtheory.models import gaussian_mean as A

SYM = {k: p.symbol for k, p in F.SYMBOLS.items()}
#: brute force: the argmin to this relative accuracy (Brent on a bracket from a 400-point grid)
ARG_RTOL = 1e-5


def _config(seed: int) -> dict:
    """A random Gibbs teacher, KD student hyper-parameters and model (moderate magnitudes)."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 5))
    m = rng.normal(size=d)
    return {
        "d": d, "n": int(rng.integers(1, 30)), "s": float(rng.uniform(0.3, 3.0)), "m": m,
        "gamma_T": float(rng.uniform(0.2, 5)), "lam_T": float(rng.uniform(0.1, 5)),
        "m0_T": float(rng.normal()), "alpha": float(rng.uniform(0, 1)),
        "gamma_S": float(rng.uniform(0.2, 5)), "lam_S": float(rng.uniform(0.1, 5)),
        "m0_S": float(rng.normal()),
    }  # fmt: skip


def _k_n(c: dict, wrt: str, x: float) -> float:
    """K_n of the KD student with ``wrt = x`` by the batch code (not the formula K_n_kd)."""
    p = {**c, wrt: x}
    if wrt == "T_S":
        p["gamma_S"] = float(A._bayes_gamma(x, c["n"], c["s"]))
    d = c["d"]
    teacher = A.gibbs(c["gamma_T"], c["lam_T"], np.full(d, c["m0_T"]))
    st = A.kd_student(*teacher, p["alpha"], p["gamma_S"], p["lam_S"], np.full(d, c["m0_S"]))
    return float(A.distillation_divergence(c["m"], c["n"], c["s"], *st, *teacher))


def _brute_force(c: dict, wrt: str) -> tuple[float, float]:
    """``(argmin, min)`` of K_n in ``wrt``: a 400-point grid (uniform on [0, 1] for alpha,
    log-spaced on [1e-3, 1e3] otherwise, plus lam_S = 0), then scipy's bounded Brent between
    the best point's neighbours."""
    logs = wrt != "alpha"
    grid = np.geomspace(1e-3, 1e3, 400) if logs else np.linspace(0, 1, 400)
    vals = [_k_n(c, wrt, float(x)) for x in grid]
    k = int(np.argmin(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    if logs:
        res = minimize_scalar(
            lambda u: _k_n(c, wrt, math.exp(u)),
            bounds=(math.log(lo), math.log(hi)),
            method="bounded",
            options={"xatol": 1e-12},
        )
        cands = [(res.fun, math.exp(res.x))]
    else:
        res = minimize_scalar(
            lambda x: _k_n(c, wrt, x), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
        )
        cands = [(res.fun, res.x)]
    cands += [(vals[k], float(grid[k]))]
    if wrt == "lam_S":
        cands.append((_k_n(c, wrt, 0.0), 0.0))
    low, best = min(cands)
    return best, low


def _values(c: dict, wrt: str) -> dict:
    out = {k: v for k, v in c.items() if k not in ("m", wrt)}
    if wrt == "T_S":
        del out["gamma_S"]
    return {**out, "m_sq": float(c["m"] @ c["m"]), "m_sum": float(c["m"].sum())}


@pytest.mark.parametrize("wrt", ["alpha", "gamma_S", "T_S", "lam_S"])
@pytest.mark.parametrize("seed", range(3))
def test_symbolic_minimiser_agrees_with_brute_force(wrt, seed):
    c = _config(seed)
    best, low = _brute_force(c, wrt)
    res = F.design("K_n", wrt, **_values(c, wrt))
    assert res.kind == "symbolic" and "sympy.solve" in res.why
    if best in (0.0, 1.0):  # an end of the domain (alpha, lam_S): exactly there
        assert res.value == best
    else:
        assert res.value == pytest.approx(best, rel=ARG_RTOL)
    assert res.minimum == pytest.approx(_k_n(c, wrt, res.value), rel=1e-12)
    assert res.minimum <= low * (1 + 1e-12)


@pytest.mark.parametrize("wrt", ["alpha", "T_S", "lam_S"])
def test_u1_target_has_k_ns_minimiser_and_the_bound_as_minimum(wrt):
    """U1 = sqrt(2 Esigma2 K_n) with Esigma2 the teacher's: same minimiser as K_n; the minimum
    is Theorem U1's bound (its sympy statement) at the minimising student."""
    c = _config(7)
    k_n = F.design("K_n", wrt, **_values(c, wrt))
    u1 = F.design("U1", wrt, **_values(c, wrt))
    assert u1.kind == "symbolic" and "U1" in u1.why
    assert u1.value == pytest.approx(k_n.value, rel=1e-10, abs=1e-14)
    teacher = A.gibbs(c["gamma_T"], c["lam_T"], np.full(c["d"], c["m0_T"]))
    esigma2 = float(A.conditional_proxy(teacher[2], c["n"], c["s"], c["d"]))
    bound = theorem("U1").rhs_value(K_n=k_n.minimum, Esigma2=esigma2, dgen=0.0)
    assert u1.minimum == pytest.approx(float(bound), rel=1e-12)


def test_numeric_method_agrees_with_the_symbolic_one():
    c = _config(11)
    for wrt in ("alpha", "gamma_S", "lam_S"):
        sym = F.design("K_n", wrt, **_values(c, wrt))
        num = F.design("K_n", wrt, method="numeric", **_values(c, wrt))
        assert num.kind == "numeric" and num.stationary is None and "requested" in num.why
        assert num.minimum == pytest.approx(sym.minimum, rel=1e-9)
        assert num.value == pytest.approx(sym.value, rel=1e-4, abs=1e-8)


def test_kd_weight_in_the_symbols_comes_from_the_solver_for_both_targets():
    """alpha* = gamma_T lam_S / (gamma_S lam_T) for zero prior means (issue 11), for K_n and for
    U1 (through its square): sympy.solve's root, not a typed formula."""
    want = SYM["gamma_T"] * SYM["lam_S"] / (SYM["gamma_S"] * SYM["lam_T"])
    for target in ("K_n", "U1"):
        res = F.design(target, "alpha", zero_prior_means=True)
        assert res.kind == "symbolic" and res.value is None and "d" in res.missing
        assert sp.simplify(res.expr - want) == 0


def test_general_roots_at_numbers_give_the_minimiser():
    """gamma_S's stationary points in the symbols (zero prior means; the pole -lam_S/2 dropped
    as outside the domain), evaluated at a configuration: one of them is the minimiser."""
    res = F.design("K_n", "gamma_S", zero_prior_means=True)
    assert res.kind == "symbolic" and len(res.stationary) == 2
    c = {**_config(3), "m0_T": 0.0, "m0_S": 0.0}
    at = F.design("K_n", "gamma_S", **_values(c, "gamma_S"))
    subs = {SYM[k]: v for k, v in _values(c, "gamma_S").items()}
    roots = [complex(sp.N(r.subs(subs), 30)) for r in res.stationary]
    assert min(abs(r - at.value) for r in roots) <= 1e-10 * at.value


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"target": "gen"}, KeyError, "unknown design target 'gen'"),
        ({"wrt": "kappa"}, KeyError, "not a student parameter"),
        ({"wrt": "alpha", "alpha": 0.3}, ValueError, "alpha is the parameter to choose"),
        ({"wrt": "lam_S", "alpha": 1.5}, ValueError, r"alpha must lie in \[0, 1\]"),
        ({"wrt": "alpha", "gamma_S": 1.0, "T_S": 1.0}, ValueError, "gamma_S or T_S, not both"),
        ({"wrt": "alpha", "method": "numeric"}, ValueError, "needs numbers for"),
        ({"wrt": "alpha", "nonsense": 1.0}, KeyError, "unknown symbols"),
        ({"wrt": "alpha", "method": "guess"}, ValueError, "method must be"),
        ({"zero_prior_means": True, "m0_T": 1.0}, ValueError, "give no value for them"),
    ],
)
def test_bad_design_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        F.design(**kwargs)


# -- kdtheory design -------------------------------------------------------------------------
def _run(*argv) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["design", *argv])
    return rc, buf.getvalue()


def test_cli_prints_the_solvers_kd_weight():
    rc, text = _run("K_n", "--wrt", "alpha", "--zero-prior-means")
    assert rc == 0
    line = next(x for x in text.splitlines() if x.startswith("stationary points in alpha"))
    assert "(sympy.solve, symbolic)" in line
    shown = sp.sympify(line.split(": ", 1)[1], locals=SYM)
    assert sp.simplify(shown - SYM["gamma_T"] * SYM["lam_S"] / (SYM["gamma_S"] * SYM["lam_T"])) == 0
    assert "minimiser: needs numbers (--set NAME=VALUE) for d, gamma_S" in text
    rc, tex = _run("K_n", "--wrt", "alpha", "--zero-prior-means", "--latex")
    assert rc == 0 and r"\frac{\gamma_T \lambda_S}{\gamma_S \lambda_T}" in tex


@pytest.mark.parametrize("numeric", [False, True])
def test_cli_minimiser_is_the_helpers(numeric):
    c = _config(5)
    vals = _values(c, "T_S")
    argv = ["U1", "--wrt", "T_S", "--set", *(f"{k}={v!r}" for k, v in vals.items())]
    rc, text = _run(*argv, *(["--numeric"] if numeric else []))
    assert rc == 0
    res = F.design("U1", "T_S", method="numeric" if numeric else "auto", **vals)
    lines = text.splitlines()
    assert f"minimiser: T_S = {res.value!r}" in lines
    assert f"minimum: U1 = {res.minimum!r}" in lines
    assert lines[-1].startswith(f"how: {'numeric' if numeric else 'symbolic'}: ")
    if numeric:
        assert "stationary points in T_S: not sought (--numeric)" in lines


@pytest.mark.parametrize(
    "argv,match",
    [
        (["K_n", "--set", "n7"], "n7: expected NAME=VALUE"),
        (["gen"], "unknown design target 'gen'"),
        (["K_n", "--wrt", "beta"], "not a student parameter"),
        (["K_n", "--wrt", "lam_S", "--set", "alpha=2"], "alpha must lie in [0, 1]"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["design", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and match in errors[0] and err[-1] == errors[0]


def test_cli_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["design", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("--set NAME=VALUE", "--wrt PARAM", "T_S", "sympy.solve", "numeric", "U1"):
        assert word in text


def test_tempered_bayes_gamma_is_written_only_in_the_formulas_module():
    """Inventory: gamma = n/(2 s^2 T) (THEORY §6), which the design helper substitutes for
    T_S, is the formula ``bayes_gamma``; no module outside kdtheory/formulas/ types it."""
    pattern = r"\bn\s*/\s*\(\s*2\s*\*\s*s\s*(\*\s*s|\*\*\s*2)"
    old_line = "return n / (2 * s * s * temperature)"  # models/gaussian_mean_arrays.py before
    assert re.search(pattern, old_line)
    assert hits_outside_formulas(pattern) == []
