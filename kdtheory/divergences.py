"""Closed-form KL divergences, a registry keyed by the pair of distribution types (THEORY §1, §6.2).

``kl(p, q)`` dispatches on ``(type(p), type(q))`` like torch.distributions' ``kl.py``; a second
registration of the same pair is refused.  Each registered pair also has a Monte Carlo twin,
:func:`kl_monte_carlo` (the mean of ``log p(X) - log q(X)`` over ``X ~ p`` with its standard
error), which the tests compare against the closed form.

``KL = inf`` is a value, not an error: a singular (e.g. deterministic) student against a
non-singular teacher, or the reverse, gives :class:`Divergence` ``inf`` whose ``.reason`` says
why (THEORY §7, degenerate students).  NaN is never returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .symbols import Domain, check_in, check_rng, check_size, real_array, short_repr

__all__ = [
    "Divergence",
    "IsotropicGaussian",
    "DiagonalGaussian",
    "FullGaussian",
    "register_kl",
    "registered_pairs",
    "kl",
    "kl_monte_carlo",
    "phi",
]

#: Relative eigenvalue threshold below which a covariance is treated as singular.
SINGULAR_RTOL = 1e-13


class Divergence(float):
    """A KL value (a float) with the reason attached when it is infinite."""

    reason: str

    def __new__(cls, value: float, reason: str = ""):
        obj = super().__new__(cls, value)
        obj.reason = reason
        return obj

    def __repr__(self) -> str:
        r = float.__repr__(self)
        return f"Divergence({r}, reason={self.reason!r})" if self.reason else f"Divergence({r})"


def phi(x):
    """``phi(x) = x - 1 - log x`` (>= 0, zero iff x = 1; THEORY §1) for ``x`` in ``[0, inf]``;
    ``phi(0) = phi(inf) = inf``.  Free of cancellation (:func:`_phi1p`): relative accuracy
    ~3e-15 or better everywhere, so ``phi >= 0`` always; equal to the symbolic form to that
    tolerance, see ``tests/test_stability.py``.  NaN or negative ``x`` raises ``ValueError``."""
    x = np.asarray(x, dtype=float)
    bad = np.isnan(x) | (x < 0)
    if np.any(bad):
        raise ValueError(
            f"phi needs x in [0, inf], got {float(np.atleast_1d(x)[np.atleast_1d(bad)][0])!r}"
        )
    with np.errstate(invalid="ignore"):
        out = _phi_xu(x, x - 1.0)
    out = np.where(np.isinf(x), np.inf, out)
    return float(out) if out.ndim == 0 else out


#: Taylor coefficients of ``u - log1p(u) = sum_{k>=2} (-1)^k u^k / k``, highest first; for
#: ``|u| < 0.1`` the remainder after k = 19 is below 1e-17 relative
_PHI_SERIES = np.array([(-1.0) ** k / k for k in range(19, 1, -1)])


def _phi1p(u):
    """``phi(1 + u) = u - log1p(u)`` for ``u >= -1`` (``u`` taken as exact): the Taylor series
    for ``|u| < 0.1``, ``u - log1p(u)`` for ``-0.5 <= u <= 1`` (cancellation costs at most
    ``2 eps / 0.1``), and ``x - 1 - log x`` with ``x = 1 + u`` outside (no cancellation; ``1 + u``
    is exact for ``u`` in ``[-1, -0.5]``)."""
    u = np.asarray(u, dtype=float)
    return _phi_xu(1.0 + u, u)


def _phi_xu(x, u):
    """``phi(x)`` given both ``x`` and ``u = x - 1`` (each as accurate as the caller has it)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((u >= -0.5) & (u <= 1.0), u - np.log1p(u), (x - 1.0) - np.log(x))
    small = np.abs(u) < 0.1
    if np.any(small):
        us = u[small] if out.ndim else u
        acc = np.zeros_like(us)
        for c in _PHI_SERIES:  # Horner
            acc = acc * us + c
        if out.ndim:
            out[small] = acc * us * us
        else:
            out = acc * us * us
    return out


#: a variance: finite and >= 0 (0 is a point mass)
_VARIANCE = Domain(0.0, math.inf, True, False)


def _vector(name: str, x) -> np.ndarray:
    """A finite real 1-d vector (a scalar is a length-1 vector); types as in
    :func:`kdtheory.symbols.real_array`, errors name ``name``."""
    arr = np.atleast_1d(real_array(name, x, "a 1-d vector of finite reals"))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {short_repr(arr.tolist())}")
    return arr


@dataclass(frozen=True, eq=False)
class IsotropicGaussian:
    """``N(mean, var I_d)``; ``var >= 0`` (``var = 0`` is a point mass)."""

    mean: np.ndarray
    var: float

    def __post_init__(self):
        object.__setattr__(self, "mean", _vector("mean", self.mean))
        v = check_in("var", self.var, _VARIANCE, scalar=True)
        object.__setattr__(self, "var", v)

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def covariance(self) -> np.ndarray:
        return self.var * np.eye(self.dim)


@dataclass(frozen=True, eq=False)
class DiagonalGaussian:
    """``N(mean, diag(var))``; entries of ``var`` in ``[0, inf)``."""

    mean: np.ndarray
    var: np.ndarray

    def __post_init__(self):
        m = _vector("mean", self.mean)
        v = check_in("var", self.var, _VARIANCE)
        if np.ndim(v) not in (0, 1) or np.size(v) not in (1, m.size):
            raise ValueError(
                f"var must be a scalar or have shape {m.shape} like mean, got shape {np.shape(v)}"
            )
        v = np.broadcast_to(np.asarray(v, dtype=float), m.shape).copy()
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "var", v)

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def covariance(self) -> np.ndarray:
        return np.diag(self.var)


@dataclass(frozen=True, eq=False)
class FullGaussian:
    """``N(mean, cov)``; ``cov`` symmetric positive semi-definite."""

    mean: np.ndarray
    cov: np.ndarray

    def __post_init__(self):
        m = _vector("mean", self.mean)
        c = real_array("cov", self.cov, "a real symmetric PSD matrix")
        if c.shape != (m.shape[0], m.shape[0]):
            raise ValueError(f"cov must have shape {(m.shape[0],) * 2}, got {c.shape}")
        if not np.all(np.isfinite(c)):
            raise ValueError("cov must be finite")
        scale = max(np.max(np.abs(c)), 1e-300)
        if not np.allclose(c, c.T, rtol=0, atol=1e-12 * scale):
            raise ValueError("cov must be symmetric")
        c = (c + c.T) / 2
        if np.linalg.eigvalsh(c)[0] < -1e-10 * scale:
            raise ValueError("cov must be positive semi-definite (it has a negative eigenvalue)")
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "cov", c)

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def covariance(self) -> np.ndarray:
        return self.cov


Gaussian = IsotropicGaussian | DiagonalGaussian | FullGaussian

_KL_REGISTRY: dict[tuple[type, type], Callable] = {}


def register_kl(p_type: type, q_type: type):
    """Decorator registering a closed-form ``KL(p || q)`` for the type pair; duplicates refused."""

    def deco(fn):
        key = (p_type, q_type)
        if key in _KL_REGISTRY:
            raise ValueError(f"KL({p_type.__name__} || {q_type.__name__}) is already registered")
        _KL_REGISTRY[key] = fn
        return fn

    return deco


def registered_pairs() -> list[tuple[type, type]]:
    return list(_KL_REGISTRY)


class NotADistributionError(TypeError, NotImplementedError):
    """``kl`` of something that is no registered distribution: a ``TypeError`` naming the
    argument, and (as before) a ``NotImplementedError`` -- there is no closed form for it."""


def kl(p, q) -> Divergence:
    """Closed-form ``KL(p || q)`` for a registered pair of types; ``NotImplementedError`` else."""
    for name, x in (("p", p), ("q", q)):
        if not any(isinstance(x, t) for pair in _KL_REGISTRY for t in pair):
            raise NotADistributionError(
                f"{name} must be a distribution of the KL registry "
                f"({sorted({t.__name__ for pair in _KL_REGISTRY for t in pair})}), "
                f"got {short_repr(x)} of type {type(x).__name__}"
            )
    try:
        fn = _KL_REGISTRY[(type(p), type(q))]
    except KeyError:
        raise NotImplementedError(
            f"no closed-form KL registered for ({type(p).__name__}, {type(q).__name__})"
        ) from None
    if hasattr(p, "dim") and hasattr(q, "dim") and p.dim != q.dim:
        raise ValueError(
            f"dimension mismatch: p has dim {p.dim}, q has dim {q.dim} (the lengths of their mean)"
        )
    out = fn(p, q)
    return out if isinstance(out, Divergence) else Divergence(out)


_INF_P_SINGULAR = "the first argument is singular (degenerate) and the second is not: P is not << Q"
_INF_Q_SINGULAR = "the second argument is singular and the first is not: P is not << Q"


@register_kl(IsotropicGaussian, IsotropicGaussian)
def _kl_iso_iso(p: IsotropicGaussian, q: IsotropicGaussian) -> Divergence:
    """``(d/2) phi(vp/vq) + ||mp - mq||^2 / (2 vq)`` (THEORY §6.2)."""
    if q.var == 0 or p.var == 0:
        return _kl_full(p, q)
    d = p.dim
    return Divergence(0.5 * d * phi(p.var / q.var) + np.sum((p.mean - q.mean) ** 2) / (2 * q.var))


@register_kl(DiagonalGaussian, DiagonalGaussian)
def _kl_diag_diag(p: DiagonalGaussian, q: DiagonalGaussian) -> Divergence:
    """``sum_i [phi(vp_i/vq_i) + (mp_i - mq_i)^2 / vq_i] / 2``."""
    if np.any(q.var == 0) or np.any(p.var == 0):
        return _kl_full(p, q)
    return Divergence(0.5 * np.sum(phi(p.var / q.var) + (p.mean - q.mean) ** 2 / q.var))


def _kl_full(p, q) -> Divergence:
    """``[tr(Sq^-1 Sp) - d - log det(Sq^-1 Sp) + (mp-mq)' Sq^-1 (mp-mq)] / 2``; singular
    covariances handled on their ranges (inf unless supports match).  Non-singular pairs go
    through :func:`_kl_nonsingular` (stable form, 40-digit fallback when ill-conditioned)."""
    sp_, sq = p.covariance(), q.covariance()
    diff = p.mean - q.mean
    lp, lq = _cholesky_or_none(sp_), _cholesky_or_none(sq)
    if lp is not None and lq is not None:
        return Divergence(_kl_nonsingular(diff, sp_, sq))
    if lp is None and lq is not None:
        return Divergence(math.inf, _INF_P_SINGULAR)
    if lp is not None and lq is None:
        return Divergence(math.inf, _INF_Q_SINGULAR)
    return _kl_both_singular(p.mean, sp_, q.mean, sq)


#: relative accuracy the double-precision KL must reach, by its error estimate, before the
#: extended-precision fallback is skipped; and the largest dimension the fallback handles
KL_TARGET_RTOL = 1e-8
KL_FALLBACK_MAX_DIM = 64


def _kl_nonsingular(diff: np.ndarray, sp_: np.ndarray, sq: np.ndarray) -> float:
    """KL between ``N(m + diff, Sp)`` and ``N(m, Sq)``, both covariances positive definite.

    Stable double form: with ``L L' = Sq`` and the whitened difference
    ``M = L^-1 (Sp - Sq) L^-T`` (eigenvalues ``mu_i``, so ``Sq^-1 Sp`` has eigenvalues
    ``1 + mu_i``), ``KL = [sum_i phi(1 + mu_i) + ||L^-1 diff||^2] / 2`` -- no cancellation between
    ``tr``, ``d`` and ``log det``.  A double-precision factorisation of a covariance with
    condition number ``kappa`` still perturbs it by ~``eps kappa`` relatively, so when the
    first-order error estimate ``8 d eps (kappa_p + kappa_q) (sum |mu_i|/min(1, 1 + mu_i) +
    ||L^-1 diff||^2)`` exceeds ``KL_TARGET_RTOL * KL`` (and ``d <= KL_FALLBACK_MAX_DIM``) the
    same form is evaluated in 40-digit arithmetic (mpmath) from the exact float inputs.
    """
    d = sq.shape[0]
    lq = np.linalg.cholesky(sq)
    half = _solve_lower(lq, sp_ - sq)
    m = _solve_lower(lq, half.T)
    mu = np.linalg.eigvalsh((m + m.T) / 2)  # ascending
    lam = 1.0 + mu
    if mu[0] < -0.5:  # 1 + mu loses the small eigenvalues: take them from L^-1 chol(Sp)
        sv = np.linalg.svd(_solve_lower(lq, np.linalg.cholesky(sp_)), compute_uv=False)
        lam = np.where(mu < -0.5, np.sort(sv * sv), lam)
    terms = np.where(mu < -0.5, phi(np.maximum(lam, 0.0)), _phi1p(np.maximum(mu, -1.0)))
    zw = _solve_lower(lq, diff)
    quad = float(zw @ zw)
    val = 0.5 * (float(np.sum(terms)) + quad)
    wp, wq = np.linalg.eigvalsh(sp_), np.linalg.eigvalsh(sq)
    kappa = wp[-1] / wp[0] + wq[-1] / wq[0]
    lam = np.maximum(lam, np.finfo(float).tiny)
    est = 8 * d * np.finfo(float).eps * kappa * (np.sum(np.abs(mu) / np.minimum(1.0, lam)) + quad)
    if est > KL_TARGET_RTOL * val and d <= KL_FALLBACK_MAX_DIM:
        val = _kl_nonsingular_mp(diff, sp_, sq)
    return max(val, 0.0)


def _solve_lower(lower: np.ndarray, b: np.ndarray) -> np.ndarray:
    # np.linalg.solve: scipy's solve_triangular costs ~4 ms per call here (threading overhead)
    return np.linalg.solve(lower, b)


def _kl_nonsingular_mp(diff, sp_, sq, dps: int = 40) -> float:
    """The form of :func:`_kl_nonsingular` in ``dps``-digit arithmetic (mpmath), from the exact
    binary values of the inputs."""
    import mpmath

    with mpmath.workdps(dps):
        q = mpmath.matrix(sq.tolist())
        dmat = mpmath.matrix(sp_.tolist()) - q
        linv = mpmath.inverse(mpmath.cholesky(q))
        m = linv * dmat * linv.T
        m = (m + m.T) / 2
        mu = mpmath.eigsy(m, eigvals_only=True)
        zw = linv * mpmath.matrix(diff.tolist())
        total = sum(x - mpmath.log1p(x) for x in mu) + sum(z * z for z in zw)
        return float(total / 2)


def _cholesky_or_none(c: np.ndarray):
    w = np.linalg.eigvalsh(c)
    if w[-1] <= 0 or w[0] <= SINGULAR_RTOL * w[-1]:
        return None
    return np.linalg.cholesky(c)


def _range_basis(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    keep = w > SINGULAR_RTOL * max(w[-1], 0.0) if w[-1] > 0 else np.zeros_like(w, dtype=bool)
    return v[:, keep]


def _kl_both_singular(mp, sp_, mq, sq) -> Divergence:
    """Both singular: finite only if the affine supports coincide; then KL on that subspace."""
    up, uq = _range_basis(sp_), _range_basis(sq)
    if up.shape[1] != uq.shape[1] or not np.allclose(up @ up.T, uq @ uq.T, atol=1e-10):
        return Divergence(math.inf, "singular covariances with different ranges: P is not << Q")
    diff = mp - mq
    resid = diff - up @ (up.T @ diff)
    if np.linalg.norm(resid) > 1e-10 * max(1.0, np.linalg.norm(diff)):
        return Divergence(math.inf, "means differ off the common support: P is not << Q")
    if up.shape[1] == 0:
        return Divergence(0.0)
    r = up.shape[1]
    return _kl_full(
        FullGaussian(np.zeros(r) + up.T @ mp, up.T @ sp_ @ up),
        FullGaussian(np.zeros(r) + up.T @ mq, up.T @ sq @ up),
    )


# full closed form for every remaining pair (mixed types are promoted to full covariances)
for _p_t in (IsotropicGaussian, DiagonalGaussian, FullGaussian):
    for _q_t in (IsotropicGaussian, DiagonalGaussian, FullGaussian):
        if (_p_t, _q_t) not in _KL_REGISTRY:
            register_kl(_p_t, _q_t)(_kl_full)


def _logpdf_gaussian(x: np.ndarray, g) -> np.ndarray:
    c = g.covariance()
    lc = np.linalg.cholesky(c)
    z = np.linalg.solve(lc, (x - g.mean).T)
    return (
        -0.5 * np.sum(z * z, axis=0)
        - np.sum(np.log(np.diag(lc)))
        - 0.5 * g.dim * math.log(2 * math.pi)
    )


def sample(g, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of a Gaussian (rows)."""
    c = g.covariance()
    w, v = np.linalg.eigh(c)
    root = v * np.sqrt(np.clip(w, 0, None))
    return g.mean + rng.standard_normal((size, g.dim)) @ root.T


def kl_monte_carlo(p, q, size: int, rng: np.random.Generator) -> tuple[float, float]:
    """Monte Carlo twin of :func:`kl`: ``(mean, standard error)`` of ``log p(X) - log q(X)``,
    ``X ~ p``, over ``size`` draws.  Singular covariances: ``(inf, 0)`` (no density)."""
    size = check_size("size", size, minimum=2, maximum=max(2, 10**8 // max(p.dim, 1)))
    check_rng("rng", rng)
    if _cholesky_or_none(p.covariance()) is None or _cholesky_or_none(q.covariance()) is None:
        return math.inf, 0.0
    x = sample(p, size, rng)
    terms = _logpdf_gaussian(x, p) - _logpdf_gaussian(x, q)
    return float(np.mean(terms)), float(np.std(terms, ddof=1) / math.sqrt(size))
