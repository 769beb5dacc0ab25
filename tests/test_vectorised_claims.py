"""The vectorised audit claims (issue 7): array closed forms against independent or scalar
per-case computations, and batch records that replay through the scalar API.

Facts checked, claim by claim:

* lemma-SG: the scalar-law CGFs equal a 40-digit evaluation of ``log E e^{tX}`` (mpmath, from the
  law's definition); records replay through :func:`sg_values`; Gaussian witnesses reach ratio 1.
* lemma-DV: stacked ``KL(Q||P)`` equals the closed-form KL registry; stacked ``log E_P e^f``
  equals a 40-digit completion of the square (a different formula); witnesses attain equality.
* U-gamma, L-gamma: batch ``(V_g, b_g)`` and bound values equal the scalar model methods on
  replayed records; ``V_g`` is the CGF's second derivative (finite differences of the closed form).
* U-uniform@memoriser: the array closed forms equal brute-force enumeration; records replay.
* S-regime: the array draws have the law of :func:`local_regime_case` (kind frequencies, zeros).
* S-smooth, S-smooth@bump, U-uniform@bump: records replay to the batch values through the scalar
  models; the vectorised Lambert-W radius equals the scalar one.
* S-smooth-regime: the array check holds, its records replay (radius and sign of ``B(rho) -
  B(0)`` through the scalar model), and a 1 % wrong radius is caught (negative control).
* every vectorised claim checks at least 1e5 configurations at ``--scale 1``, and holds (U0 and
  U1@linear also at seeds 0, 2, 3: slow).

Tolerances: 1e-12 relative unless stated; the batch and the scalar path run the same formulas,
but numpy's array ``exp``/``power`` may differ from the scalar ones by an ulp, amplified where a
difference of two values is taken (stated at each looser check).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdtheory.audit import claims, run_audit
from kdtheory.audit import claims_sharpness as cs
from kdtheory.audit.array_cases import ColumnRecords
from kdtheory.audit.claims_lower import memoriser_batch, replay_memoriser_case, sub_gamma_batch
from kdtheory.audit.claims_upper import SG_RANGES, sg_batch
from kdtheory.audit.gaussian_cases import replay_gaussian_mean_case
from kdtheory.audit.gaussian_pair_cases import dv_batch, dv_values, haar_orthogonal
from kdtheory.audit.sharpness_cases import (
    bump_array_batch,
    replay_bump_case,
    smoothing_array_batch,
)
from kdtheory.divergences import FullGaussian, kl
from kdtheory.models import gaussian_cgf as C
from kdtheory.models import gaussian_smoothing as SA
from kdtheory.models import memoriser as MA
from kdtheory.models.memoriser import MemoriserModel
from kdtheory.models.scalar_laws import LAWS, sg_values
from kdtheory.strategies import gaussian_mean_cases
from kdtheory.theorems.registry import theorem

RTOL = 1e-12
VECTORISED = (
    "lemma-DV",
    "lemma-SG",
    "U1",
    "U-gamma",
    "L-gamma",
    "U-uniform@memoriser",
    "S-regime",
    "S-smooth",
    "S-smooth-regime",
    "S-smooth@bump",
    "U-uniform@bump",
    "S",
    "U0",
    "U1@linear",
)


def close(x, y, rtol=RTOL, atol=0.0):
    x, y = float(x), float(y)
    return x == y or abs(x - y) <= rtol * max(abs(x), abs(y)) + atol


# -- lemma-SG ------------------------------------------------------------------------------------
def _mp_cgf(rec) -> mpmath.mpf:
    """``log E e^{tX}`` from the law's definition, at 40 digits beyond the scale of ``t``
    (so that ``log(1 + O(t))`` keeps 40 significant digits for tiny ``t``)."""
    extra = max(0, int(-math.log10(abs(rec["t"])))) if rec["t"] != 0 else 0
    with mpmath.workdps(40 + extra):
        t = mpmath.mpf(rec["t"])
        if rec["kind"] == "gaussian":
            mu, sd = mpmath.mpf(rec["mean"]), mpmath.mpf(rec["sd"])
            return t * mu + t * t * sd * sd / 2
        lo, w = mpmath.mpf(rec["lo"]), mpmath.mpf(rec["width"])
        if rec["kind"] == "bernoulli":
            p = mpmath.mpf(rec["p"])
            return t * lo + mpmath.log1p(p * mpmath.expm1(t * w))
        # uniform: E e^{tX} = e^{t lo} (e^{t w} - 1) / (t w)
        return t * lo + mpmath.log(mpmath.expm1(t * w) / (t * w))


def test_sg_batch_equals_40_digit_cgfs_and_records_replay():
    """Relative 1e-12 of ``|cgf| + |t mean|`` (the terms whose sum the CGF is)."""
    for kinds in (("bernoulli", "uniform"), ("gaussian",)):
        batch = sg_batch(np.random.default_rng(11), 400, kinds)
        for i in range(len(batch.params)):
            rec = batch.params[i]
            ref = float(_mp_cgf(rec))
            got = batch.values["cgf"][i]
            scale = abs(ref) + abs(batch.values["t"][i] * batch.values["mean"][i])
            assert abs(got - ref) <= RTOL * scale, (rec, got, ref)
            params = {k: rec[k] for k in LAWS[rec["kind"]]}
            replay = sg_values(rec["kind"], rec["t"], **params)
            for k, v in replay.items():
                assert float(v) == batch.values[k][i], (k, rec)
        assert {batch.params[i]["kind"] for i in range(len(batch.params))} == set(kinds)


@given(
    st.sampled_from(["bernoulli", "uniform"]),
    st.floats(-6, 6),
    st.floats(-2, 2),
    st.floats(math.log(0.05), math.log(5)).map(math.exp),
    st.floats(0, 1),
)
def test_scalar_laws_obey_hoeffding_and_match_40_digits(kind, t, lo, width, p):
    params = {"lo": lo, "width": width} | ({"p": p} if kind == "bernoulli" else {})
    vals = sg_values(kind, t, **params)
    ref = _mp_cgf({"kind": kind, "t": t, **params}) if t != 0 else mpmath.mpf(0)
    assert abs(float(vals["cgf"]) - float(ref)) <= RTOL * (abs(float(ref)) + abs(t * lo) + 1e-300)
    # Hoeffding: cgf <= t mean + t^2 (width/2)^2 / 2 (Lemma SG's statement)
    assert theorem("lemma-SG").evaluate(**vals).all_hold


def test_sg_ranges_are_the_old_sampler_ranges():
    assert (SG_RANGES["t"].low, SG_RANGES["t"].high) == (-6.0, 6.0)
    assert SG_RANGES["width"].log and (SG_RANGES["width"].low, SG_RANGES["width"].high) == (0.05, 5)
    batch = sg_batch(np.random.default_rng(0), 5000)
    t = batch.values["t"]
    assert -6 <= t.min() < -5.9 and 5.9 < t.max() <= 6


# -- lemma-DV ------------------------------------------------------------------------------------
def _mp_log_mgf(rec) -> float:
    """``log E_P exp(a'x + x'Bx/2)`` by completing the square at 40 digits: with
    ``S'^-1 = S^-1 - B`` and ``mu' = S'(S^-1 mu + a)``, it is
    ``(log det S' - log det S)/2 + (mu'' S'^-1 mu' - mu' S^-1 mu)/2``."""
    with mpmath.workdps(40):
        mu = mpmath.matrix(rec["P"]["mean"])
        s = mpmath.matrix(rec["P"]["cov"])
        a = mpmath.matrix(rec["f"]["a"])
        b = mpmath.matrix(rec["f"]["B"])
        sinv = mpmath.inverse(s)
        prec = sinv - b
        s2 = mpmath.inverse(prec)
        mu2 = s2 * (sinv * mu + a)
        quad = (mu2.T * prec * mu2)[0] - (mu.T * sinv * mu)[0]
        return float((mpmath.log(mpmath.det(s2)) - mpmath.log(mpmath.det(s))) / 2 + quad / 2)


def test_dv_batch_equals_registry_kl_and_40_digit_mgf_and_records_replay():
    """KL: relative 1e-12 against the registry (the same stable form, unstacked).  log-MGF:
    1e-12 relative to the size of its terms ``|a'mu| + |mu'B mu|/2 + |log E|``."""
    for witness in (False, True):
        batch = dv_batch(np.random.default_rng(5), 300, witness=witness)
        for i in range(len(batch.params)):
            rec = batch.params[i]
            p = FullGaussian(np.array(rec["P"]["mean"]), np.array(rec["P"]["cov"]))
            q = FullGaussian(np.array(rec["Q"]["mean"]), np.array(rec["Q"]["cov"]))
            assert close(batch.values["KL"][i], float(kl(q, p))), rec
            ref = _mp_log_mgf(rec)
            mu, a, bm = (np.array(x) for x in (rec["P"]["mean"], rec["f"]["a"], rec["f"]["B"]))
            scale = abs(ref) + abs(a @ mu) + abs(mu @ bm @ mu) / 2
            assert abs(batch.values["logE_P_expf"][i] - ref) <= RTOL * scale, rec
            replay = dv_values(
                *(np.array([x]) for x in (rec["f"]["a"], rec["f"]["B"])),
                *(np.array([rec[w][k]]) for w in ("P",) for k in ("mean", "cov")),
                *(np.array([rec[w][k]]) for w in ("Q",) for k in ("mean", "cov")),
            )
            for k, v in replay.items():
                assert close(v[0], batch.values[k][i]), (k, rec)
        ev = theorem("lemma-DV").evaluate(**batch.values)
        assert ev.all_hold
        if witness:  # equality: f = log dQ/dP
            assert np.max(np.abs(ev.ratio - 1)) <= 1e-12
        else:
            assert np.max(ev.ratio) < 1


def test_haar_matrices_are_orthogonal_with_haar_moments():
    """``Q'Q = I``; for Haar ``Q`` in ``O(3)``, ``E Q_11^2 = 1/3`` (4 standard errors)."""
    q = haar_orthogonal(np.random.default_rng(0), 20000, 3)
    assert np.allclose(q @ np.swapaxes(q, -1, -2), np.eye(3), atol=1e-13)
    x = q[:, 0, 0] ** 2
    assert abs(x.mean() - 1 / 3) <= 4 * x.std() / math.sqrt(len(x))
    det = np.linalg.det(q)
    assert abs(np.mean(det > 0) - 0.5) <= 4 * 0.5 / math.sqrt(len(det))  # both components


# -- U-gamma, L-gamma ----------------------------------------------------------------------------
@pytest.mark.parametrize(("side", "method"), [("upper", "u_gamma"), ("lower", "l_gamma")])
def test_sub_gamma_batch_records_replay_to_the_scalar_model(side, method):
    batch = sub_gamma_batch(np.random.default_rng(3), 3000, side)
    for i in range(0, 3000, 10):
        case = replay_gaussian_mean_case(batch.params[i])
        m, st_, te = case.model, case.student, case.teacher
        var, b = m.sub_gamma_constants(te, side)
        assert close(batch.values["V_g"][i], var) and close(batch.values["b_g"][i], b)
        bound = getattr(m, method)(st_, te)
        th = theorem("U-gamma" if side == "upper" else "L-gamma")
        row = {k: v[i] for k, v in batch.values.items()}
        assert close(float(th.rhs_value(**row)), bound.value, atol=1e-14 * abs(row["gen_T"]))
    assert theorem("U-gamma" if side == "upper" else "L-gamma").evaluate(**batch.values).all_hold


@given(gaussian_mean_cases())
def test_gap_variance_is_the_cgf_curvature_and_arrays_match_the_model(case):
    """``V_g = Lambda''(0)`` (central differences of the closed-form centred CGF, step ``h``:
    error O(h^2 Lambda''''), tolerance 1e-4 relative); the public array functions equal the
    scalar methods (1e-13 relative)."""
    m, te = case.model, case.teacher
    ck = m.offset(te)
    var = C.gap_variance(te.a, te.tau, float(ck @ ck), m.d, m.n, m.s)
    assert close(var, m.gap_variance(te), rtol=1e-13)
    lo, hi = m.cgf_domain(te)
    h = 1e-3 * min(-lo, hi)
    second = (m.centred_cgf(te, h) + m.centred_cgf(te, -h)) / h**2  # Lambda(0) = 0
    assert abs(second - var) <= 1e-4 * var
    mu_p, mu_m = C.chaos_eigenvalues(te.a, te.tau, m.n, m.s)
    ref_p, ref_m = m.chaos_eigenvalues(te)
    assert close(mu_p, ref_p, rtol=1e-13) and close(mu_m, ref_m, rtol=1e-13)
    assert mu_m < 0 < mu_p
    for side in ("upper", "lower"):
        v2, b2 = C.sub_gamma_constants(te.a, te.tau, float(ck @ ck), m.d, m.n, m.s, side)
        assert close(v2, var, rtol=1e-13)
        assert close(b2, m.sub_gamma_constants(te, side)[1], rtol=1e-13)


# -- U-uniform@memoriser -------------------------------------------------------------------------
@pytest.mark.parametrize(("M", "n"), [(1, 3), (2, 4), (3, 3), (5, 2), (7, 1)])
def test_memoriser_batch_equals_brute_force(M, n):
    p_s, p_t = np.array([0.0, 0.3, 1.0, 0.9]), np.array([0.5, 0.7, 0.2, 0.9])
    vals = MA.theorem_values(M, n, p_s, p_t)
    model = MemoriserModel(M, n)
    for i in range(len(p_s)):
        bf = model.brute_force(model.kernel(p_s[i]), model.kernel(p_t[i]))
        for k in ("gen_S", "gen_T", "K_n"):
            assert abs(vals[k][i] - bf[k]) <= 1e-12, (k, M, n, i)


def test_memoriser_batch_records_replay_and_kl_edges():
    batch = memoriser_batch(np.random.default_rng(2), 2000)
    for i in range(0, 2000, 7):
        for k, v in replay_memoriser_case(batch.params[i]).items():
            assert close(batch.values[k][i], v), k
    ms = [batch.params[i]["M"] for i in range(2000)]
    assert min(ms) == 1 and 5 * 10**5 < max(ms) <= 10**6  # both ends of log10_M in [0, 6]
    assert MA.theorem_values(3, 2, 0.5, 0.0)["K_n"] == math.inf  # p_T = 0: not absolutely cont.
    assert MA.theorem_values(3, 2, 0.0, 0.0)["K_n"] == 0.0


# -- S-regime ------------------------------------------------------------------------------------
def test_local_regime_columns_have_the_scalar_law():
    """Kind frequencies 3/5, 1/5, 1/5 (4 standard errors); ``G1 = 0`` exactly for critical
    cases, ``beta = 0`` exactly for affine ones, both positive otherwise."""
    size = 20000
    cols = cs.local_regime_columns(np.random.default_rng(4), size)
    for kind, prob in (("generic", 0.6), ("affine", 0.2), ("critical", 0.2)):
        frac = np.mean(cols["kind"] == kind)
        assert abs(frac - prob) <= 4 * math.sqrt(prob * (1 - prob) / size)
    crit, aff = cols["kind"] == "critical", cols["kind"] == "affine"
    assert np.all(cols["G1"][crit] == 0) and np.all(cols["G1"][~crit] > 0)
    assert np.all(cols["beta"][aff] == 0) and np.all(cols["beta"][~aff] > 0)
    rec = ColumnRecords(cols)[7]
    assert set(rec) == {"kind", "G1", "beta", "sigma", "K_n", "rho_ratio"}


# -- S-smooth, S-smooth@bump, U-uniform@bump -----------------------------------------------------
def test_smoothing_batch_records_replay_to_the_scalar_model():
    batch = smoothing_array_batch(np.random.default_rng(8), 3000)
    assert np.mean(batch.values["rho"] == 0) > 0.05  # radius 0 drawn with probability 1/10
    for i in range(0, 3000, 10):
        rec = batch.params[i]
        case = replay_gaussian_mean_case(rec)
        vals = case.model.smoothing_values(case.student, case.teacher, rec["rho"])
        for k, v in vals.items():
            assert close(batch.values[k][i], v), (k, rec)


def test_bump_batch_records_replay_to_the_scalar_model():
    """``gen`` of the bump model is a difference ``Phi(v_tr) - Phi(v_te)`` of values in
    ``(0, 1]`` computed with numpy's array ``exp``/``power`` (the scalar path: the same formulas
    on 0-d arrays, which may round differently by an ulp): absolute tolerance 1e-14 on ``gen_S``,
    ``gen_T``, ``dgen``, ``Sh_rho``; relative 1e-12 elsewhere."""
    batch = bump_array_batch(np.random.default_rng(9), 3000, smoothing=True)
    absolute = {"gen_S", "gen_T", "dgen", "Sh_rho"}
    for i in range(0, 3000, 10):
        rec = batch.params[i]
        case = replay_bump_case(rec)
        m, st_, te = case.model, case.student, case.teacher
        vals = {**m.theorem_values(st_, te), **m.smoothing_values(st_, te, rec["rho"])}
        for k, v in vals.items():
            ok = (
                abs(batch.values[k][i] - v) <= 1e-14
                if k in absolute
                else close(v, batch.values[k][i])
            )
            assert ok, (k, rec, v, batch.values[k][i])
    for tid in ("S-smooth", "U-uniform"):
        assert theorem(tid).evaluate(**batch.values).all_hold


# -- S-smooth-regime -----------------------------------------------------------------------------
@given(gaussian_mean_cases())
def test_vectorised_tightness_radius_equals_the_scalar_method(case):
    m, st_, te = case.model, case.student, case.teacher
    r0 = SA._tightness_radius(np.array([st_.tau]), np.array([te.tau]))[0]
    assert r0 == m.tightness_radius(st_, te)
    assert (r0 > 0) == (st_.tau > te.tau)


def test_smoothing_regime_array_check_holds():
    out = cs.smoothing_regime_array_check(np.random.default_rng(6), 2000)
    assert out.cases == 8000 and out.disagreements == 0 and out.witness_ok
    assert out.unresolved <= out.cases // 100
    assert 0 < out.counts[r"models with $\rho_0 = 0$ ($\tau_S \le \tau_T$)"] < 2000


def test_smoothing_regime_records_replay_through_the_scalar_model(monkeypatch):
    """Each record's ``rho_0`` equals the scalar method's; ``B(rho_k) - B(0)`` equals the scalar
    :meth:`smoothing_bound` difference to 1e-13 of the bound's scale (a difference of two bounds
    of that size: rounding of each is ~1e-16 of it)."""
    captured = {}
    real = cs.gaussian_mean_array_batch

    def spy(*args, **kw):
        captured["batch"] = real(*args, **kw)
        return captured["batch"]

    monkeypatch.setattr(cs, "gaussian_mean_array_batch", spy)
    cs.smoothing_regime_array_check(np.random.default_rng(12), 300)
    batch = captured["batch"]
    for i in range(300):
        rec = batch.params[i]
        case = replay_gaussian_mean_case(rec)
        m, st_, te = case.model, case.student, case.teacher
        assert close(rec["rho_0"], m.tightness_radius(st_, te))
        b0 = m.smoothing_bound(st_, te, 0.0)
        scale = abs(m.gen(te)) + abs(b0 - m.gen(te))
        for k in range(1, 5):
            diff = m.smoothing_bound(st_, te, rec[f"rho_{k}"]) - b0
            assert close(batch.values[f"diff_{k}"][i], diff, atol=1e-13 * scale), (k, rec)


def test_smoothing_regime_array_check_detects_a_wrong_radius(monkeypatch):
    """Negative control: ``rho_0^sm`` 1 % too large must break the witnesses (THEORY §6.6)."""
    real = SA._tightness_radius
    monkeypatch.setattr(cs._sarr, "_tightness_radius", lambda ts, tt: 1.01 * real(ts, tt))
    out = cs.smoothing_regime_array_check(np.random.default_rng(2), 500)
    assert not out.witness_ok


# -- the audit at its default size ---------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 2, 3])
def test_u0_and_linear_u1_hold_at_the_default_size(seed):
    """Theorem U0 (fixed-node polar quadrature) and U1 on Model C (stacked matrices) at their
    default 1e5 configurations hold for seeds 0-3 (seed 1: the test below), witnesses included:
    a verdict on a true theorem does not depend on the seed."""
    report = run_audit(seed=seed, scale=1.0, only=["U0", "U1@linear"])
    for r in report.results:
        assert r.verdict == "holds" and r.cases >= 100_000 and r.violations == 0, (r.id, r.notes)
        assert r.max_ratio <= 1 + 1e-12, (r.id, r.max_ratio)


def test_vectorised_claims_check_1e5_configurations_and_hold():
    """The cases column counts configurations (S-smooth-regime: 25000 models x 4 radii)."""
    assert set(VECTORISED) <= {c.id for c in claims()}
    report = run_audit(seed=1, scale=1.0, only=list(VECTORISED))
    for r in report.results:
        assert r.verdict == "holds" and r.cases >= 100_000, (r.id, r.verdict, r.cases)


INVALID = [
    (sg_values, ("cauchy", 1.0), {"lo": 0.0}, ValueError, "kind"),
    (sg_values, ("uniform", 1.0), {"lo": 0.0, "width": -1.0}, ValueError, "width"),
    (sg_values, ("bernoulli", 1.0), {"lo": 0.0, "width": 1.0, "p": 1.5}, ValueError, "p"),
    (sg_values, ("gaussian", math.nan), {"mean": 0.0, "sd": 1.0}, ValueError, "t"),
    (sg_values, ("gaussian", 1.0), {"mean": 0.0}, TypeError, "parameters"),
    (C.gap_variance, (0.5, 0.0, 1.0, 2, 3, 1.0), {}, ValueError, "tau"),
    (C.gap_variance, (0.5, 1.0, -1.0, 2, 3, 1.0), {}, ValueError, "ck2"),
    (C.chaos_eigenvalues, (0.5, 1.0, 0, 1.0), {}, ValueError, "n"),
    (C.sub_gamma_constants, (0.5, 1.0, 1.0, 2, 3, 1.0), {"side": "both"}, ValueError, "side"),
    (MA.theorem_values, (0, 3, 0.5, 0.5), {}, ValueError, "M"),
    (MA.theorem_values, (3, 3, 1.5, 0.5), {}, ValueError, "p_S"),
]


@pytest.mark.parametrize(("fn", "args", "kw", "err", "name"), INVALID)
def test_invalid_input_names_the_parameter(fn, args, kw, err, name):
    with pytest.raises(err, match=name):
        fn(*args, **kw)
