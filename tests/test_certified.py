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


def claim_of(cid):
    from kdtheory.audit import claims

    return next(c for c in claims() if c.id == cid)


def u1_claim():
    return claim_of("U1")


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
    assert "ball arithmetic" in text.splitlines()[0]
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
    """A Gaussian X attains Lemma SG (THEORY §2) exactly; recorded as doubles (the record carries
    no parameters to recompute from) the inputs get the audit's tolerance, so the case is never
    reported violated."""
    from kdtheory.audit.certify import (
        EQUAL_WITHIN_ALLOWANCE,
        HOLDS_BEYOND_ALLOWANCE,
        POINT_RTOL,
        certify_case,
    )

    claim = claim_of("lemma-SG")
    case = {
        "params": {"kind": "gaussian"},
        "values": {"cgf": t * mu + t * t * sd * sd / 2, "mean": mu, "sigma": sd, "t": t},
    }
    res = certify_case(claim, case)
    assert res["verdict"] in (UNDECIDED, EQUAL_WITHIN_ALLOWANCE, HOLDS_BEYOND_ALLOWANCE)
    assert f"+/- {POINT_RTOL:g} relative" in res["inputs"]
    assert res["recomputed"] is False and res["allowance"] == POINT_RTOL


# -- what a verdict rests on is in its label ---------------------------------------------------

#: the verdicts of a case whose inputs were all recomputed in ball arithmetic
BALL_VERDICTS = (CERTIFIED, VIOLATED, EQUAL, UNDECIDED)


def _allowance_verdicts():
    from kdtheory.audit.certify import (
        EQUAL_WITHIN_ALLOWANCE,
        FAILS_BEYOND_ALLOWANCE,
        HOLDS_BEYOND_ALLOWANCE,
    )

    return (HOLDS_BEYOND_ALLOWANCE, FAILS_BEYOND_ALLOWANCE, EQUAL_WITHIN_ALLOWANCE, UNDECIDED)


@needs_flint
def test_recorded_inputs_label_the_verdict():
    """Lemma SG (THEORY §2) at a Gaussian with mean 0.3, sd 1, t = 1: cgf = 0.8 against the
    bound t mu + t^2 sigma^2 / 2 = 0.8 (equality), so cgf = 0.5 holds with slack 0.3 and
    cgf = 1.1 fails by 0.3, far beyond the 1e-9 allowance.  From recorded doubles the verdicts
    are "holds/fails beyond the input allowance", never "certified"/"violated"."""
    from kdtheory.audit.certify import (
        FAILS_BEYOND_ALLOWANCE,
        HOLDS_BEYOND_ALLOWANCE,
        POINT_RTOL,
        certify_case,
    )

    claim = claim_of("lemma-SG")
    for cgf, expected in ((0.5, HOLDS_BEYOND_ALLOWANCE), (1.1, FAILS_BEYOND_ALLOWANCE)):
        case = {"params": {}, "values": {"cgf": cgf, "mean": 0.3, "sigma": 1.0, "t": 1.0}}
        res = certify_case(claim, case)
        assert res["verdict"] == expected
        assert res["recomputed"] is False and res["allowance"] == POINT_RTOL
    # the same statement at exact points (no allowance) is decided in ball arithmetic
    lemma_sg = theorem("lemma-SG")
    assert certify(lemma_sg, {"cgf": 0.5, "mean": 0.3, "sigma": 1.0, "t": 1.0}).verdict == CERTIFIED


@needs_flint
@given(gaussian_mean_cases(student_kinds=("kd", "generic")))
def test_recomputed_inputs_keep_the_ball_verdict(case):
    """U1 on Model A recomputes every input from the case parameters: the plain ball verdict."""
    from kdtheory.audit.certify import certify_case

    res = certify_case(u1_claim(), case_of(case))
    assert res["recomputed"] is True and res["allowance"] is None
    assert res["verdict"] in (CERTIFIED, EQUAL)


@pytest.fixture(scope="module")
def certified_small_audit():
    """Every claim at 1 % of the default size, with the ball re-evaluation."""
    from kdtheory.audit import run_audit
    from kdtheory.audit.certify import certify_report

    report = run_audit(seed=0, scale=0.01)
    certify_report(report)
    return report


@needs_flint
def test_no_claim_with_recorded_inputs_is_labelled_certified(certified_small_audit):
    """The wording rule, over every registered claim: a case with any recorded (not recomputed)
    input carries an allowance verdict in the JSON and in the table, never plain "certified"."""
    from kdtheory.audit.certify import TABLE_LEGEND, table_with_certified

    report = certified_small_audit
    table = table_with_certified(report)
    lines = table.splitlines()
    at = lines[0].index("ball arithmetic")  # the column's offset
    cells = {line.split()[0]: line[at:] for line in lines[2:] if line.strip()}
    kinds = set()
    for r in report.results:
        cert = r.to_json()["extra"].get("certified", {})
        for case in cert.values():
            kinds.add(case["recomputed"])
            if case["recomputed"]:
                assert case["verdict"] in BALL_VERDICTS, r.id
            else:
                assert case["verdict"] in _allowance_verdicts(), r.id
                assert case["allowance"] is not None and case["allowance"] >= 1e-10
                assert CERTIFIED not in cells[r.id] and VIOLATED not in cells[r.id], r.id
    # every tightest case at this scale may be recomputed (U0's and U1@linear's are tilt
    # witnesses at 1e5 draws): a U1@linear case with a KD student keeps recorded inputs (its hook
    # recomputes tilts only), so the allowance branch is exercised in any case
    from kdtheory.audit.certify import certify_case
    from kdtheory.audit.linear_cases import linear_array_batch

    batch = linear_array_batch(np.random.default_rng(0), 50)
    i = next(j for j in range(50) if batch.params[j]["student"]["kind"] == "kd")
    values = {k: float(v[i]) for k, v in batch.values.items()}
    extra = certify_case(claim_of("U1@linear"), {"params": batch.params[i], "values": values})
    assert extra["verdict"] in _allowance_verdicts() and extra["allowance"] >= 1e-10
    kinds.add(extra["recomputed"])
    assert kinds == {True, False}  # both kinds occur, so neither branch above is vacuous
    assert table.endswith(TABLE_LEGEND)
    assert "certified" not in lines[0]  # the column is named by its method


def test_readme_states_the_labels():
    """README's "Fast and certified" section uses the same labels as the code."""
    from pathlib import Path

    from kdtheory.audit.certify import FAILS_BEYOND_ALLOWANCE, HOLDS_BEYOND_ALLOWANCE

    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    section = text.split("## Fast and certified", 1)[1].split("\n## ", 1)[0]
    for label in (HOLDS_BEYOND_ALLOWANCE, FAILS_BEYOND_ALLOWANCE, CERTIFIED, EQUAL):
        assert f"`{label}`" in section, label
    assert "recorded doubles" in section and "not a rigorous bound" in section


#: claims whose tightest case is recomputed in ball arithmetic from its parameters (issue 11
#: item 5: every input, so the verdict is a ball verdict, not an allowance one)
RECOMPUTED_FROM_SOURCE = (
    "lemma-DV",
    "lemma-SG",
    "U1",
    "L",
    "U-joint",
    "U-joint-lower",
    "U-gamma",
    "L-gamma",
    "U-uniform@memoriser",
    "S-smooth",
)


@needs_flint
@pytest.mark.parametrize("cid", RECOMPUTED_FROM_SOURCE)
def test_tightest_cases_recomputed_from_their_parameters(certified_small_audit, cid):
    """Every input of the tightest case comes from the case's parameters in arb (the values of
    the model's array code or formulas on balls; ``eta``, ``c``, ``theta``, ``rho`` as exact
    points): a ball verdict, and the recomputed sides agree with the recorded doubles."""
    r = next(r for r in certified_small_audit.results if r.id == cid)
    case = r.extra["certified"]["tightest"]
    assert case["recomputed"] is True and case["verdict"] in (CERTIFIED, EQUAL), case
    assert "recomputed in ball arithmetic" in case["inputs"]


@needs_flint
def test_a_hook_value_computed_in_floats_is_not_a_recomputation():
    """A hook entry that is a float (the array code fell back to floats) keeps the recorded
    double with its allowance: only arb balls count as recomputed."""
    import flint
    import numpy as np

    from kdtheory.audit.certify import _balls

    out = _balls({"a": flint.arb(1), "b": 0.5, "c": np.array(flint.arb(2), dtype=object),
                  "d": np.float64(3.0)})  # fmt: skip
    assert set(out) == {"a", "c"} and all(isinstance(v, flint.arb) for v in out.values())
