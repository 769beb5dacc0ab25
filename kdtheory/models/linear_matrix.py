"""Model C's matrix path (THEORY §7) on stacks of cases: the kernel constructors in matrix form
and the trace forms of ``gen``, ``dgen``, ``K_n`` and ``Esigma2``.

Every function takes arrays with common leading batch dimensions -- a single case has none, a
stack of ``c`` cases of one shape ``(k, d, n)`` has one -- and does no validation: the callers
are :class:`~kdtheory.models.linear.LinearGaussianModel` (one validated case; its kernels outside
the spectral family, and the matrix pieces of its constructors) and the audit's vectorised
sampler (:func:`kdtheory.audit.linear_cases.linear_array_batch`, stacks of drawn cases).  So the
matrix algebra of THEORY §7 is written once.

A kernel is a tuple ``(P, H, B, Sigma)`` (``k x k``, ``n x d``, ``k x d``, ``d x d``) for
``W | Y ~ MN(P Y H + B, I_k, Sigma)``; ``x`` is the design (``d x n``), ``w_star`` is ``k x d``;
per-case scalars (``nu``, ``gamma``, ...) have the batch shape.

Numerics (the reasons are the ones of the single-case code before it moved here):

* no explicit inverse: Cholesky factors and solves; a triangular solve is LAPACK's ``trsm`` for
  one case and ``numpy.linalg.solve`` for a stack (scipy's triangular solve loops over a stack
  in Python);
* every student-teacher difference (``P_S - P_T``, ``H_S - H_T``, ``B_S - B_T``) is formed from
  the stored matrices *before* anything is multiplied or whitened, so ``dgen`` and every part of
  ``K_n`` are accurate relative to the *same* stored kernel pair: for that pair Theorem U1 holds
  exactly, and the computed sides differ from the exact ones by rounding relative to the
  right-hand side (``dgen``: see :func:`dgen`), never by the rounding of two totals.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ..divergences import phi
from .rank import sqrt_psd

__all__ = [
    "transpose",
    "lower_solve",
    "projector",
    "gibbs_parts",
    "gibbs",
    "kd_student",
    "tilt_student",
    "output_projection",
    "input_projection",
    "second_moments",
    "gen",
    "dgen",
    "divergence_parts",
    "conditional_proxy",
    "kron_difference_norm2",
]


def transpose(a: np.ndarray) -> np.ndarray:
    """The transpose of the last two axes."""
    return np.swapaxes(a, -1, -2)


def _s(x):
    """A per-case scalar as ``(..., 1, 1)`` (broadcasts against a stack of matrices)."""
    return np.asarray(x, dtype=float)[..., None, None]


def _eye(m: int, like: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.eye(m), (*like.shape[:-2], m, m))


def _trace(a: np.ndarray) -> np.ndarray:
    return np.trace(a, axis1=-2, axis2=-1)


def lower_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``L^-1 b`` for a lower-triangular ``L`` (``trsm`` for one case; ``numpy.linalg.solve``, an LU
    of the triangular matrix and as backward stable, for a stack)."""
    if chol.ndim == 2:
        return linalg.solve_triangular(chol, b, lower=True, check_finite=False)
    return np.linalg.solve(chol, b)


def _cho_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(L L^T)^-1 b``."""
    if chol.ndim == 2:
        return linalg.cho_solve((chol, True), b, check_finite=False)
    return np.linalg.solve(transpose(chol), np.linalg.solve(chol, b))


def projector(basis: np.ndarray) -> np.ndarray:
    """The orthogonal projector onto the span of the columns of ``basis`` (``dim x r``, full
    column rank): ``0`` for ``r = 0``, exactly ``I`` for ``r = dim`` (not a rounded identity),
    else ``Q Q^T`` from a thin QR."""
    dim, r = basis.shape[-2:]
    if r == 0:
        return np.zeros((*basis.shape[:-2], dim, dim))
    if r == dim:
        return np.array(_eye(dim, basis))
    q = np.linalg.qr(basis)[0]
    return q @ transpose(q)


# -- kernels (THEORY §7, constructors) -------------------------------------------------------
def gibbs_parts(x: np.ndarray, gamma, lam):
    """``Sigma = (lam I + (2 gamma/n) X X^T)^-1`` and ``G = (2 gamma/n) X^T Sigma`` from one
    Cholesky factor of the precision (``G^T = (2 gamma/n) solve(prec, X)``, a solve, not a
    product with the computed inverse).  ``numpy.linalg.LinAlgError`` if a precision is not
    numerically positive definite."""
    d, n = x.shape[-2:]
    c = _s(2 * np.asarray(gamma, dtype=float) / n)
    prec = _s(lam) * _eye(d, x) + c * (x @ transpose(x))
    chol = np.linalg.cholesky(prec)
    sigma = _cho_solve(chol, np.array(_eye(d, x)))
    g = c * transpose(_cho_solve(chol, x))
    return (sigma + transpose(sigma)) / 2, g


def gibbs(x: np.ndarray, gamma, lam, m0: np.ndarray):
    """The Gibbs kernel ``P = I``, ``H = (2 gamma/n) X^T Sigma``, ``B = lam M0 Sigma``,
    ``Sigma = (lam I + (2 gamma/n) X X^T)^-1`` (THEORY §7; the tempered Bayes teacher is
    ``gamma = n / (2 nu^2 T)``)."""
    sigma, g = gibbs_parts(x, gamma, lam)
    k = m0.shape[-2]
    return np.array(_eye(k, m0)), g, _s(lam) * (m0 @ sigma), sigma


def kd_student(x, teacher, alpha, gamma, lam, m0, teacher_sample, p=1.0):
    """The KD student of a teacher with ``P_T = p I`` (THEORY §7):
    ``H_S = alpha G + (1-alpha) p H_T X G``, ``B_S = (1-alpha) B_T X G + lam M0 Sigma_0``,
    ``Sigma_S = Sigma_0`` plus ``(1-alpha)^2 G^T X^T Sigma_T X G`` where ``teacher_sample``
    (per case), with ``Sigma_0``, ``G`` of :func:`gibbs_parts`; ``P_S = I``."""
    _, h_t, b_t, sigma_t = teacher
    sigma0, g = gibbs_parts(x, gamma, lam)
    xg = x @ g  # d x d: no n x n product anywhere (O(d^2 n))
    one_minus = _s(1 - np.asarray(alpha, dtype=float))
    h = _s(alpha) * g + (one_minus * _s(p)) * (h_t @ xg)
    b = one_minus * (b_t @ xg) + _s(lam) * (m0 @ sigma0)
    sampled = (one_minus * one_minus) * (transpose(xg) @ sigma_t @ xg)
    sigma = sigma0 + np.where(_s(teacher_sample) > 0, sampled, 0.0)
    k = b_t.shape[-2]
    return np.array(_eye(k, b_t)), h, b, sigma


def tilt_student(x, w_star, teacher, kappa, p=1.0):
    """The tilt ``M_S(Y) = M_T(Y) + (kappa/n)(Y - W* X) X^T Sigma_T``, ``Sigma_S = Sigma_T`` of a
    teacher with ``P_T = p I`` (THEORY §7): ``H_S = p H_T + D``, ``B_S = B_T - W* X D`` with
    ``D = (kappa/n) X^T Sigma_T``, ``P_S = I``."""
    _, h_t, b_t, sigma_t = teacher
    n = x.shape[-1]
    d_h = _s(np.asarray(kappa, dtype=float) / n) * (transpose(x) @ sigma_t)
    k = b_t.shape[-2]
    return np.array(_eye(k, b_t)), _s(p) * h_t + d_h, b_t - w_star @ x @ d_h, sigma_t


def output_projection(teacher, q: np.ndarray, sigma=None):
    """``M_S(Y) = Q M_T(Y)`` for the projector ``q`` (k x k): ``P_S = Q P_T``, ``B_S = Q B_T``,
    ``H_S = H_T``, ``Sigma_S = Sigma`` (default ``Sigma_T``; THEORY §7)."""
    p_t, h_t, b_t, sigma_t = teacher
    return q @ p_t, h_t, q @ b_t, sigma_t if sigma is None else sigma


def input_projection(teacher, q: np.ndarray, sigma=None):
    """``M_S(Y) Sigma_T^{-1/2} = M_T(Y) Sigma_T^{-1/2} Q`` for the projector ``q`` (d x d):
    ``H_S = H_T Pi``, ``B_S = B_T Pi`` with ``Pi = Sigma_T^{-1/2} Q Sigma_T^{1/2}`` (``Pi = I``
    exactly when ``q`` is exactly ``I``), ``Sigma_S = Sigma`` (default ``Sigma_T``)."""
    p_t, h_t, b_t, sigma_t = teacher
    d = q.shape[-1]
    if np.array_equal(q, _eye(d, q)):
        pi = q
    else:
        w, v = np.linalg.eigh(sigma_t)
        root = np.sqrt(w)[..., None, :]
        pi = ((v / root) @ transpose(v)) @ q @ ((v * root) @ transpose(v))
    return p_t, h_t @ pi, b_t @ pi, sigma_t if sigma is None else sigma


def second_moments(x, w_star, nu, teacher):
    """``Abar = E_Y[M_T] Sigma_T^{-1/2}``, ``S_out = E[A_w A_w^T]``, ``S_in = E[A_w^T A_w]`` with
    ``A_w = M_T(Y) Sigma_T^{-1/2}`` (``E[E C E^T] = nu^2 tr(C) I``; THEORY §7, the rank profile)."""
    p_t, h_t, b_t, sigma_t = teacher
    root_inv = sqrt_psd(sigma_t, inverse=True)
    abar = (p_t @ w_star @ x @ h_t + b_t) @ root_inv
    hw = h_t @ root_inv
    nu2 = _s(nu) ** 2
    s_out = abar @ transpose(abar) + nu2 * _s(np.sum(hw * hw, axis=(-2, -1))) * (
        p_t @ transpose(p_t)
    )
    s_in = transpose(abar) @ abar + nu2 * _s(np.sum(p_t * p_t, axis=(-2, -1))) * (
        transpose(hw) @ hw
    )
    return abar, s_out, s_in


# -- exact quantities (THEORY §7, trace forms) -----------------------------------------------
def gen(x, nu, kern):
    """``gen = (2 nu^2 / n) tr(P) tr(H X)``."""
    p, h = kern[0], kern[1]
    n = x.shape[-1]
    return 2 * np.asarray(nu, dtype=float) ** 2 / n * _trace(p) * _trace(h @ x)


def dgen(x, nu, student, teacher):
    """``gen_S - gen_T = (2 nu^2/n) [tr(P_S - P_T) tr(H_S X) + tr(P_T) tr((H_S - H_T) X)]``, the
    differences of the stored matrices taken first (a student equal to its teacher gives exactly
    0).  Its rounding error is below a small multiple of ``eps`` times the right-hand side of
    Theorem U1 for the same pair: by Cauchy-Schwarz ``sum |(H_S - H_T)_ij X_ji| <=
    ||(H_S - H_T) Sigma_T^{-1/2}||_F ||Sigma_T^{1/2} X||_F``, and ``sqrt(2 Esigma2 K_n)`` is at
    least ``(2 nu^2 k / n)`` times that product (estimation part of ``K_n``), so the theorem's
    relative tolerance covers it (the difference of two computed totals would not: its error is
    ``eps gen_T``, independent of the pair)."""
    p_s, h_s = student[0], student[1]
    p_t, h_t = teacher[0], teacher[1]
    n = x.shape[-1]
    return (
        2
        * np.asarray(nu, dtype=float) ** 2
        / n
        * (_trace(p_s - p_t) * _trace(h_s @ x) + _trace(p_t) * _trace((h_s - h_t) @ x))
    )


def kron_difference_norm2(a_diff, a_t, p_s, p_t):
    """``||A_S ⊗ P_S - A_T ⊗ P_T||_F^2`` from ``a_diff = A_S - A_T``, ``A_T``, ``P_S``, ``P_T``,
    without forming a Kronecker product.

    With ``a = vec A`` and ``p = vec P`` the Kronecker difference has the entries of the rank-2
    matrix ``a_S p_S^T - a_T p_T^T = U V^T``, ``U = [a_S - a_T, a_T]``, ``V = [p_S, p_S - p_T]``, so
    its squared norm is ``||R_U R_V^T||_F^2`` with ``R_U``, ``R_V`` the 2 x 2 triangular factors
    of thin Householder QRs (O(size) work).  Expanding instead into the trace form of THEORY §7,
    ``||A_S||^2 ||P_S||^2 - 2 <A_S, A_T> <P_S, P_T> + ||A_T||^2 ||P_T||^2``, cancels catastrophically
    when the student is close to the teacher (absolute error ``eps ||A||^2 ||P||^2``); the QR form
    is backward stable in ``(a_diff, A_T, P_S, P_T)``, and exact differences stay exact: ``P_S = P_T``
    gives ``||A_S - A_T||^2 ||P_S||^2``."""
    batch = a_t.shape[:-2]

    def flat(m):
        return m.reshape(*batch, -1)

    u = np.stack([flat(a_diff), flat(a_t)], axis=-1)
    v = np.stack([flat(p_s), flat(p_s - p_t)], axis=-1)
    m = np.linalg.qr(u, mode="r") @ transpose(np.linalg.qr(v, mode="r"))
    return np.sum(m * m, axis=(-2, -1))


def divergence_parts(x, w_star, nu, student, teacher, spread: bool = True) -> dict:
    """``K_n`` split into offset, estimation and spread (THEORY §7) in trace form, with the
    Cholesky factor ``Sigma_T = L L^T`` (no Kronecker product, no explicit inverse;
    O(d^3 + d^2 (n + k) + k^2 d) per case):

    * offset ``(1/2)||L^-1 Dbar^T||_F^2``, ``Dbar = E_Y[M_S(Y) - M_T(Y)] = P_S W* X (H_S - H_T) +
      (P_S - P_T) W* X H_T + (B_S - B_T)`` (differences first);
    * estimation ``(nu^2/2)||G_S ⊗ P_S - G_T ⊗ P_T||_F^2`` with ``G = L^-1 H^T``, by
      :func:`kron_difference_norm2` from ``L^-1 (H_S - H_T)^T`` (the difference whitened, not
      the two separately: a whitening error ~ cond(L) eps ||L^-1 H^T|| would swamp a small
      difference) and ``G_T``;
    * spread ``(k/2) sum_i phi(r_i)`` over the eigenvalues of the pencil ``(Sigma_S, Sigma_T)``,
      i.e. of ``L^-1 Sigma_S L^-T`` (the sum of ``phi`` is free of the cancellation of
      ``tr - d - log det``).  ``spread=False`` leaves it out (a singular ``Sigma_S``: the caller
      sets ``inf``).

    ``Sigma_T`` must be positive definite."""
    p_s, h_s, b_s, sigma_s = student
    p_t, h_t, b_t, sigma_t = teacher
    chol = np.linalg.cholesky(sigma_t)
    wx = w_star @ x
    dbar = p_s @ (wx @ (h_s - h_t)) + (p_s - p_t) @ (wx @ h_t) + (b_s - b_t)
    z = lower_solve(chol, transpose(dbar))
    estimation = kron_difference_norm2(
        lower_solve(chol, transpose(h_s - h_t)), lower_solve(chol, transpose(h_t)), p_s, p_t
    )
    out = {
        "offset": 0.5 * np.sum(z * z, axis=(-2, -1)),
        "estimation": 0.5 * np.asarray(nu, dtype=float) ** 2 * estimation,
    }
    if spread:
        whitened = lower_solve(chol, transpose(lower_solve(chol, sigma_s)))
        ratio = np.linalg.eigvalsh((whitened + transpose(whitened)) / 2)
        k = p_s.shape[-1]
        out["spread"] = 0.5 * k * np.sum(phi(np.clip(ratio, 0.0, None)), axis=-1)
    return out


def conditional_proxy(x, nu, k: int, sigma_t):
    """``E_Y sigma_Y^2 = (4 nu^2 k / n^2) tr(Sigma_T X X^T)``, the trace as an elementwise sum of
    two symmetric matrices (O(d^2) once ``X X^T`` is known)."""
    n = x.shape[-1]
    xxt = x @ transpose(x)
    return 4 * np.asarray(nu, dtype=float) ** 2 * k / n**2 * np.sum(sigma_t * xxt, axis=(-2, -1))
