"""The vectorised uniform-ball claim ``S`` (issue 7 follow-up; THEORY §5, §6 A-bump).

Facts checked:

* the array closed forms of :mod:`kdtheory.models.ball_kernel` on stacked hypothesis cases equal
  the scalar :class:`BallKernelModel` values case by case;
* :func:`ball_array_batch` has the law of :func:`build_ball_case` (d frequencies, ranges, student
  ball inside the teacher's, ``K_n = d log(1/f)``, two-sample KS tests against the scalar loop)
  and its records replay through the scalar builder and model to the batch values;
* tiny and subnormal offsets: the ball average equals a Poisson series of central chi-square
  CDFs (``scipy.special.chndtr`` alone is wrong there);
* negative controls: Theorem S without its first-order term (``G1 = 0``) is violated on the batch
  and the audit claim reports it as refuted, with a counterexample that replays as a violation;
* the claim checks at least 1e5 configurations at ``--scale 1`` and holds.

Tolerances: 1e-12 relative, except ``gen`` and ``dgen`` (absolute ``1e-12 (Psi(v_tr) +
Psi(v_te))``): the batch and the scalar path run the same formulas, but numpy's array and 0-d
``exp``/``log``/``power`` may round differently by an ulp, and a perturbation of the
non-centrality ``||c_K||^2/q`` by an ulp moves a far-tail ``ncx2`` probability by up to
``|d log P / d log nc|`` ulps (~1e2 observed); ``gen`` is the difference of two such values,
which can cancel, so its error is relative to the terms, not to the difference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2, ks_2samp

from kdtheory.audit import claims, run_audit
from kdtheory.audit.sharpness_cases import (
    BALL_DRAWS,
    ball_array_batch,
    ball_batch,
    build_ball_case,
    replay_ball_case,
)
from kdtheory.models import BallKernelModel
from kdtheory.models import ball_kernel as BA
from kdtheory.sampling import RANGES
from kdtheory.strategies import hypothesis_source
from kdtheory.theorems.registry import theorem

RTOL = 1e-12
S = theorem("S")
#: symbols whose value is a difference of two ball averages (tolerance relative to the terms)
_DIFFERENCES = {"gen_S", "gen_T", "dgen"}


def close(x, y, rtol=RTOL, atol=0.0):
    x, y = float(x), float(y)
    return x == y or abs(x - y) <= rtol * max(abs(x), abs(y)) + atol


def _gen_scale(model, *kernels) -> float:
    """``sum (Psi(v_tr) + Psi(v_te))`` over ``kernels``: the size of the terms whose difference
    ``gen`` (or ``dgen``) is."""
    total = 0.0
    for k in kernels:
        pair = BA._ball_averages(k.a, k.b, k.radius, model.m, model.n, model.s, model.omega)
        total += sum(abs(float(p)) for p in pair)
    return total


def _values_agree(got: dict, ref: dict, model, student, teacher) -> None:
    """``got`` (batch values of one case) equals ``ref`` (scalar ``theorem_values``)."""
    assert set(got) == set(ref)
    scale = {
        "gen_S": _gen_scale(model, student),
        "gen_T": _gen_scale(model, teacher),
        "dgen": _gen_scale(model, student, teacher),
    }
    for k, v in ref.items():
        atol = RTOL * scale[k] if k in _DIFFERENCES else 0.0
        assert close(got[k], v, atol=atol), (k, got[k], v)


# -- array closed forms against the scalar model -------------------------------------------------
@given(st.data())
def test_stacked_array_values_equal_the_scalar_model(data):
    """5-12 hypothesis cases of one dimension per example (a few hundred in the ci profile),
    stacked into arrays and evaluated by :func:`ball_kernel._theorem_values` at once."""
    d = data.draw(st.sampled_from([1, 2]))
    cases = [
        build_ball_case(hypothesis_source(data.draw), d=d)
        for _ in range(data.draw(st.integers(5, 12)))
    ]

    def col(get):
        return np.array([get(c) for c in cases], dtype=float)

    vals = BA._theorem_values(
        col(lambda c: c.model.m),
        col(lambda c: c.model.n),
        col(lambda c: c.model.s),
        col(lambda c: c.model.omega),
        col(lambda c: c.student.a),
        col(lambda c: c.student.b),
        col(lambda c: c.student.radius),
        col(lambda c: c.teacher.a),
        col(lambda c: c.teacher.b),
        col(lambda c: c.teacher.radius),
    )
    for i, case in enumerate(cases):
        model = case.model
        ref = model.theorem_values(case.student, case.teacher)
        _values_agree({k: v[i] for k, v in vals.items()}, ref, model, case.student, case.teacher)
        # the scalar pieces are the same closed forms
        assert ref["gen_S"] == model.gen(case.student) and ref["gen_T"] == model.gen(case.teacher)
        assert ref["K_n"] == float(model.distillation_divergence(case.student, case.teacher))
        assert {k: ref[k] for k in ("G1", "beta")} == model.sharpness_constants()
        assert ref["sigma_bar"] == (1 + model.gap_floor()) / 2
        # ball averages at several variances, stacked over the kernels of this case
        x = np.array([0.0, model.s**2, 3.7 * model.s**2])
        for k in (case.student, case.teacher):
            c = model.offset(k)
            arr = BA._ball_average(np.sum(c * c), k.radius, model.omega, x, d)
            for xi, got in zip(x, arr, strict=True):
                assert close(got, model.ball_average(k, float(xi))), (k, xi)


def test_divergence_is_infinite_outside_the_teacher_ball_as_arrays():
    """``K_n`` (THEORY §5): finite ``d log(R_T/R_S)`` iff same ``a`` and the student's ball lies
    in the teacher's; the array form agrees with the scalar reasons."""
    b_t = np.zeros((4, 2))
    b_s = np.array([[0.3, 0.4], [0.3, 0.4], [0.0, 0.0], [0.0, 0.0]])
    r_s = np.array([0.5, 0.6, 0.1, 1.0])
    a_s = np.array([1.0, 1.0, 0.9, 1.0])
    k_n = BA._distillation_divergence(a_s, b_s, r_s, 1.0, b_t, 1.0, 2)
    assert k_n[0] == 2 * math.log(2.0) and k_n[3] == 0.0
    assert k_n[1] == math.inf and k_n[2] == math.inf  # outside; a_S != a_T


@pytest.mark.parametrize("d", [1, 2])
def test_tiny_and_subnormal_offsets_match_the_poisson_mixture(d):
    """``P(chi'^2_d(nc) <= y) = e^{-nc/2} sum_j (nc/2)^j/j! F_{d+2j}(y)`` (five terms: the rest is
    below ``(nc/2)^5/5! < 1e-28``) for non-centralities from subnormal to 1e-6, on both sides of
    :data:`kdtheory.formulas.ncx2.NC_CENTRAL`; ``scipy.special.chndtr`` alone is wrong for
    subnormal ``nc``
    (found by the thorough profile: offset ``c_K = 1.8e-162``)."""
    omega, radius = 0.36787944117144233, 1.0
    x = np.array([0.0, 1.0, 10.0])
    q = omega**2 + x
    y = radius**2 / q
    pref = np.exp(0.5 * d * np.log(2 * omega**2) - d * np.log(radius) + math.lgamma(d / 2 + 1))
    for c in (1.8e-162, 1e-158, 1e-154, 1e-9, 1e-8, 1e-3):
        ck2 = c * c
        nc = ck2 / q
        terms = [(nc / 2) ** j / math.factorial(j) * chi2.cdf(y, d + 2 * j) for j in range(5)]
        mix = np.exp(-nc / 2) * sum(terms)
        got = BA._ball_average(ck2, radius, omega, x, d)
        np.testing.assert_allclose(got, pref * mix, rtol=1e-14)
        model = BallKernelModel(d=d, n=3, s=1.0, m=0.0, omega=omega)
        k = model.kernel(1.0, [c] + [0.0] * (d - 1), radius)
        assert [model.ball_average(k, float(xi)) for xi in x] == got.tolist()


# -- the batch: law, records, replay ---------------------------------------------------------------
def test_array_batch_has_the_law_of_build_ball_case():
    """d in {1, 2} with probability 1/2 each (4 standard errors); every drawn column inside its
    range; the student's ball inside the teacher's (``K_n = d log(1/f)`` finite)."""
    size = 20000
    batch = ball_array_batch(np.random.default_rng(3), size)
    assert len(batch.params) == size and all(len(v) == size for v in batch.values.values())
    d = np.array([batch.params[i]["model"]["d"] for i in range(size)])
    assert abs(np.mean(d == 1) - 0.5) <= 4 * 0.5 / math.sqrt(size)
    v = batch.values
    frac = np.array([batch.params[i]["draws"]["radius_fraction"] for i in range(size)])
    assert np.all(np.isfinite(v["K_n"]))
    # R_T / (f R_T) equals 1/f to a few ulps, so the logs agree to ~1e-15 absolute (per dimension)
    np.testing.assert_allclose(v["K_n"], d * np.log(1 / frac), rtol=1e-12, atol=1e-14)
    r = RANGES["ball_radius"]
    assert r.low <= v["rho"].min() and v["rho"].max() <= r.high
    for i in range(0, size, 50):
        rec = batch.params[i]
        for part, name in (("model", "n"), ("model", "s"), ("model", "omega"), ("teacher", "a")):
            assert RANGES[name].low <= rec[part][name] <= RANGES[name].high
        for k in ("radius_fraction", "shift_fraction"):
            assert RANGES[k].low <= rec["draws"][k] <= RANGES[k].high
        shift = np.linalg.norm(np.subtract(rec["student"]["b"], rec["teacher"]["b"]))
        assert shift + rec["student"]["radius"] <= rec["teacher"]["radius"] * (1 + 1e-12)
        assert set(rec) == {"model", "teacher", "student", "draws"}
        assert set(rec["draws"]) == set(BALL_DRAWS)


def test_array_batch_and_scalar_loop_have_the_same_law():
    """Two-sample Kolmogorov-Smirnov tests (p > 1e-4, fixed seeds) of the array batch against
    the scalar loop :func:`ball_batch` (``build_ball_case`` per case) on derived values: the
    radius, ``K_n``, ``G1``, ``dgen`` and the bound's tightness ratio."""
    scalar = ball_batch(np.random.default_rng(21), 1500)
    array = ball_array_batch(np.random.default_rng(22), 20000)
    for b in (scalar, array):
        b.values["ratio"] = S.evaluate(**b.values).ratio
    for k in ("rho", "K_n", "G1", "dgen", "ratio"):
        assert ks_2samp(scalar.values[k], array.values[k]).pvalue > 1e-4, k


def test_records_replay_through_the_scalar_builder_and_model():
    """Every 20th of 6000 records: :func:`build_ball_case` fed the recorded draws rebuilds the
    recorded kernels exactly, and the scalar model's values equal the batch values."""
    batch = ball_array_batch(np.random.default_rng(9), 6000)
    for i in range(0, 6000, 20):
        rec = batch.params[i]
        case = replay_ball_case(rec)
        assert case.params == rec  # the same kernels, bit for bit
        m, st_, te = case.model, case.student, case.teacher
        got = {k: v[i] for k, v in batch.values.items()}
        _values_agree(got, m.theorem_values(st_, te), m, st_, te)


def test_a_fixed_dimension_batch():
    batch = ball_array_batch(np.random.default_rng(0), 300, d=2)
    assert {batch.params[i]["model"]["d"] for i in range(300)} == {2}
    assert S.evaluate(**batch.values).all_hold


# -- negative controls -----------------------------------------------------------------------------
def test_theorem_s_without_its_first_order_term_is_violated():
    """``G1 = 0`` (as if every teacher sat at a critical point of g) leaves the second-order bound
    ``beta R_T^2/2 sqrt(2 K_n)``; ``dgen`` is first order in the centre shift, so small teacher
    balls violate it.  The violating records violate it again through the scalar model."""
    batch = ball_array_batch(np.random.default_rng(5), 20000)
    assert S.evaluate(**batch.values).all_hold
    bad = ~S.evaluate(**{**batch.values, "G1": 0.0}).holds
    assert np.count_nonzero(bad) > 0
    for i in np.flatnonzero(bad)[:20]:
        case = replay_ball_case(batch.params[int(i)])
        vals = case.model.theorem_values(case.student, case.teacher)
        assert not S.evaluate(**{**vals, "G1": 0.0}).all_hold
        assert S.evaluate(**vals).all_hold


def test_the_claim_is_refuted_when_the_sharpness_constants_are_wrong(monkeypatch):
    """The audit claim itself can fail: with ``G1`` reported as 0 by the array closed forms (the
    scalar model calls the same function), claim ``S`` is refuted and its counterexample
    replays as a violation."""
    real = BA._sharpness_constants
    monkeypatch.setattr(BA, "_sharpness_constants", lambda d, s, om: (0.0 * s, real(d, s, om)[1]))
    (res,) = run_audit(seed=2, scale=0.2, only=["S"]).results
    assert res.verdict == "refuted" and res.violations > 0 and res.counterexample is not None
    case = replay_ball_case(res.counterexample["params"])
    vals = case.model.theorem_values(case.student, case.teacher)
    assert vals["G1"] == 0.0 and not S.evaluate(**vals).all_hold


# -- the audit claim at its default size -----------------------------------------------------------
def test_claim_s_checks_1e5_configurations_and_holds():
    assert "S" in {c.id for c in claims()}
    (res,) = run_audit(seed=1, scale=1.0, only=["S"]).results
    assert res.verdict == "holds" and res.violations == 0 and res.cases >= 100_000
    assert 0 < res.max_ratio < 1
    case = replay_ball_case(res.tightest["params"])
    vals = case.model.theorem_values(case.student, case.teacher)
    assert close(float(S.evaluate(**vals).ratio), res.max_ratio, rtol=1e-9)


# -- invalid input ---------------------------------------------------------------------------------
_REC = ball_array_batch(np.random.default_rng(0), 1).params[0]


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: ball_array_batch(np.random.default_rng(0), 0), ValueError, "size"),
        (lambda: ball_array_batch(np.random.default_rng(0), 10, d=0), ValueError, "d"),
        (lambda: ball_array_batch(np.random.default_rng(0), "10"), TypeError, "size"),
        (
            lambda: replay_ball_case({**_REC, "draws": {**_REC["draws"], "direction": []}}),
            ValueError,
            "'b'",
        ),
        (
            lambda: replay_ball_case({**_REC, "model": {**_REC["model"], "d": 3}}),
            ValueError,
            "dimension 3",
        ),
        (
            lambda: replay_ball_case({**_REC, "model": {**_REC["model"], "omega": -1.0}}),
            ValueError,
            "omega",
        ),
    ],
)
def test_invalid_input_raises_naming_the_parameter(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_divergence_is_never_negative_inside_the_containment_slack():
    """A student ball larger than the teacher's by less than the rounding slack has K_n = 0."""
    r_t = 1.0
    r_s = r_t * (1 + 0.5 * BA.CONTAIN_RTOL)
    kn = BA._distillation_divergence(1.0, np.zeros(1), r_s, 1.0, np.zeros(1), r_t, 1)
    assert float(kn) == 0.0
    kn_out = BA._distillation_divergence(1.0, np.zeros(1), 1.1, 1.0, np.zeros(1), r_t, 1)
    assert float(kn_out) == np.inf


def test_tiny_radii_and_large_dimensions_as_arrays_are_finite_and_match_the_scalar_model():
    """Issue 10: the array code (one batch mixing the small-ball expansion, scipy's ncx2 and the
    extended-precision tail) returns no NaN and equals the scalar model case by case (the
    scalar values are checked against 50-digit quadrature in ``test_numerics_extreme.py``)."""
    radius = np.array([1e-300, 1e-160, 1e-6, 0.5, 0.5, 2.0])
    b = np.array([[0.1, 0.0], [0.0, 0.0], [1.0, 1.0], [0.1, 0.2], [25.0, 0.0], [0.0, 0.0]])
    got = BA._gen(1.0, b, radius, np.zeros(2), 5, 1.0, 1.0)
    assert np.all(np.isfinite(got))
    model = BallKernelModel(d=2, n=5, s=1.0, m=0.0, omega=1.0)
    for i in range(len(radius)):
        want = model.gen(model.kernel(1.0, b[i], radius[i]))
        assert close(got[i], want), (i, got[i], want)
    for d in (300, 800):
        big = BallKernelModel(d=d, n=5, s=1.0, m=0.0, omega=1.0)
        vals = BA._ball_averages(
            1.0, np.full((2, d), 0.01), np.array([1e-200, 0.5]), big.m, 5, 1.0, 1.0
        )
        assert all(np.all(np.isfinite(v)) & np.all(v > 0) for v in vals)
