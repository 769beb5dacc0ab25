"""The learners of the real-data experiment (:mod:`kdtheory.experiment`): L2-regularised softmax
regression trained on soft targets, and its Laplace (Gibbs) posterior as a Gaussian kernel.

**Model.**  ``K`` classes, an input ``x`` in ``R^d`` with a leading 1 (the bias), so ``p = d + 1``
inputs; weights ``W`` in ``R^{(K-1) x p}``, logits ``(W x, 0)`` (the last class is the reference,
so ``K = 2`` is logistic regression and the parameters are identifiable).  A training set
``(x_i, y_i)``, ``i = 1..n``, with soft targets ``y_i`` (rows of probabilities; one-hot for hard
labels) defines the regularised loss

    F(W) = (lam/2) ||W||_F^2 + sum_i CE(y_i, softmax(W x_i, 0)).

**Kernel.**  The Gibbs posterior ``P(W|D) ∝ exp(-beta F(W))`` (a Gaussian prior of precision
``beta lam`` and inverse temperature ``beta`` on the summed cross-entropy; ``beta = 1`` is the
Bayes posterior of the prior ``N(0, I/lam)``) is replaced by its Laplace approximation
``N(W*, (beta Hess F(W*))^-1)``, ``W* = argmin F``.  The experiment *defines* the kernel as this
Gaussian: its predictors are drawn from it and ``K_n`` is computed for it, so the distillation
divergence is exact for the kernels whose gap is measured (THEORY §1); what the Gaussian is an
approximation of (the exact Gibbs posterior) plays no role in the theorems.

**Feature bottleneck.**  A student may see only some inputs (a boolean ``mask`` over the ``p``
inputs; the bias is always kept).  Its loss does not depend on the weights of the hidden inputs,
so its Gibbs posterior in those coordinates is exactly the prior, ``N(0, 1/(beta lam))``,
independent of the rest: the student's law lives on the teacher's weight space (THEORY §1 needs
both laws on one space) and ``K_n`` stays finite (a student without those coordinates would be
singular, ``K_n = inf``, THEORY §7, degenerate students).

**Divergences.**  :func:`gaussian_kl` is ``KL(N(m_p, P_p^-1) || N(m_q, P_q^-1))`` from the
Cholesky factors of the precisions (one triangular solve; the registry's eigen-decomposition
costs several times more at ``p (K-1) = 585``), split by :func:`gaussian_kl_parts` into a mean
term and a spread term; tempering both kernels by the same ``beta`` (the minimiser ``W*`` does not
depend on it) multiplies the mean term by ``beta`` and leaves the spread term alone, so one fit
serves every ``beta``.  :func:`smoothed_kl` is the KL to the smoothed teacher
``N(m_q, P_q^-1 + rho^2 I)`` of THEORY §5 (Theorem S'), for several ``beta`` and ``rho`` at the
cost of one triangular solve.  All are tested equal to the KL registry
(:func:`kdtheory.divergences.kl`) in ``tests/test_experiment.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize
from scipy.special import log_softmax

__all__ = [
    "GaussianPosterior",
    "with_bias",
    "logits",
    "soft_targets",
    "objective",
    "hessian",
    "fit_map",
    "laplace_posterior",
    "zero_one_losses",
    "gaussian_kl",
    "gaussian_kl_parts",
    "smoothed_kl",
    "covariance_eig",
]


def with_bias(X: np.ndarray) -> np.ndarray:
    """``[1, x]`` for each row ``x`` of ``X``."""
    X = np.asarray(X, dtype=float)
    return np.hstack([np.ones((X.shape[0], 1)), X])


def logits(W: np.ndarray, Xb: np.ndarray) -> np.ndarray:
    """Logits ``(n, K)`` of weights ``W`` (``(K-1, p)``) on inputs ``Xb`` (``(n, p)``, bias
    column included): ``(W x, 0)`` per row."""
    z = Xb @ W.T
    return np.hstack([z, np.zeros((z.shape[0], 1))])


def soft_targets(onehot: np.ndarray, teacher_logits: np.ndarray, alpha: float, temperature: float):
    """The KD target ``(1 - alpha) y + alpha softmax(z_T / T)`` per row (Hinton et al. 2015)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    soft = np.exp(log_softmax(teacher_logits / temperature, axis=1))
    return (1.0 - alpha) * onehot + alpha * soft


def objective(w: np.ndarray, Xb: np.ndarray, Y: np.ndarray, lam: float):
    """``F`` and its gradient at the flattened weights ``w`` (row-major ``(K-1, p)``)."""
    k1, p = Y.shape[1] - 1, Xb.shape[1]
    W = w.reshape(k1, p)
    logp = log_softmax(logits(W, Xb), axis=1)
    f = 0.5 * lam * float(w @ w) - float(np.sum(Y * logp))
    resid = np.exp(logp[:, :k1]) - Y[:, :k1]
    grad = lam * W + resid.T @ Xb
    return f, grad.ravel()


def hessian(w: np.ndarray, Xb: np.ndarray, n_classes: int, lam: float) -> np.ndarray:
    """``Hess F`` at ``w``: ``lam I + sum_i (diag(q_i) - q_i q_i') ⊗ x_i x_i'`` with ``q_i`` the
    first ``K-1`` class probabilities (independent of the targets, since each target row sums
    to 1); indices ``(k, a)`` in row-major order."""
    k1, p = n_classes - 1, Xb.shape[1]
    prob = np.exp(log_softmax(logits(w.reshape(k1, p), Xb), axis=1))[:, :k1]
    H = np.zeros((k1, p, k1, p))
    for k in range(k1):
        for m in range(k, k1):
            a = (prob[:, k] * ((k == m) - prob[:, m]))[:, None] * Xb
            block = Xb.T @ a
            H[k, :, m, :] = block
            if m != k:
                H[m, :, k, :] = block.T
    H = H.reshape(k1 * p, k1 * p)
    H[np.diag_indices_from(H)] += lam
    return H


def fit_map(Xb, Y, lam: float, w0=None) -> tuple[np.ndarray, np.ndarray]:
    """``(W*, L)``: the minimiser of the strongly convex ``F`` (``lam > 0``) by L-BFGS from
    ``w0`` (default 0), polished by Newton steps with the exact Hessian until a step is below
    ``1e-10`` (relative to ``max(1, |W|)``), so that ``W*`` is accurate to about rounding (the
    ``K_n`` of nearby students depends on it), and the lower Cholesky factor ``L`` of
    ``Hess F(W*)``."""
    k1, p = Y.shape[1] - 1, Xb.shape[1]
    w = np.zeros(k1 * p) if w0 is None else np.array(w0, dtype=float)
    res = optimize.minimize(
        objective,
        w,
        args=(Xb, Y, lam),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-7, "ftol": 1e-13, "maxiter": 5000, "maxcor": 20},
    )
    w = res.x
    for _ in range(50):
        _, g = objective(w, Xb, Y, lam)
        factor = linalg.cho_factor(hessian(w, Xb, Y.shape[1], lam), lower=True)
        step = linalg.cho_solve(factor, g)
        if np.max(np.abs(step)) <= 1e-10 * max(1.0, np.max(np.abs(w))):
            return w, np.tril(factor[0])
        w = w - step
    raise RuntimeError("fit_map: Newton's method did not converge in 50 steps")


@dataclass(frozen=True)
class GaussianPosterior:
    """``N(mean, (L L')^-1)``: ``mean`` a flat weight vector, ``chol`` the lower Cholesky factor
    ``L`` of the precision ``beta Hess F``."""

    mean: np.ndarray
    chol: np.ndarray

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def draws(self, z: np.ndarray) -> np.ndarray:
        """``mean + L^-T z`` for each row of ``z`` (``(M, dim)`` standard normals): draws of the
        law (common random numbers when two laws get the same ``z``)."""
        return self.mean + linalg.solve_triangular(self.chol, z.T, lower=True, trans="T").T

    def covariance(self) -> np.ndarray:
        inv = linalg.solve_triangular(self.chol, np.eye(self.dim), lower=True)
        return inv.T @ inv

    def logdet_precision(self) -> float:
        return 2.0 * float(np.sum(np.log(np.diag(self.chol))))

    def tempered(self, beta: float) -> GaussianPosterior:
        """The same mean with the precision multiplied by ``beta`` (the Laplace kernel of
        ``exp(-beta F)`` from that of ``exp(-F)``)."""
        return GaussianPosterior(self.mean, self.chol * np.sqrt(beta))


def laplace_posterior(
    Xb, Y, lam: float, beta: float, mask=None, w0=None
) -> tuple[GaussianPosterior, np.ndarray]:
    """The Laplace kernel ``N(W*, (beta Hess F(W*))^-1)`` of the module docstring, on the full
    weight space; with a ``mask`` over the ``p`` inputs, ``F`` is fitted on the kept inputs and
    the hidden coordinates get the prior ``N(0, 1/(beta lam))`` exactly.  Returns the posterior
    and the MAP logits on ``Xb`` (the teacher's soft labels come from them)."""
    n_classes, p = Y.shape[1], Xb.shape[1]
    k1 = n_classes - 1
    keep = np.ones(p, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if keep.shape != (p,) or not keep[0]:
        raise ValueError("mask must be a boolean array over the inputs that keeps the bias")
    Xk = Xb[:, keep]
    start = None if w0 is None else np.asarray(w0).reshape(k1, p)[:, keep].ravel()
    wk, Lk = fit_map(Xk, Y, lam, start)
    W = np.zeros((k1, p))
    W[:, keep] = wk.reshape(k1, keep.sum())
    if keep.all():
        chol = Lk
    else:  # the hidden coordinates: precision lam, independent of the kept ones
        idx = (np.arange(k1)[:, None] * p + np.flatnonzero(keep)[None, :]).ravel()
        H = lam * np.eye(k1 * p)
        H[np.ix_(idx, idx)] = Lk @ Lk.T
        chol = linalg.cholesky(H, lower=True)
    return GaussianPosterior(W.ravel(), chol).tempered(beta), logits(W, Xb)


def zero_one_losses(draws: np.ndarray, Xb: np.ndarray, y: np.ndarray, n_classes: int):
    """``(M, N)`` 0-1 losses of ``M`` weight draws (``(M, (K-1) p)``) on every point."""
    m, k1 = draws.shape[0], n_classes - 1
    z = (Xb @ draws.reshape(m * k1, Xb.shape[1]).T).reshape(Xb.shape[0], m, k1)
    z = np.concatenate([z, np.zeros((Xb.shape[0], m, 1))], axis=2)
    return (np.argmax(z, axis=2) != y[:, None]).T.astype(float)


def gaussian_kl_parts(p: GaussianPosterior, q: GaussianPosterior) -> tuple[float, float]:
    """``(mean term, spread term)`` of ``KL(p || q)`` for Gaussians given by precision Cholesky
    factors ``L_p``, ``L_q``: ``(m_p - m_q)' P_q (m_p - m_q) / 2`` and
    ``[tr(P_q P_p^-1) - dim + log det P_p - log det P_q] / 2`` with
    ``tr(P_q P_p^-1) = ||L_p^-1 L_q||_F^2``.  Both 0 for identical arguments; otherwise the
    spread term's trace and log-determinants cancel to about ``dim * 1e-16`` absolute, so it is
    clipped at 0."""
    if p.mean.shape != q.mean.shape:
        raise ValueError(f"dimension mismatch: {p.dim} and {q.dim}")
    if np.array_equal(p.mean, q.mean) and np.array_equal(p.chol, q.chol):
        return 0.0, 0.0
    a = linalg.solve_triangular(p.chol, q.chol, lower=True)
    diff = q.chol.T @ (p.mean - q.mean)
    spread = 0.5 * (float(np.sum(a * a)) - p.dim + p.logdet_precision() - q.logdet_precision())
    return 0.5 * float(diff @ diff), max(spread, 0.0)


def gaussian_kl(p: GaussianPosterior, q: GaussianPosterior, beta: float = 1.0) -> float:
    """``KL(p_beta || q_beta)`` of the two laws tempered by ``beta``
    (:meth:`GaussianPosterior.tempered`): ``beta * mean term + spread term``
    (:func:`gaussian_kl_parts`); exactly 0 for identical arguments."""
    mean, spread = gaussian_kl_parts(p, q)
    return beta * mean + spread


def smoothed_kl(
    p: GaussianPosterior,
    q_eig: tuple[np.ndarray, np.ndarray],
    q_mean: np.ndarray,
    rhos,
    betas=(1.0,),
) -> np.ndarray:
    """``KL(p_beta || N(q_mean, Sigma_q / beta + rho^2 I))`` for each ``beta`` in ``betas``
    (rows) and ``rho`` in ``rhos`` (columns): THEORY §5's smoothed teacher ``T^rho`` of the
    tempered laws.  ``q_eig = (lam, V)`` is the eigen-decomposition ``Sigma_q = V diag(lam) V'``;
    with ``s_i = (V' Sigma_p V)_ii``, ``delta = V'(m_p - m_q)`` and ``v_i = lam_i / beta + rho^2``,
    ``KL = [sum_i (s_i / beta + delta_i^2) / v_i - dim + sum_i log v_i - log det (Sigma_p / beta)]
    / 2``."""
    lam, V = q_eig
    b = linalg.solve_triangular(p.chol, V, lower=True)  # L_p^-1 V: Sigma_p = L_p^-T L_p^-1
    s = np.sum(b * b, axis=0)
    delta2 = (V.T @ (p.mean - q_mean)) ** 2
    rhos = np.atleast_1d(np.asarray(rhos, dtype=float))
    out = np.empty((len(betas), rhos.size))
    for i, beta in enumerate(betas):
        # log det (Sigma_p / beta) = -log det P_p - dim log beta
        logdet_p = -p.logdet_precision() - p.dim * math.log(beta)
        for j, rho in enumerate(rhos):
            v = lam / beta + rho * rho
            val = float(np.sum((s / beta + delta2) / v)) - p.dim + float(np.sum(np.log(v)))
            out[i, j] = max(0.5 * (val - logdet_p), 0.0)
    return out


def covariance_eig(post: GaussianPosterior) -> tuple[np.ndarray, np.ndarray]:
    """``(lam, V)`` with ``Sigma = V diag(lam) V'`` for ``Sigma`` the covariance of ``post``
    (from the eigen-decomposition of the precision ``L L'``)."""
    h, V = linalg.eigh(post.chol @ post.chol.T)
    if h[0] <= 0:
        raise ValueError("precision is not positive definite")
    return 1.0 / h, V
