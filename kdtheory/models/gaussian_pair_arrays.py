"""Stacked Gaussian pairs with quadratic test functions (THEORY §2, Lemma DV), as array code.

Arrays carry a batch of ``k`` cases of a common dimension ``d``: means of shape ``(k, d)``,
covariances and quadratic forms of shape ``(k, d, d)`` (numpy's stacked ``linalg``).  For
``X ~ N(mu, cov)`` and ``f(x) = a'x + x'Bx/2`` the three quantities of Lemma DV are closed forms:
``E_Q f``, ``KL(Q || P)`` and ``log E_P exp f``.  No validation here (the audit draws valid
inputs: symmetric positive definite covariances with ``cov^-1 - B`` positive definite).

These matrix quantities **stay numeric** (stacked LAPACK: inverses, Cholesky factors, eigenvalues,
log-determinants; issue 11: "where a matrix quantity stays numeric, say so").  Their ``d = 1``
case is derived symbolically in :mod:`kdtheory.formulas.gaussian_pair` (``E_Q_f``, ``KL``,
``logE_P_expf``, ``dv_a``, ``dv_B``); ``tests/test_formulas_models.py`` checks this code against
those expressions at ``d = 1`` and against 50-digit mpmath matrix versions of the textbook
formulas for ``d = 2..4``.
"""

from __future__ import annotations

import numpy as np

from ..divergences import _phi1p, phi

__all__: list[str] = []


def _mv(mat, vec):
    """Stacked matrix-vector product ``mat @ vec`` for ``(k, d, d)`` and ``(k, d)``."""
    return np.einsum("...ij,...j->...i", mat, vec)


def _dot(x, y):
    return np.einsum("...i,...i->...", x, y)


def _solve(mat, vec):
    return np.linalg.solve(mat, vec[..., None])[..., 0]


def _expectation_quadratic(a, B, mean, cov):
    """``E f = a'mu + tr(B (cov + mu mu'))/2`` for ``X ~ N(mu, cov)``."""
    second = cov + mean[..., :, None] * mean[..., None, :]
    return _dot(a, mean) + np.einsum("...ij,...ji->...", B, second) / 2


def _log_mgf_quadratic(a, B, mean, cov):
    """``log E exp(a'x + x'Bx/2)`` for ``x ~ N(mu, cov)`` (``cov^-1 - B`` positive definite):
    ``a'mu + mu'B mu/2 + b'(cov^-1 - B)^-1 b/2 - log det(I - cov B)/2`` with ``b = a + B mu``."""
    d = mean.shape[-1]
    b = a + _mv(B, mean)
    prec = np.linalg.inv(cov) - B
    _, logdet = np.linalg.slogdet(np.eye(d) - cov @ B)
    return _dot(a, mean) + _dot(mean, _mv(B, mean)) / 2 + _dot(b, _solve(prec, b)) / 2 - logdet / 2


def _kl_gaussian(mean_p, cov_p, mean_q, cov_q):
    """``KL(N(mean_p, cov_p) || N(mean_q, cov_q))`` in the cancellation-free form of the KL
    registry (THEORY §2): with ``L L' = cov_q`` and ``M = L^-1 (cov_p - cov_q) L^-T`` (eigenvalues
    ``mu_i``), ``KL = [sum_i phi(1 + mu_i) + ||L^-1 (mean_p - mean_q)||^2] / 2``, ``phi(1 + mu)``
    from ``mu`` without rounding ``1 + mu`` (no cancellation; for covariances as well conditioned as
    the audit's, eigenvalues in ``[0.2, 3]``, the registry's 40-digit fallback is not needed)."""
    low = np.linalg.cholesky(cov_q)
    linv = np.linalg.inv(low)
    whitened = linv @ (cov_p - cov_q) @ np.swapaxes(linv, -1, -2)
    mu = np.linalg.eigvalsh((whitened + np.swapaxes(whitened, -1, -2)) / 2)
    lam = 1.0 + mu
    terms = np.where(mu < -0.5, phi(np.maximum(lam, 0.0)), _phi1p(np.maximum(mu, -1.0)))
    z = _mv(linv, mean_p - mean_q)
    return np.maximum((np.sum(terms, axis=-1) + _dot(z, z)) / 2, 0.0)


def _log_density_ratio_quadratic(mean_p, cov_p, mean_q, cov_q):
    """``(a, B)`` with ``a'x + x'Bx/2 = log dQ/dP (x)`` up to a constant: ``B = cov_p^-1 -
    cov_q^-1``, ``a = cov_q^-1 mean_q - cov_p^-1 mean_p`` (the equality case of Lemma DV)."""
    B = np.linalg.inv(cov_p) - np.linalg.inv(cov_q)
    return _solve(cov_q, mean_q) - _solve(cov_p, mean_p), B
