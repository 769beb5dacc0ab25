"""Rank costs of the linear-Gaussian case study: the bias / rank-bottleneck / variance
decomposition and the rank profile used as design guidance (THEORY §7).

Pure linear algebra on the means and covariances of matrix-normal kernels; the model
(:class:`kdtheory.models.linear.LinearGaussianModel`) supplies them.  These per-dataset
decompositions stay numeric: ``M_S(Y)``, ``M_T(Y)`` are arbitrary matrices (SVDs, generalized
eigenvalues).  The data-averaged rank profile of a spectral teacher, and so :func:`smallest_rank`
on it, comes from the compiled formula ``projection_cost`` of
:mod:`kdtheory.formulas.linear_gaussian` (:meth:`LinearGaussianModel.rank_profile`).

* Weight space (THEORY §7, "Decomposition — weight space"): with ``A_w = M_T Sigma_T^{-1/2}`` and
  singular values ``varsigma_1 >= varsigma_2 >= ...``, a student mean of rank ``<= r`` has
  ``(1/2)||(M_S - M_T) Sigma_T^{-1/2}||_F^2 >= (1/2) sum_{i>r} varsigma_i^2`` (Eckart–Young–Mirsky),
  and when ``M_S Sigma_T^{-1/2}`` lies in the top-r left or right singular subspace of ``A_w``,
  ``KL_Y = bias + rank_bottleneck + variance`` exactly (Pythagoras).
* Label space (THEORY §7, "Decomposition — label space"): the convexity bound
  ``[||(Wbar_T - M)X||_F^2 + k tr(Sigma_T X X^T)]/(2 nu^2)`` against the exact soft-label KL
  ``||(Wbar_T - M)X||_F^2/(2 nu^2) + (1/2) sum_i (l_i/nu^2 - log(1 + l_i/nu^2))``; the rank cost of a
  rank-r map is ``sum_{i>r} sigma_i^2(Wbar_T X) / (2 nu^2)``.
"""

from __future__ import annotations

import math

import numpy as np

from ..divergences import phi
from ..matrix_normal import is_singular
from ..symbols import NONNEGATIVE, check_scalar

__all__ = [
    "sqrt_psd",
    "numerical_rank",
    "tail_sum",
    "truncate",
    "weight_space_decomposition",
    "label_space_decomposition",
    "smallest_rank",
    "SUBSPACE_RTOL",
]

#: Relative tolerance of the subspace condition and of the numerical rank.
SUBSPACE_RTOL = 1e-9


def sqrt_psd(sigma: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Symmetric square root ``Sigma^{1/2}`` (or ``Sigma^{-1/2}``) of an SPD matrix (or of a stack
    of them, leading axes)."""
    w, v = np.linalg.eigh(sigma)
    return (v * (w ** (-0.5 if inverse else 0.5))[..., None, :]) @ np.swapaxes(v, -1, -2)


def numerical_rank(a: np.ndarray, rtol: float = SUBSPACE_RTOL) -> int:
    """Number of singular values above ``rtol`` times the largest (0 for the zero matrix)."""
    if a.size == 0:
        return 0
    s = np.linalg.svd(a, compute_uv=False)
    return int(np.count_nonzero(s > rtol * s[0])) if s[0] > 0 else 0


def tail_sum(values: np.ndarray, r: int) -> float:
    """``sum_{i>r} values_i`` of values sorted in decreasing order (0 if ``r >= len``)."""
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    return float(np.sum(v[r:])) if r < v.size else 0.0


def truncate(a: np.ndarray, r: int) -> np.ndarray:
    """Best rank-r approximation ``[a]_r`` in Frobenius norm (Eckart–Young–Mirsky)."""
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return (u[:, :r] * s[:r]) @ vt[:r]


def _in_top_subspace(b: np.ndarray, a: np.ndarray, r: int, rtol: float) -> bool:
    """Whether the columns of ``b`` lie in the top-r left singular subspace of ``a``, or its rows
    in the top-r right singular subspace (THEORY §7, the condition of the exact identity)."""
    u, _, vt = np.linalg.svd(a, full_matrices=True)
    scale = max(np.linalg.norm(b), np.linalg.norm(a), 1e-300)
    ur, vr = u[:, :r], vt[:r].T
    off_cols = np.linalg.norm(b - ur @ (ur.T @ b))
    off_rows = np.linalg.norm(b - (b @ vr) @ vr.T)
    return bool(min(off_cols, off_rows) <= rtol * scale)


def weight_space_decomposition(
    m_s: np.ndarray, sigma_s: np.ndarray, m_t: np.ndarray, sigma_t: np.ndarray, r: int | None = None
) -> dict:
    """Bias / rank bottleneck / variance of ``KL(MN(M_S, I, Sigma_S) || MN(M_T, I, Sigma_T))``
    (THEORY §7, weight space), with ``r`` the student's rank (default: the numerical rank of
    ``M_S``):

    * ``bias = (1/2)||M_S Sigma_T^{-1/2} - [A_w]_r||_F^2``,
    * ``rank_bottleneck = (1/2) sum_{i>r} varsigma_i^2`` (singular values of ``A_w = M_T Sigma_T^{-1/2}``),
    * ``variance = (k/2)[tr(Sigma_T^-1 Sigma_S) - d - log det(Sigma_T^-1 Sigma_S)]``,
    * ``mean_term = (1/2)||(M_S - M_T) Sigma_T^{-1/2}||_F^2`` and ``kl = mean_term + variance``.

    ``exact`` is True when ``M_S Sigma_T^{-1/2}`` lies in the top-r singular subspace of ``A_w``;
    then ``kl = bias + rank_bottleneck + variance``.  Otherwise only the Eckart–Young lower bound
    ``kl >= rank_bottleneck + variance`` holds (``bias`` is still the distance above).
    ``Sigma_T`` must be positive definite (else the KL is infinite and there is nothing to split).
    """
    k, d = m_t.shape
    if r is None:
        r = numerical_rank(m_s)
    if not (isinstance(r, (int, np.integer)) and 0 <= r <= min(k, d)):
        raise ValueError(f"r must be an integer in [0, {min(k, d)}], got {r!r}")
    if numerical_rank(m_s) > r:
        raise ValueError(f"r = {r} is below the rank {numerical_rank(m_s)} of the student mean")
    root_inv = sqrt_psd(sigma_t, inverse=True)
    a_w = m_t @ root_inv
    b_w = m_s @ root_inv
    sv = np.linalg.svd(a_w, compute_uv=False)
    from scipy import linalg  # imported on first use (start-up time)

    ratio = linalg.eigh(sigma_s, sigma_t, eigvals_only=True)  # eigenvalues of Sigma_T^-1 Sigma_S
    variance = (
        math.inf
        if is_singular(sigma_s)
        else 0.5 * k * float(np.sum(phi(np.clip(ratio, 0.0, None))))
    )
    mean_term = 0.5 * float(np.sum((b_w - a_w) ** 2))
    return {
        "rank": int(r),
        "bias": 0.5 * float(np.sum((b_w - truncate(a_w, r)) ** 2)),
        "rank_bottleneck": 0.5 * tail_sum(sv**2, r),
        "variance": variance,
        "mean_term": mean_term,
        "kl": mean_term + variance,
        "exact": _in_top_subspace(b_w, a_w, r, SUBSPACE_RTOL),
        "singular_values": sv,
    }


def label_space_decomposition(
    wbar_t: np.ndarray, sigma_t: np.ndarray, m: np.ndarray, x: np.ndarray, nu: float, r: int
) -> dict:
    """Label-space costs of a reference map ``M`` of rank ``<= r`` against the teacher's soft labels
    ``Yhat | D ~ MN(Wbar_T X, I_k, nu^2 I_n + X^T Sigma_T X)`` (THEORY §7, label space):

    * ``bias = ||(Wbar_T - M) X||_F^2 / (2 nu^2)``,
    * ``variance = (1/2) sum_i (l_i/nu^2 - log(1 + l_i/nu^2))`` (exact), ``l_i`` the eigenvalues of
      ``(X^T Sigma_T X) ⊗ I_k``, and ``variance_bound = k tr(Sigma_T X X^T) / (2 nu^2)``,
    * ``kl = bias + variance`` (the exact soft-label KL) and ``convexity_bound = bias +
      variance_bound >= kl`` (joint convexity of KL),
    * ``rank_cost = sum_{i>r} sigma_i^2(Wbar_T X) / (2 nu^2) <= bias`` (Eckart–Young; attained by
      ``M = U_r U_r^T Wbar_T``), with ``singular_values`` of ``Wbar_T X``.
    """
    k = wbar_t.shape[0]
    nu2 = nu * nu
    # X^T Sigma_T X = C^T C with C = R^T X, Sigma_T = R R^T: its nonzero eigenvalues are those of
    # the smaller Gram matrix (d x d or n x n); zero eigenvalues add l - log1p(l) = 0
    w, v = np.linalg.eigh(sigma_t)
    c = (v * np.sqrt(np.clip(w, 0.0, None))).T @ x
    gram = c @ c.T if c.shape[0] <= c.shape[1] else c.T @ c
    lam = np.clip(np.linalg.eigvalsh(gram), 0.0, None) / nu2
    variance = 0.5 * k * float(np.sum(lam - np.log1p(lam)))
    bias = float(np.sum(((wbar_t - m) @ x) ** 2)) / (2 * nu2)
    sv = np.linalg.svd(wbar_t @ x, compute_uv=False)
    variance_bound = k * float(np.sum(sigma_t * (x @ x.T))) / (2 * nu2)
    return {
        "rank": int(r),
        "bias": bias,
        "variance": variance,
        "variance_bound": variance_bound,
        "kl": bias + variance,
        "convexity_bound": bias + variance_bound,
        "rank_cost": tail_sum(sv**2, r) / (2 * nu2),
        "singular_values": sv,
    }


def smallest_rank(profile: dict, budget: float, cost: str = "K_n") -> int:
    """The smallest rank ``r`` of a rank profile (see
    :meth:`~kdtheory.models.linear.LinearGaussianModel.rank_profile`) whose ``cost``
    (``"K_n"`` or ``"rank_bottleneck"``) is ``<= budget``.  Both costs vanish at full rank, so a
    rank always exists for ``budget >= 0``."""
    budget = check_scalar("budget", budget, NONNEGATIVE)
    if cost not in ("K_n", "rank_bottleneck"):
        raise ValueError(f"cost must be 'K_n' or 'rank_bottleneck', got {cost!r}")
    values = np.asarray(profile[cost], dtype=float)
    ok = np.flatnonzero(values <= budget)
    if ok.size == 0:  # pragma: no cover - the full-rank cost is exactly 0
        raise ValueError(f"no rank has {cost} <= {budget!r}")
    return int(np.asarray(profile["rank"])[ok[0]])
