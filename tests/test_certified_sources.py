"""``audit --certified`` from the source for U0, S, the bump claims and N1-N7 (issue 11 item 5;
:mod:`kdtheory.audit.certify`, :mod:`kdtheory.audit.witness_balls`).

Facts checked: each new hook recomputes values that agree with the double-precision code (to
its accuracy: the hooks evaluate the exact values at the recorded parameters, the doubles carry
rounding, so agreement is to a relative tolerance, not containment); the non-central
chi-square series encloses the d = 1 closed form (two rigorous balls must overlap) and agrees
with scipy; U0's ``E_D`` enclosure contains the exact tilt value ``2 v |kappa| d`` and agrees
with the polar quadrature; at seed 0 (scale 0.1) each covered claim's case is decided in ball
arithmetic with every input recomputed; and wrong inputs are caught: a point that is not a
counterexample is not "violated", a perturbed ``E_D`` makes the tilt witness "violated", and a
probability series without its tail bound does not enclose the probability.
"""

from __future__ import annotations

import math
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest

from kdtheory.certified import CERTIFIED, EQUAL, VIOLATED, flint_available

pytestmark = pytest.mark.skipif(not flint_available(), reason="python-flint is not installed")

#: relative agreement of a recomputed ball's midpoint with the double code's value
AGREE = 1e-12


def _claim(cid):
    from kdtheory.audit import claims

    return next(c for c in claims() if c.id == cid)


def _hook(cid):
    from kdtheory.audit.certify import _BALL_INPUTS

    return _BALL_INPUTS[cid][0]


def _agree(balls: dict, doubles: dict, keys, rtol=AGREE, atol=1e-300):
    import flint

    for k in keys:
        b, x = balls[k], float(doubles[k])
        assert isinstance(b, flint.arb) and b.is_finite(), k
        assert abs(float(b.mid()) - x) <= rtol * abs(x) + atol, (k, b, x)


@pytest.fixture
def prec128():
    import flint

    old = flint.ctx.prec
    flint.ctx.prec = 128
    yield
    flint.ctx.prec = old


# -- the hooks agree with the double code ---------------------------------------------------------

#: search points of the negative controls (their parametrisation, claims_negative)
N_POINTS = {
    "N1": {"d": 2, "n": 3, "s": 1.5, "m": 0.5, "a_T": 0.3, "b_T": -0.2, "tau_T": 0.7,
           "kappa": 1.3, "db": 0.25, "tau_factor": 1.7},
    "N3": {"d": 1, "n": 1, "s": 1.0, "m": 0.0, "a_T": 0.0, "b_T": 0.0, "tau_T": 1.0,
           "kappa": 2.0, "db": 0.0, "tau_factor": 5.0},
    "N4": {"d": 3, "n": 5, "s": 0.8, "m": -1.0, "a_T": 0.6, "b_T": 0.1, "tau_T": 1.2,
           "kappa": -0.4, "db": 0.3, "tau_factor": 0.2},
    "N5": {"d": 2, "n": 4, "s": 1.1, "m": 0.3, "gamma_T": 2.0, "lam_T": 0.5, "m0_T": 0.1,
           "kappa": -0.05, "eta_fraction": 0.3},
    "N6": {"d": 2, "n": 3, "s": 0.9, "m": 0.2, "a_T": 0.4, "b_T": 0.1, "tau_T": 0.8,
           "edge_fraction": 0.4},
    "N7": {"m": 1.7, "sd": 0.3},
}  # fmt: skip


@pytest.mark.parametrize("cid", sorted(N_POINTS))
def test_negative_control_hooks_agree_with_the_search_values(cid, prec128):
    """The arb twin of each search's value builder gives the builder's doubles."""
    from kdtheory.audit import claims_negative as cn

    pt = N_POINTS[cid]
    build = cn._SPACES[cid][1].build
    doubles = build(pt)
    balls = _hook(cid)(pt, 128)
    keys = set(_claim(cid).theorem.symbols)
    assert keys <= set(balls), keys - set(balls)
    _agree(balls, doubles, keys, rtol=1e-9 if cid == "N5" else AGREE)


def test_memoriser_control_hook_agrees(prec128):
    from kdtheory.audit import claims_negative as cn

    pt = {"log10_M": 5.0, "n": 60, "p_S": 0.9, "p_T": 0.5}
    doubles = cn._SPACES["N2"][1].build(pt)
    _agree(_hook("N2")(pt, 128), doubles, ("dgen", "K_n", "n"))


def test_n5_eta_is_bracketed_in_arb(prec128):
    """``eta_c`` is enclosed by a bracket decided in arb: the double root lies in it (within a
    few ulps), and the ball is narrow."""
    from kdtheory.families import gaussian_mean_pair

    pt = N_POINTS["N5"]
    model, _, teacher = gaussian_mean_pair(pt)
    eta = _hook("N5")(pt, 128)["eta"]
    eta_c = model.eta_central(teacher)
    assert float(eta.rad()) <= 1e-14 * eta_c
    assert abs(float(eta.mid()) - pt["eta_fraction"] * eta_c) <= 1e-14 * eta_c


def test_bump_hooks_agree_with_the_array_code(prec128):
    from kdtheory.audit.sharpness_cases import bump_array_batch

    for cid, smoothing in (("U-uniform@bump", False), ("S-smooth@bump", True)):
        batch = bump_array_batch(np.random.default_rng(3), 40, smoothing=smoothing)
        keys = _claim(cid).theorem.symbols
        for i in range(0, 40, 7):
            doubles = {k: batch.values[k][i] for k in keys}
            _agree(_hook(cid)(batch.params[i], 128), doubles, keys, rtol=1e-11, atol=1e-15)


def test_ball_kernel_hook_agrees_with_the_array_code(prec128):
    """The student rebuilt from the draws and the Poisson series give the array code's values
    (which use scipy's ncx2, and round the placement of the student)."""
    from kdtheory.audit.sharpness_cases import ball_array_batch

    batch = ball_array_batch(np.random.default_rng(5), 12)
    keys = ("gen_S", "gen_T", "K_n", "G1", "beta", "rho", "sigma_bar")
    for i in range(12):
        doubles = {k: batch.values[k][i] for k in keys}
        # gen = Psi(v_tr) - Psi(v_te) cancels in floats: agreement to 1e-13 of Psi ~ 1
        _agree(_hook("S")(batch.params[i], 128), doubles, keys, rtol=1e-10, atol=1e-13)


def _ncx2_cdf(y, d, nc):
    """``P(chi'^2_d(nc) <= y)`` from the ball average's arb implementation (``omega = 1``,
    ``x = 0``: ``Psi = (2)^(d/2) Gamma(d/2 + 1) y^(-d/2) P``)."""
    from flint import arb

    from kdtheory.formulas.ncx2 import ball_average_arb

    radius = arb(y).sqrt()
    pref = arb(2) ** (arb(d) / 2) * (arb(d) / 2 + 1).gamma() / radius**d
    return ball_average_arb(arb(nc), radius, arb(1), arb(0), d) / pref


def test_noncentral_chi2_series_encloses_the_closed_form(prec128):
    """d = 1: ``P(chi'^2_1(nc) <= y) = (erf((r + mu)/sqrt 2) + erf((r - mu)/sqrt 2))/2`` with
    ``r = sqrt y``, ``mu = sqrt nc`` -- two rigorous balls must overlap; d = 2 against the ball
    kernel's own 30-digit Poisson mixture (mpmath, a separate implementation)."""
    from flint import arb

    from kdtheory.formulas.ncx2 import _log_ball_probability_mp

    for y, nc in ((0.3, 0.0), (2.0, 1.5), (0.01, 40.0), (50.0, 30.0), (1e-3, 300.0)):
        p = _ncx2_cdf(y, 1, nc)
        r, mu, h = arb(y).sqrt(), arb(nc).sqrt(), arb(2).sqrt()
        exact = (((r + mu) / h).erf() + ((r - mu) / h).erf()) / 2
        assert p.overlaps(exact) and float(p.rad()) < 1e-30 * float(p.mid()), (y, nc, p, exact)
        ref = math.exp(_log_ball_probability_mp(y, 2, nc))
        p2 = _ncx2_cdf(y, 2, nc)
        assert abs(float(p2.mid()) - ref) <= 1e-14 * ref, (y, nc, p2, ref)


def test_noncentral_chi2_series_without_its_tail_bound_misses(prec128):
    """A wrong input to the enclosure -- the series cut after one term with no tail bound -- no
    longer contains the closed form: the overlap test above can fail."""
    from flint import arb

    r, mu, h = arb(2.0).sqrt(), arb(1.5).sqrt(), arb(2).sqrt()
    exact = (((r + mu) / h).erf() + ((r - mu) / h).erf()) / 2
    y, lam = arb(2.0), arb(1.5) / 2
    one_term = (-lam).exp() * (y / 2).gamma_lower(arb(1) / 2, regularized=1)
    assert not one_term.overlaps(exact)
    assert _ncx2_cdf(2.0, 1, 1.5).overlaps(exact)


# -- U0's E_D -------------------------------------------------------------------------------------
def _u0_case(src, student_kinds, d=None):
    from kdtheory.audit.claims_upper import _u0_expectation
    from kdtheory.sampling import TEACHER_KINDS, build_gaussian_mean_case

    case = build_gaussian_mean_case(src, TEACHER_KINDS, student_kinds, d=d)
    values = {**case.model.theorem_values(case.student, case.teacher), **_u0_expectation(case)}
    return case, {"params": case.params, "values": values}


def test_u0_expectation_enclosure_agrees_with_the_quadrature(prec128):
    """Tilt students: the ball contains the exact ``E_D = 2 v |kappa| d`` (THEORY §6.4); every
    case it encloses agrees with the quadrature to its accuracy (1e-10)."""
    from flint import arb

    from kdtheory.audit.certify import _at_rising_precision
    from kdtheory.audit.witness import point
    from kdtheory.audit.witness_balls import u0_expectation_ball
    from kdtheory.sampling import rng_source

    src = rng_source(np.random.default_rng(11))
    enclosed = 0
    for i in range(16):
        kinds = ("tilt",) if i % 4 == 0 else ("kd", "gibbs", "generic", "rescaled")
        case, rec = _u0_case(src, kinds, d=1 if i % 2 else None)
        ball = _at_rising_precision(partial(u0_expectation_ball, case.params, point), 128)
        if ball is None:
            assert case.model.d >= 2 and kinds != ("tilt",)
            continue
        enclosed += 1
        ref = rec["values"]["E_D"]
        assert abs(float(ball.mid()) - ref) <= 1e-10 * ref, (ball, ref)
        if kinds == ("tilt",):
            m = case.model
            exact = 2 * arb(m.s) ** 2 / m.n * abs(arb(case.params["student"]["kappa"])) * m.d
            assert ball.overlaps(exact)
    assert enclosed >= 10


def test_u0_keeps_the_allowance_where_it_is_not_enclosed():
    """``d >= 2`` with ``c_Delta`` and ``a_S - a_T`` both nonzero: ``E_D`` stays the quadrature's
    value +/- 1e-10 and the verdict says so."""
    from kdtheory.audit.certify import HOLDS_BEYOND_ALLOWANCE, certify_case
    from kdtheory.sampling import rng_source

    src = rng_source(np.random.default_rng(2))
    case, rec = _u0_case(src, ("generic",), d=3)
    res = certify_case(_claim("U0"), rec)
    assert res["recomputed"] is False and res["allowance"] == 1e-10
    assert "E_D: recorded value +/- 1e-10" in res["inputs"]
    assert res["verdict"] == HOLDS_BEYOND_ALLOWANCE


def test_a_perturbed_e_d_violates_the_tilt_witness(monkeypatch):
    """A deliberately wrong ``E_D`` (the enclosure scaled by 1 - 1e-9) makes the tilt witness of
    U0 (equality) violated in ball arithmetic: the certified check can fail."""
    import kdtheory.audit.witness_balls as wb
    from kdtheory.audit.certify import certify_case
    from kdtheory.sampling import rng_source

    src = rng_source(np.random.default_rng(4))
    _, rec = _u0_case(src, ("tilt",), d=2)
    rec["params"]["student"]["kappa"] = abs(rec["params"]["student"]["kappa"]) + 0.1
    assert certify_case(_claim("U0"), rec)["verdict"] == EQUAL
    true_fn = wb.u0_expectation_ball
    monkeypatch.setattr(wb, "u0_expectation_ball", lambda p, num: true_fn(p, num) * (1 - 1e-9))
    res = certify_case(_claim("U0"), rec)
    assert res["verdict"] == VIOLATED and res["recomputed"] is True


# -- verdicts at a fixed seed; wrong inputs are caught --------------------------------------------
COVERED_TRUE = ("U0", "S", "S-smooth@bump", "U-uniform@bump")
COVERED_FALSE = ("N1", "N2", "N3", "N4", "N5", "N6", "N7")


@pytest.fixture(scope="module")
def certified_audit():
    from kdtheory.audit import run_audit
    from kdtheory.audit.certify import certify_report

    report = run_audit(seed=0, scale=0.1, only=list(COVERED_TRUE + COVERED_FALSE))
    certify_report(report)
    return report


@pytest.mark.parametrize("cid", COVERED_TRUE + COVERED_FALSE)
def test_covered_claims_get_ball_verdicts(certified_audit, cid):
    """Every input recomputed: a true claim's tightest case is certified (or an equality within
    the ball), a false claim's counterexample is violated -- a refutation in arb."""
    from kdtheory.audit.certify import certified_ok

    r = next(r for r in certified_audit.results if r.id == cid)
    key = "counterexample" if cid in COVERED_FALSE else "tightest"
    case = r.extra["certified"][key]
    assert case["recomputed"] is True and case["allowance"] is None, case
    expected = (VIOLATED,) if cid in COVERED_FALSE else (CERTIFIED, EQUAL)
    assert case["verdict"] in expected, case
    assert certified_ok(certified_audit)


#: points of the negative controls' spaces at which their statements *hold*
NOT_COUNTEREXAMPLES = {
    "N1": {**N_POINTS["N1"], "kappa": 0.0, "db": 0.0, "tau_factor": 1.0},  # student = teacher
    "N7": {"m": 1.0, "sd": 1.0},  # m^2 = 1 <= sqrt(2 * 2 * 1/2) = sqrt 2
}


@pytest.mark.parametrize("cid", sorted(NOT_COUNTEREXAMPLES))
def test_a_point_that_is_not_a_counterexample_is_not_violated(cid):
    """Recorded values claiming a violation do not count: the verdict comes from the point's
    recomputed values, so a point where the statement holds is not "violated" and the report
    fails :func:`certified_ok`."""
    from kdtheory.audit.certify import certified_ok, certify_case
    from kdtheory.theorems.base import Status

    pt = NOT_COUNTEREXAMPLES[cid]
    lie = {k: 100.0 for k in _claim(cid).theorem.symbols}  # recorded doubles that would violate
    lie["dgen" if cid == "N1" else "E_Q_f"] = 1e6
    res = certify_case(_claim(cid), {"params": pt, "values": lie})
    assert res["recomputed"] is True and res["verdict"] in (CERTIFIED, EQUAL), res
    result = SimpleNamespace(
        status=Status.FALSE.value, extra={"certified": {"counterexample": res}}
    )
    assert not certified_ok(SimpleNamespace(results=[result]))
    assert math.isfinite(res["slack_mid"]) and res["slack_mid"] >= 0
