"""Matrix-normal laws ``MN(M, I_k, Sigma)`` and their closed-form KL (THEORY §7).

``MatrixNormal(M, Sigma)`` is the law of a ``k x d`` random matrix whose rows are independent,
row ``i`` being ``N(M[i], Sigma)``; equivalently the column-major ``vec W ~ N(vec M, Sigma ⊗ I_k)``.
It exposes ``mean`` (= ``vec M``), ``dim`` (= ``k d``) and ``covariance()`` (= ``Sigma ⊗ I_k``), so the
Monte Carlo twin :func:`kdtheory.divergences.kl_monte_carlo` works for it unchanged.

Importing this module registers the pair ``(MatrixNormal, MatrixNormal)`` in the KL registry of
:mod:`kdtheory.divergences`:

    KL = (k/2) [tr(Sigma_T^-1 Sigma_S) - d - log det(Sigma_T^-1 Sigma_S)] + (1/2) tr(Sigma_T^-1 Delta^T Delta)

with ``Delta = M_S - M_T`` (THEORY §7, ``KL_Y``).  A singular covariance on one side only (a
degenerate or deterministic student, ``Sigma_S = 0``) gives :class:`~kdtheory.divergences.Divergence`
``inf`` with the reason attached (THEORY §7, degenerate students); two singular covariances are
handled on their common support by the Gaussian closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .divergences import (
    Divergence,
    FullGaussian,
    _is_singular,
    gaussian_kl_nonsingular,
    kl,
    register_kl,
)
from .symbols import real_array, short_repr

__all__ = [
    "MatrixNormal",
    "is_singular",
    "real_matrix",
    "psd_matrix",
    "DEGENERATE_STUDENT",
    "DEGENERATE_TEACHER",
]

#: Reason attached to ``KL = inf`` when the first (student) covariance is singular.
DEGENERATE_STUDENT = (
    "the student covariance Sigma_S is singular (a degenerate or deterministic student): its law "
    "is singular w.r.t. the non-degenerate teacher, P_S is not << P_T (THEORY §7); remedies: a "
    "noise floor Sigma_S > 0 or a predictive (label-space) KL"
)
#: Reason attached to ``KL = inf`` when only the second (teacher) covariance is singular.
DEGENERATE_TEACHER = (
    "the teacher covariance Sigma_T is singular and the student's is not: P_S is not << P_T "
    "(THEORY §7)"
)


def is_singular(sigma: np.ndarray) -> bool:
    """True if the PSD matrix ``sigma`` is singular to the registry's relative threshold
    (:data:`kdtheory.divergences.SINGULAR_RTOL`; the zero matrix is singular)."""
    return _is_singular(np.asarray(sigma, dtype=float))  # rescaled: no subnormal eigenvalues


def real_matrix(name: str, value, ndim: int = 2, bound: float = math.inf) -> np.ndarray:
    """A finite real array with ``ndim`` dimensions and entries of magnitude ``<= bound``; errors
    (``TypeError`` for bool, complex, string, masked or non-numeric input, ``ValueError`` for a
    wrong number of dimensions, a non-finite or too large entry) name the parameter."""
    arr = real_array(name, value, f"a real {ndim}-d array")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {short_repr(arr.tolist())}")
    if np.any(np.abs(arr) > bound):
        raise ValueError(
            f"{name} must have entries in [-{bound:g}, {bound:g}] (the supported range), "
            f"got {short_repr(float(arr.flat[np.argmax(np.abs(arr))]))}"
        )
    return arr


def psd_matrix(name: str, value, d: int, bound: float = math.inf) -> np.ndarray:
    """A symmetric positive semi-definite ``d x d`` matrix (validated like FullGaussian's cov),
    entries of magnitude ``<= bound``."""
    s = real_matrix(name, value, bound=bound)
    if s.shape != (d, d):
        raise ValueError(f"{name} must have shape {(d, d)}, got {s.shape}")
    try:
        return FullGaussian(np.zeros(d), s).cov
    except ValueError as exc:
        raise ValueError(
            f"{name}: {exc} (valid domain: symmetric PSD {d} x {d} matrices)"
        ) from None


@dataclass(frozen=True, eq=False)
class MatrixNormal:
    """``MN(M, I_k, Sigma)``: a ``k x d`` matrix with independent rows ``N(M[i], Sigma)`` (THEORY §7).

    ``Sigma`` is symmetric positive semi-definite; a singular ``Sigma`` (e.g. ``0``, a
    deterministic matrix) is allowed and gives ``KL = inf`` against a non-singular law.
    """

    M: np.ndarray
    Sigma: np.ndarray

    def __post_init__(self):
        m = real_matrix("M", self.M)
        object.__setattr__(self, "M", m)
        object.__setattr__(self, "Sigma", psd_matrix("Sigma", self.Sigma, m.shape[1]))

    @property
    def shape(self) -> tuple[int, int]:
        return self.M.shape

    @property
    def dim(self) -> int:
        """``k d``, the dimension of ``vec W``."""
        return self.M.size

    @property
    def mean(self) -> np.ndarray:
        """``vec M`` (column-major), the mean of ``vec W``."""
        return self.M.ravel(order="F")

    def covariance(self) -> np.ndarray:
        """``Sigma ⊗ I_k``, the covariance of the column-major ``vec W``."""
        return np.kron(self.Sigma, np.eye(self.M.shape[0]))

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` draws, shape ``(size, k, d)``."""
        w, v = np.linalg.eigh(self.Sigma)
        root = v * np.sqrt(np.clip(w, 0.0, None))
        k, d = self.M.shape
        return self.M + rng.standard_normal((size, k, d)) @ root.T

    def __repr__(self) -> str:
        return f"MatrixNormal(M={self.M.tolist()!r}, Sigma={self.Sigma.tolist()!r})"


@register_kl(MatrixNormal, MatrixNormal)
def _kl_mn_mn(p: MatrixNormal, q: MatrixNormal) -> Divergence:
    """``(k/2)[tr(Sq^-1 Sp) - d - log det(Sq^-1 Sp)] + (1/2) tr(Sq^-1 Delta^T Delta)`` (THEORY §7)
    in the cancellation-free form ``(k/2) sum_i phi(lam_i) + (1/2)||L^-1 Delta^T||_F^2`` over the
    eigenvalues of the pencil ``(Sp, Sq)``, ``lam_i - 1`` taken from the whitened difference
    ``Sp - Sq`` (:func:`kdtheory.divergences.gaussian_kl_nonsingular`: exact for nearly equal
    covariances, any scale, extended-precision fallback when ill-conditioned); singular
    covariances give ``inf`` with the reason."""
    if p.shape != q.shape:
        raise ValueError(f"shape mismatch: p is {p.shape[0]} x {p.shape[1]}, q is {q.shape}")
    sing_p, sing_q = is_singular(p.Sigma), is_singular(q.Sigma)
    if sing_p and not sing_q:
        return Divergence(math.inf, DEGENERATE_STUDENT)
    if sing_q and not sing_p:
        return Divergence(math.inf, DEGENERATE_TEACHER)
    if sing_p and sing_q:  # compare the supports of vec W (the Gaussian registry does this)
        return kl(FullGaussian(p.mean, p.covariance()), FullGaussian(q.mean, q.covariance()))
    return gaussian_kl_nonsingular((p.M - q.M).T, p.Sigma, q.Sigma, rows=p.shape[0])
