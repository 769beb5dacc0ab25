"""Matrix-normal laws MN(M, I_k, Sigma) and their registered KL (THEORY §7)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdtheory.divergences import (
    Divergence,
    FullGaussian,
    kl,
    kl_monte_carlo,
    register_kl,
    registered_pairs,
)
from kdtheory.matrix_normal import DEGENERATE_STUDENT, DEGENERATE_TEACHER, MatrixNormal

#: Monte Carlo agreement: 4 standard errors (THEORY §9 convention for simulation twins)
N_SE = 4.0


@st.composite
def mn_pairs(draw):
    """Two matrix-normal laws of the same shape; covariances scale (I + L L^T), log-uniform scale."""
    k = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3))
    floats = st.floats(-1.0, 1.0, allow_nan=False)
    scales = st.floats(math.log(0.2), math.log(5.0)).map(math.exp)

    def law():
        m = np.array(draw(st.lists(floats, min_size=k * d, max_size=k * d))).reshape(k, d)
        low = np.array(draw(st.lists(floats, min_size=d * d, max_size=d * d))).reshape(d, d)
        return MatrixNormal(m, draw(scales) * (np.eye(d) + low @ low.T))

    return law(), law(), draw(st.integers(0, 2**32 - 1))


def test_pair_is_registered_and_duplicate_refused():
    assert (MatrixNormal, MatrixNormal) in registered_pairs()
    with pytest.raises(ValueError, match="already registered"):
        register_kl(MatrixNormal, MatrixNormal)(lambda p, q: 0.0)


@given(mn_pairs())
def test_closed_form_matches_monte_carlo_twin(pair):
    """KL(MN || MN) closed form within 4 standard errors of the registry's Monte Carlo twin."""
    p, q, seed = pair
    exact = kl(p, q)
    est, se = kl_monte_carlo(p, q, 4000, np.random.default_rng(seed))
    assert abs(est - exact) <= N_SE * se + 1e-12


@given(mn_pairs())
def test_closed_form_equals_vectorised_gaussian_kl(pair):
    """KL of MN(M, I_k, Sigma) = KL of vec W ~ N(vec M, Sigma ⊗ I_k) (the FullGaussian closed form)."""
    p, q, _ = pair
    vec = kl(FullGaussian(p.mean, p.covariance()), FullGaussian(q.mean, q.covariance()))
    assert kl(p, q) == pytest.approx(vec, rel=1e-10, abs=1e-12)
    assert kl(p, q) >= 0.0
    assert kl(p, p) == pytest.approx(0.0, abs=1e-12)


@given(mn_pairs())
def test_sample_moments(pair):
    """MatrixNormal.sample: entrywise means within 4 standard errors of M."""
    p, _, seed = pair
    draws = p.sample(3000, np.random.default_rng(seed))
    assert draws.shape == (3000, *p.shape)
    se = draws.std(axis=0, ddof=1) / math.sqrt(3000)
    assert np.all(np.abs(draws.mean(axis=0) - p.M) <= N_SE * se + 1e-12)


def test_degenerate_student_and_teacher_give_inf_with_reason():
    m = np.array([[1.0, 2.0], [0.0, -1.0]])
    regular = MatrixNormal(m, np.eye(2))
    deterministic = MatrixNormal(m, np.zeros((2, 2)))  # a deterministic student
    rank_one = MatrixNormal(m, np.array([[1.0, 1.0], [1.0, 1.0]]))
    for student in (deterministic, rank_one):
        out = kl(student, regular)
        assert isinstance(out, Divergence) and out == math.inf
        assert out.reason == DEGENERATE_STUDENT
    out = kl(regular, deterministic)
    assert out == math.inf and out.reason == DEGENERATE_TEACHER
    # both singular: finite only on a common support
    assert kl(deterministic, deterministic) == 0.0
    other = kl(deterministic, MatrixNormal(m + 1.0, np.zeros((2, 2))))
    assert other == math.inf and "not << Q" in other.reason
    assert kl_monte_carlo(deterministic, regular, 10, np.random.default_rng(0)) == (math.inf, 0.0)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: MatrixNormal(np.ones(3), np.eye(3)), ValueError, "M must be a 2-d array"),
        (lambda: MatrixNormal([[np.nan]], [[1.0]]), ValueError, "M must be finite"),
        (lambda: MatrixNormal("M", [[1.0]]), TypeError, "M must be a real"),
        (lambda: MatrixNormal(np.ones((2, 2)), np.eye(3)), ValueError, "Sigma must have shape"),
        (lambda: MatrixNormal(np.ones((1, 2)), [[1, 0.5], [0, 1]]), ValueError, "Sigma.*symmetric"),
        (lambda: MatrixNormal(np.ones((1, 2)), -np.eye(2)), ValueError, "Sigma.*semi-definite"),
        (lambda: MatrixNormal(np.ones((1, 1)), None), TypeError, "Sigma must be a real"),
        (
            lambda: kl(
                MatrixNormal(np.ones((2, 3)), np.eye(3)), MatrixNormal(np.ones((3, 2)), np.eye(2))
            ),
            ValueError,
            "shape mismatch",
        ),
        (
            lambda: kl(
                MatrixNormal(np.ones((2, 2)), np.eye(2)), MatrixNormal(np.ones((1, 2)), np.eye(2))
            ),
            ValueError,
            "dimension mismatch",
        ),
    ],
)
def test_invalid_inputs(make, error, match):
    with pytest.raises(error, match=match):
        make()


@given(mn_pairs(), st.floats(math.log(1e-12), math.log(1e-4)).map(math.exp))
def test_nearly_equal_covariances_keep_full_relative_accuracy(pair, eps):
    """``Sigma_S = (1 + eps) Sigma_T``, equal means: KL = (k d / 2) phi(1 + eps) exactly for the
    exact scalar multiple; the float ``(1 + eps) Sigma_T`` rounds each entry, so compare with the
    60-digit definition ``(k/2)[tr(St^-1 Ss) - d - log det(St^-1 Ss)]`` on the float inputs,
    1e-10 relative (the old double form lost all digits below eps ~ 1e-8)."""
    import mpmath

    _, q, _ = pair
    p = MatrixNormal(q.M, (1 + eps) * q.Sigma)
    k, d = q.shape
    with mpmath.workdps(60):
        a = mpmath.inverse(mpmath.matrix(q.Sigma.tolist())) * mpmath.matrix(p.Sigma.tolist())
        trace = mpmath.fsum(a[i, i] for i in range(d))
        ref = k * (trace - d - mpmath.log(mpmath.det(a))) / 2
    assert abs(mpmath.mpf(float(kl(p, q))) - ref) <= 1e-10 * ref
