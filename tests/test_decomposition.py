"""The bias / rank-bottleneck / variance decomposition and the rank profile (THEORY §7)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdtheory import LinearGaussianModel, MatrixNormal
from kdtheory.audit.linear_cases import build_linear_case
from kdtheory.divergences import kl
from kdtheory.models import smallest_rank
from kdtheory.models.rank import sqrt_psd, tail_sum, truncate
from kdtheory.strategies import hypothesis_source

seeds = st.integers(0, 2**32 - 1)
TOL = 1e-10  # the Pythagoras identity, relative to the size of the terms


@st.composite
def cases_with_labels(draw, student_kinds=None):
    kw = {"student_kinds": student_kinds} if student_kinds else {}
    case = build_linear_case(hypothesis_source(draw), **kw)
    y = case.model.simulate_labels(1, np.random.default_rng(draw(seeds)))[0]
    return case, y


def _whitened_svd(model, teacher, y):
    root_inv = sqrt_psd(teacher.Sigma, inverse=True)
    return np.linalg.svd(teacher.mean(y) @ root_inv)


def _random_spd(rng, d):
    low = rng.uniform(-1, 1, (d, d))
    return math.exp(rng.uniform(-1.5, 1.5)) * (np.eye(d) + low @ low.T)


@given(cases_with_labels(), seeds, st.sampled_from(["columns", "rows"]))
def test_pythagoras_identity_in_the_top_r_subspace(case_y, seed, side):
    """KL_Y = bias + rank_bottleneck + variance to 1e-10 when M_S Sigma_T^{-1/2} lies in the top-r
    left (columns) or right (rows) singular subspace of A_w = M_T Sigma_T^{-1/2} (any Sigma_S)."""
    (case, y), rng = case_y, np.random.default_rng(seed)
    model, teacher = case.model, case.teacher
    u, _, vt = _whitened_svd(model, teacher, y)
    r = int(rng.integers(0, min(model.k, model.d) + 1))
    c = rng.normal(size=(r, model.d) if side == "columns" else (model.k, r))
    whitened = u[:, :r] @ c if side == "columns" else c @ vt[:r]
    mean = whitened @ sqrt_psd(teacher.Sigma)
    # a data-independent student whose mean is that matrix (P = 0, H = 0, B = mean)
    student = model.kernel(
        H=np.zeros((model.n, model.d)),
        Sigma=_random_spd(rng, model.d),
        P=np.zeros((model.k, model.k)),
        B=mean,
    )
    dec = model.decomposition(student, teacher, y, rank=r)
    assert dec["exact"]
    total = dec["bias"] + dec["rank_bottleneck"] + dec["variance"]
    exact = model.kl_given_data(student, teacher, y)  # the registry's MatrixNormal closed form
    assert abs(dec["kl"] - exact) <= TOL * max(exact, 1.0)
    assert abs(total - exact) <= TOL * max(total, 1.0)


@given(cases_with_labels(student_kinds=("output-projection", "input-projection", "best-rank")))
def test_no_rank_r_student_beats_the_eckart_young_tail(case_y):
    """For fixed-subspace rank-r students: KL_Y >= rank_bottleneck + variance, the mean term is at
    least the tail (1/2) sum_{i>r} varsigma_i^2, and bias + rank_bottleneck + variance = KL_Y exactly
    whenever the decomposition reports ``exact``."""
    (case, y) = case_y
    model, s, t = case.model, case.student, case.teacher
    dec = model.decomposition(s, t, y)
    exact = model.kl_given_data(s, t, y)
    assert dec["kl"] == pytest.approx(exact, rel=TOL, abs=1e-12)
    assert dec["mean_term"] >= dec["rank_bottleneck"] * (1 - 1e-12) - 1e-12
    assert exact >= (dec["rank_bottleneck"] + dec["variance"]) * (1 - 1e-12) - 1e-12
    if dec["exact"]:
        total = dec["bias"] + dec["rank_bottleneck"] + dec["variance"]
        assert total == pytest.approx(exact, rel=TOL, abs=1e-12)


@given(cases_with_labels(), seeds)
def test_random_rank_r_means_pay_the_eckart_young_tail(case_y, seed):
    """Any student whose mean M_S(Y) = L R has rank <= r (L k x r, R r x d random, any Sigma_S):
    (1/2)||(M_S - M_T) Sigma_T^{-1/2}||^2 >= (1/2) sum_{i>r} varsigma_i^2 and KL_Y >= tail + variance."""
    (case, y), rng = case_y, np.random.default_rng(seed)
    model, teacher = case.model, case.teacher
    r = int(rng.integers(0, min(model.k, model.d) + 1))
    scale = math.exp(rng.uniform(-2, 2))
    mean = scale * rng.normal(size=(model.k, r)) @ rng.normal(size=(r, model.d))
    student = model.kernel(
        H=np.zeros((model.n, model.d)),
        Sigma=_random_spd(rng, model.d),
        P=np.zeros((model.k, model.k)),
        B=mean,
    )
    dec = model.decomposition(student, teacher, y, rank=r)
    assert dec["mean_term"] >= dec["rank_bottleneck"] * (1 - 1e-12) - 1e-12
    exact = model.kl_given_data(student, teacher, y)
    assert exact >= (dec["rank_bottleneck"] + dec["variance"]) * (1 - 1e-12) - 1e-12


def test_identity_fails_without_the_subspace_condition():
    """Negative control (THEORY §7): a rank-1 student off the top singular subspace has
    bias + rank_bottleneck + variance != KL_Y, and the flag says so."""
    model = LinearGaussianModel(
        np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), np.array([[1.0, 0.3], [0.2, 2.0]]), 0.5
    )
    teacher = model.bayes_teacher(lam=0.1)
    y = model.W_star @ model.X
    student = model.output_projection_student(teacher, np.array([[1.0], [0.0]]))
    dec = model.decomposition(student, teacher, y)
    assert not dec["exact"] and dec["rank"] == 1
    residual = dec["kl"] - (dec["bias"] + dec["rank_bottleneck"] + dec["variance"])
    assert abs(residual) > 1e-3
    assert dec["kl"] >= dec["rank_bottleneck"] + dec["variance"]


@given(cases_with_labels())
def test_label_space_convexity_bound_and_exact_kl(case_y):
    """Exact soft-label KL (= the registry's MatrixNormal KL of the soft-label law) <= convexity
    bound; the rank cost of the student's rank <= the label-space bias."""
    (case, y) = case_y
    model, s, t = case.model, case.student, case.teacher
    lab = model.decomposition(s, t, y)["label"]
    reference = MatrixNormal(s.mean(y) @ model.X, model.nu**2 * np.eye(model.n))
    exact = kl(model.soft_label_law(t, y), reference)
    assert lab["kl"] == pytest.approx(exact, rel=1e-9, abs=1e-12)
    assert lab["convexity_bound"] >= lab["kl"]
    assert lab["variance_bound"] >= lab["variance"] >= 0.0
    assert lab["bias"] >= lab["rank_cost"] * (1 - 1e-12) - 1e-12


@given(cases_with_labels(), seeds)
def test_data_weighted_truncation_attains_the_rank_cost(case_y, seed):
    """min over rank-r M of ||(Wbar_T - M) X||_F^2 = sum_{i>r} sigma_i^2(Wbar_T X), attained by
    U_r U_r^T Wbar_T; truncating Wbar_T itself is never better."""
    (case, y), rng = case_y, np.random.default_rng(seed)
    model, t = case.model, case.teacher
    wbar, x = t.mean(y), model.X
    r = int(rng.integers(0, min(model.k, model.d) + 1))
    u = np.linalg.svd(wbar @ x)[0][:, :r]
    best = float(np.sum(((wbar - u @ u.T @ wbar) @ x) ** 2))
    tail = tail_sum(np.linalg.svd(wbar @ x, compute_uv=False) ** 2, r)
    assert best == pytest.approx(tail, rel=1e-9, abs=1e-12)
    naive = float(np.sum(((wbar - truncate(wbar, r)) @ x) ** 2))
    assert naive >= tail * (1 - 1e-12) - 1e-12
    lab = model.decomposition(model.output_projection_student(t, u), t, y, rank=r)["label"]
    assert lab["rank_cost"] == pytest.approx(tail / (2 * model.nu**2), rel=1e-9, abs=1e-12)


def test_isotropic_design_makes_the_two_truncations_agree():
    """X X^T = c I: sigma_i^2(Wbar X) = c sigma_i^2(Wbar) (THEORY §7)."""
    x = 2.0 * np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]]) / math.sqrt(2)
    wbar = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    c = (x @ x.T)[0, 0]
    assert np.allclose(x @ x.T, c * np.eye(2))
    sv2 = np.linalg.svd(wbar @ x, compute_uv=False) ** 2  # 3 values: the last one is 0
    assert np.allclose(sv2[:2], c * np.linalg.svd(wbar, compute_uv=False) ** 2, rtol=1e-12)
    assert sv2[2] <= 1e-24 * sv2[0]


# -- the rank profile (design guidance) --------------------------------------------------------------


@given(cases_with_labels())
def test_rank_profile_is_attained_and_ordered(case_y):
    """K_n[r] is the exact K_n of best_rank_student(r); K_n >= rank_bottleneck >= 0; both are
    non-increasing in r and vanish at r = min(k, d); K_n[0] is the zero-mean student's."""
    (case, _) = case_y
    model, t = case.model, case.teacher
    prof = model.rank_profile(t)
    full = min(model.k, model.d)
    assert set(prof) >= {"rank", "rank_bottleneck", "K_n"}
    assert np.array_equal(prof["rank"], np.arange(full + 1))
    assert prof["K_n"][-1] == 0.0 and prof["rank_bottleneck"][-1] == 0.0
    assert np.all(np.diff(prof["K_n"]) <= 1e-12 * prof["K_n"][0])
    assert np.all(
        np.diff(prof["rank_bottleneck"]) <= 1e-12 * max(prof["rank_bottleneck"][0], 1e-300)
    )
    assert np.all(prof["K_n"] >= prof["rank_bottleneck"] * (1 - 1e-12) - 1e-12)
    for r in prof["rank"]:
        k_n = model.distillation_divergence(model.best_rank_student(t, int(r)), t)
        assert k_n == pytest.approx(prof["K_n"][r], rel=1e-9, abs=1e-12 * prof["K_n"][0])
    zero = model.kernel(
        H=np.zeros((model.n, model.d)), Sigma=t.Sigma, P=np.zeros((model.k, model.k))
    )
    assert prof["K_n"][0] == pytest.approx(model.distillation_divergence(zero, t), rel=1e-9)


@given(cases_with_labels(student_kinds=("output-projection", "input-projection")))
def test_no_fixed_projection_beats_the_rank_profile(case_y):
    """A random fixed-subspace projection student of rank r has K_n >= rank_profile K_n[r]."""
    (case, _) = case_y
    model, s, t = case.model, case.student, case.teacher
    side = case.params["student"]["kind"]
    basis = np.asarray(case.params["student"]["U" if side == "output-projection" else "V"])
    r = min(basis.shape[1], min(model.k, model.d))
    prof = model.rank_profile(t)
    k_n = model.distillation_divergence(s, t)
    assert k_n >= prof["K_n"][r] * (1 - 1e-10) - 1e-12
    # its data-averaged mean has rank <= r, so its offset term pays the rank bottleneck
    offset = model.divergence_parts(s, t)["offset"]
    assert offset >= prof["rank_bottleneck"][r] * (1 - 1e-10) - 1e-12


def test_smallest_rank_under_a_budget():
    model = LinearGaussianModel(
        np.array([[1.0, 0.2, -0.5, 1.0], [0.0, 1.0, 1.0, -1.0], [0.5, 0.5, 0.0, 1.0]]),
        np.array([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.1]]),
        0.3,
    )
    teacher = model.bayes_teacher()
    prof = model.rank_profile(teacher)
    for cost in ("K_n", "rank_bottleneck"):
        for budget in [0.0, *prof[cost], 1e9]:
            r = smallest_rank(prof, budget, cost=cost)
            assert prof[cost][r] <= budget
            assert r == 0 or prof[cost][r - 1] > budget


@pytest.mark.parametrize(
    ("budget", "cost", "error", "match"),
    [
        (-1.0, "K_n", ValueError, r"budget must lie in \[0, inf\]"),
        (math.nan, "K_n", ValueError, "budget must lie"),
        ("x", "K_n", TypeError, "budget must be a real"),
        (1.0, "variance", ValueError, "cost must be 'K_n' or 'rank_bottleneck'"),
    ],
)
def test_smallest_rank_invalid(budget, cost, error, match):
    prof = {"rank": np.arange(2), "K_n": np.array([1.0, 0.0]), "rank_bottleneck": np.zeros(2)}
    with pytest.raises(error, match=match):
        smallest_rank(prof, budget, cost=cost)


def test_decomposition_invalid_rank():
    model = LinearGaussianModel(np.eye(2), np.eye(2), 1.0)
    t = model.bayes_teacher()
    y = model.W_star @ model.X
    with pytest.raises(ValueError, match=r"r must be an integer in \[0, 2\]"):
        model.decomposition(t, t, y, rank=3)
    with pytest.raises(ValueError, match="below the rank"):
        model.decomposition(t, t, y, rank=1)
