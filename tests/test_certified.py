"""Certified evaluation in arb ball arithmetic (:mod:`kdtheory.certified`, ``audit --certified``).

Facts checked: the sympy -> arb translator encloses known exact values and agrees with the
lambdified statement; Theorem U1 (THEORY §3) evaluated from Model A parameters in ball
arithmetic is never violated, its equality witnesses (tilt students, THEORY §6.4) are "equal
within the ball", and an inflated left side is certified violated; lower bounds decide the other
way; the CLI adds the column and the JSON field, and exits 2 without python-flint.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from kdtheory.certified import (
    CERTIFIED,
    EQUAL,
    UNDECIDED,
    VIOLATED,
    ball,
    certify,
    flint_available,
    to_arb,
)
from kdtheory.cli import main
from kdtheory.strategies import gaussian_mean_cases
from kdtheory.symbols import symbol
from kdtheory.theorems import Theorem, theorem

needs_flint = pytest.mark.skipif(
    not flint_available(), reason="python-flint (extra 'rigorous') is not installed"
)

U1 = theorem("U1")


def u1_claim():
    from kdtheory.audit import claims

    return next(c for c in claims() if c.id == "U1")


def case_of(c):
    return {"params": c.params, "values": c.model.theorem_values(c.student, c.teacher)}


@needs_flint
def test_translator_encloses_exact_values():
    from flint import arb

    x = sp.Symbol("x", positive=True)
    vals = {"x": arb(2)}
    assert to_arb(sp.sqrt(x) ** 2, vals).contains(2)
    assert to_arb(sp.log(sp.E * x) - sp.log(x), vals).contains(1)
    assert to_arb(sp.exp(sp.log(x)), vals).contains(2)
    assert to_arb(sp.Abs(-x) * sp.Rational(1, 3) * 3, vals).contains(2)
    assert to_arb(sp.Max(x, 3) + sp.Min(x, 3), vals).contains(5)
    assert to_arb(sp.LambertW(sp.E), vals).contains(1)
    assert to_arb(x ** sp.Rational(-1, 2) * sp.sqrt(x), vals).contains(1)
    assert to_arb(sp.Float(0.1), {}) == arb(0.1)  # a sympy Float converts exactly
    assert to_arb(sp.pi, {}).contains(arb.pi()) and to_arb(sp.oo, {}) > 10**300
    with pytest.raises(NotImplementedError, match="sin"):
        to_arb(sp.sin(x), vals)
    with pytest.raises(ValueError, match="missing value for 'y'"):
        to_arb(sp.Symbol("y"), vals)


@needs_flint
@given(gaussian_mean_cases())
def test_balls_agree_with_lambdify(case):
    """The translated statement equals ``Theorem.evaluate`` (lambdify) to 1e-14 relative."""
    vals = case.model.theorem_values(case.student, case.teacher)
    ev = U1.evaluate(**vals)
    lhs_e, rhs_e = U1._numeric(U1.lhs), U1._numeric(U1.rhs)
    balls = {k: ball(v) for k, v in vals.items()}
    for expr, ref in ((lhs_e, ev.lhs), (rhs_e, ev.rhs)):
        b = to_arb(expr, balls)
        assert abs(float(b.mid()) - float(ref)) <= 1e-14 * abs(float(ref)) + 1e-300


@needs_flint
@given(gaussian_mean_cases(student_kinds=("tilt",)))
def test_tilt_witnesses_are_equal_within_the_ball(case):
    """THEORY §6.4: a tilt student attains U1 exactly; from its parameters in ball arithmetic the
    slack ball contains 0 (never a violation)."""
    from kdtheory.audit.certify import certify_case

    res = certify_case(u1_claim(), case_of(case))
    kappa = case.params["student"]["kappa"]
    if kappa == 0:  # student = teacher: both sides exactly 0
        assert res["verdict"] in (EQUAL, CERTIFIED)
    else:
        assert res["verdict"] == EQUAL
        assert res["slack_rad"] <= 1e-100
    assert res["inputs"].startswith("recomputed in ball arithmetic")


@needs_flint
@given(gaussian_mean_cases(student_kinds=("kd", "gibbs", "generic", "rescaled")))
def test_u1_is_never_violated_in_ball_arithmetic(case):
    from kdtheory.audit.certify import certify_case

    res = certify_case(u1_claim(), case_of(case))
    assert res["verdict"] in (CERTIFIED, EQUAL)


@needs_flint
@given(st.floats(1.0 + 1e-12, 10.0), st.floats(1e-3, 1e3))
def test_inflated_left_side_is_violated(factor, k_n):
    """``|dgen| = factor * sqrt(2 Esigma2 K_n)`` with factor > 1 violates U1; taken as exact
    points, the ball arithmetic certifies the violation."""
    esigma2 = 0.5
    bound = math.sqrt(2 * esigma2 * k_n)
    res = certify(U1, {"dgen": factor * bound, "K_n": k_n, "Esigma2": esigma2})
    if factor * bound > bound:  # strictly larger after rounding
        assert res.verdict == VIOLATED
        assert res.slack_mid < 0


@needs_flint
def test_lower_bound_direction_and_wide_inputs():
    ge = Theorem(
        id="test-ge",
        name="a lower bound (test only, not registered)",
        status="extension",
        ref="test",
        statement=sp.Ge(symbol("gen_S"), symbol("gen_T") - symbol("K_n")),
    )
    assert certify(ge, {"gen_S": 1.0, "gen_T": 1.5, "K_n": 1.0}).verdict == CERTIFIED
    assert certify(ge, {"gen_S": 0.0, "gen_T": 1.5, "K_n": 1.0}).verdict == VIOLATED
    assert certify(ge, {"gen_S": 0.5, "gen_T": 1.5, "K_n": 1.0}).verdict == EQUAL
    # an input known only to +-0.1: the sign of the slack is undecided
    assert certify(ge, {"gen_S": (0.5, 0.1), "gen_T": 1.5, "K_n": 1.0}).verdict == UNDECIDED


@needs_flint
def test_certify_rejects_bad_arguments():
    with pytest.raises(ValueError, match="prec"):
        certify(U1, {"dgen": 0.0, "K_n": 1.0, "Esigma2": 1.0}, prec=8)
    with pytest.raises(ValueError, match="NaN"):
        ball(math.nan)
    with pytest.raises(TypeError):
        ball("1.0")


@needs_flint
def test_cli_certified_column_and_json(tmp_path, capsys):
    out = tmp_path / "audit.json"
    code = main(
        ["audit", "--claim", "U1", "--scale", "0.02", "--quiet", "--certified", "--json", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "certified" in text.splitlines()[0]
    data = json.loads(out.read_text())
    cert = data["claims"][0]["extra"]["certified"]["tightest"]
    assert cert["verdict"] in (CERTIFIED, EQUAL)
    # the tightest U1 case of 2000 draws is a tilt student: an equality witness
    assert cert["verdict"] == EQUAL and np.isfinite(cert["slack_rad"])


def test_cli_certified_without_flint_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "flint", None)  # import flint -> ImportError
    with pytest.raises(SystemExit) as exc:
        main(["audit", "--claim", "U1", "--quiet", "--certified"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "python-flint" in err and "Traceback" not in err


@needs_flint
@given(st.floats(-6, 6), st.floats(-2, 2), st.floats(0.05, 5))
def test_recorded_equality_cases_without_a_ball_model_are_never_violated(t, mu, sd):
    """A Gaussian X attains Lemma SG (THEORY §2) exactly; recorded as doubles (no ball model for
    this claim) the inputs get the audit's tolerance, so the case is never reported violated."""
    from kdtheory.audit import claims
    from kdtheory.audit.certify import POINT_RTOL, certify_case

    claim = next(c for c in claims() if c.id == "lemma-SG")
    case = {
        "params": {"kind": "gaussian"},
        "values": {"cgf": t * mu + t * t * sd * sd / 2, "mean": mu, "sigma": sd, "t": t},
    }
    res = certify_case(claim, case)
    assert res["verdict"] in (UNDECIDED, EQUAL, CERTIFIED)
    assert f"+/- {POINT_RTOL:g} relative" in res["inputs"]
