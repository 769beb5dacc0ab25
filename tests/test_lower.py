"""Theorem L, U-joint (both sides), U-gamma and L-gamma (THEORY §3, §4, §6.5) on random Gaussian
mean models, their registration, and the proof script proofs/lower_bound.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proof_runner import run_proof

from kdtheory import CentralCondition, Status, SubGamma, theorem
from kdtheory.proof import EVIDENCE, FAILED, PROVED
from kdtheory.sampling import RANGES
from kdtheory.strategies import gaussian_mean_cases

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = ("kd", "kd-sample", "tilt", "gibbs", "generic", "rescaled")
TEACHERS_POSITIVE_GEN = ("gibbs", "bayes")  # a in (0, 1]: gen_T > 0, so eta_c > 0


@pytest.mark.parametrize(
    "tid,status,upper,assumption",
    [
        ("L", Status.RECONSTRUCTED, False, CentralCondition),
        ("U-joint", Status.EXTENSION, True, None),
        ("U-joint-lower", Status.EXTENSION, False, None),
        ("U-gamma", Status.EXTENSION, True, SubGamma),
        ("L-gamma", Status.EXTENSION, False, SubGamma),
    ],
)
def test_registration(tid, status, upper, assumption):
    t = theorem(tid)
    assert t.status is status and t.is_upper is upper
    assert t.ref.startswith("THEORY §") and t.proof_sketch
    assert (ROOT / t.proof).is_file()
    if assumption is not None:
        assert any(isinstance(a, assumption) for a in t.assumptions)
    assert r"\begin{theorem}" in t.latex()


def test_central_condition_domain():
    assert CentralCondition(eta=0.5, c=0.0).c == 0.0
    for bad in ({"eta": 0.0}, {"eta": -1.0}, {"c": 1.0}, {"c": -0.1}, {"c": float("nan")}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            CentralCondition(**bad)


# -- Theorem L ------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(
    gaussian_mean_cases(teacher_kinds=TEACHERS_POSITIVE_GEN, student_kinds=STUDENTS),
    RANGES["eta_fraction"].strategy(),
    st.sampled_from(["best", "zero", "edge"]),
)
def test_theorem_l_holds(case, u, kind):
    """gen_S >= c gen_T - K_n/eta for eta = u eta_c with c = c*(eta) or 0, and at the edge
    eta = eta_c with c = 0 (THEORY §4)."""
    model, s_, t = case.model, case.student, case.teacher
    eta_c = model.eta_central(t)
    eta = eta_c if kind == "edge" else u * eta_c
    c = model.central_slack(t, eta) if kind == "best" else 0.0
    assert 0 <= c < 1
    ev = theorem("L").evaluate(**model.theorem_values(s_, t), eta=eta, c=c)
    assert ev.all_hold
    assert float(ev.ratio) <= 1 + 1e-9


@settings(max_examples=30)
@given(gaussian_mean_cases(teacher_kinds=TEACHERS_POSITIVE_GEN), RANGES["eta_fraction"].strategy())
def test_u_joint_lower_dominates_theorem_l(case, u):
    """gen_T + (U-joint lower side) = sup_eta [c*(eta) gen_T - K_n/eta] >= Theorem L at any
    admissible (eta, c*(eta)) (THEORY §4)."""
    model, s_, t = case.model, case.student, case.teacher
    vals = model.theorem_values(s_, t)
    if vals["K_n"] == 0:
        return
    eta = u * model.eta_central(t)
    l_rhs = float(theorem("L").evaluate(**vals, eta=eta, c=0.0).rhs)
    c_star = model.central_slack(t, eta)
    l_best = c_star * vals["gen_T"] - vals["K_n"] / eta
    sup = vals["gen_T"] + model.u_joint_lower(s_, t).value
    scale = 1e-10 * (abs(sup) + abs(l_best) + 1)
    assert sup >= l_best - scale and l_best >= l_rhs - scale


@pytest.mark.parametrize("gen_s", [-1.0, 0.2, 0.9, 2.0])
def test_theorem_l_ratio_is_below_one_iff_it_holds(gen_s):
    ev = theorem("L").evaluate(gen_S=gen_s, gen_T=1.0, K_n=0.3, eta=0.5, c=0.4)
    # rhs = 0.4 - 0.6 = -0.2
    assert bool(ev.all_hold) is (gen_s >= -0.2)
    assert (float(ev.ratio) <= 1) is (gen_s >= -0.2)


@given(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
def test_crossover(eta, sigma, k_n):
    """K_n/eta < sqrt(2 sigma^2 K_n) iff K_n < K* = 2 eta^2 sigma^2 (THEORY §4)."""
    k_star = 2 * eta**2 * sigma**2
    if math.isclose(k_n, k_star, rel_tol=1e-9):
        return
    assert (k_n / eta < math.sqrt(2 * sigma**2 * k_n)) is (k_n < k_star)


# -- exact-CGF bounds -----------------------------------------------------------------------------


@settings(max_examples=40)
@given(gaussian_mean_cases(student_kinds=STUDENTS))
def test_cgf_bounds_hold(case):
    """U-joint (both sides), U-gamma and L-gamma hold on Gibbs/Bayes/generic teachers and KD,
    tilt, Gibbs, generic and rescaled students (THEORY §3, §6.5)."""
    model, s_, t = case.model, case.student, case.teacher
    if model.distillation_divergence(s_, t) == 0:
        return  # student == teacher: dgen = 0, every bound is 0
    for method, tid in (
        ("u_joint", "U-joint"),
        ("u_joint_lower", "U-joint-lower"),
        ("u_gamma", "U-gamma"),
        ("l_gamma", "L-gamma"),
    ):
        b = getattr(model, method)(s_, t)
        ev = theorem(tid).evaluate(**b.values)
        assert ev.all_hold, (tid, b)
        assert float(ev.ratio) <= 1 + 1e-9
        assert b.theta > 0


def test_tilt_student_upper_and_lower_sides():
    """The tilt student (kappa > 0 raises gen, kappa < 0 lowers it) against both exact sides."""
    from kdtheory import GaussianMeanModel

    model = GaussianMeanModel(d=2, n=5, s=0.9, m=[0.1, -0.3])
    t = model.gibbs(gamma=1.5, lam=0.4)
    for kappa in (-0.5, 0.5):
        s_ = model.tilt_student(t, kappa)
        dgen = model.dgen(s_, t)
        assert np.sign(dgen) == np.sign(kappa)
        assert model.u_joint_lower(s_, t).value <= dgen <= model.u_joint(s_, t).value


# -- the proof script -----------------------------------------------------------------------------


def test_proof_script():
    pf = run_proof("lower_bound")
    verdicts = [s.verdict for s in pf.steps]
    assert pf.ok and FAILED not in verdicts
    assert verdicts.count(PROVED) >= 10 and verdicts.count(EVIDENCE) >= 4
    text = " ".join(s.claim for s in pf.steps)
    for phrase in ("Theorem L", "K* = 2 eta^2 sigma^2", "N6", "N5"):
        assert phrase in text
