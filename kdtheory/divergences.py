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
    "gaussian_kl_nonsingular",
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
    if not np.all(x >= 0):  # one pass: NaN >= 0 is False
        bad = np.isnan(x) | (x < 0)
        raise ValueError(
            f"phi needs x in [0, inf], got {float(np.atleast_1d(x)[np.atleast_1d(bad)][0])!r}"
        )
    with np.errstate(invalid="ignore"):
        out = _phi_xu(x, x - 1.0)
    infinite = np.isinf(x)
    if infinite.any():
        out = np.where(infinite, np.inf, out)
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
    """``phi(x)`` given both ``x`` and ``u = x - 1`` (each as accurate as the caller has it).
    Each branch is evaluated only if some entry takes it."""
    middle = (u >= -0.5) & (u <= 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if middle.all():
            out = np.asarray(u - np.log1p(u))
        elif not middle.any():
            out = np.asarray((x - 1.0) - np.log(x))
        else:
            out = np.where(middle, u - np.log1p(u), (x - 1.0) - np.log(x))
    small = np.abs(u) < 0.1
    if np.any(small):
        # integer indices: gathering and scattering a few entries by a boolean mask costs a
        # pass over the whole mask each way, by np.nonzero's indices one pass in all
        where = np.nonzero(small) if out.ndim else None
        us = u[where] if out.ndim else u
        acc = np.zeros_like(us)
        for c in _PHI_SERIES:  # Horner
            acc = acc * us + c
        if out.ndim:
            out[where] = acc * us * us
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


def _phi_ratio(vp, vq):
    """``phi(vp / vq)`` (THEORY §1) for positive finite variances, free of cancellation and of
    overflow in the ratio: ``u = vp/vq - 1`` is taken as ``(vp - vq) / vq`` (``vp - vq`` is
    exact when the two are within a factor 2, Sterbenz), so nearly equal variances keep full
    relative accuracy (:func:`_phi_xu`'s series); far from 1, ``log(vp/vq)`` is
    ``log(fp/fq) + (ep - eq) log 2`` from the binary exponents (:func:`numpy.frexp`), exact where
    the ratio itself under- or overflows.  ``inf`` only where ``phi`` exceeds the float range."""
    vp, vq = np.asarray(vp, dtype=float), np.asarray(vq, dtype=float)
    with np.errstate(over="ignore", under="ignore"):
        x = vp / vq
        u = (vp - vq) / vq
    near = (u >= -0.5) & (u <= 1.0)
    out = np.asarray(_phi_xu(np.where(near, x, 1.0), np.where(near, u, 0.0)), dtype=float)
    if not np.all(near):
        fp, ep = np.frexp(vp)
        fq, eq = np.frexp(vq)
        logx = np.log(fp / fq) + (ep - eq).astype(float) * math.log(2.0)
        with np.errstate(over="ignore"):
            far = (x - 1.0) - logx
        out = np.where(near, out, far)
    return out


def _whitened_norm2(diff, var) -> float:
    """``sum diff_i^2 / var_i`` without overflow of ``diff_i^2`` (each ratio formed first)."""
    with np.errstate(over="ignore", under="ignore"):
        z = diff / np.sqrt(var)
        return float(np.sum(z * z))


_INF_OVERFLOW = (
    "the KL exceeds the largest double (about 1.8e308): the value is finite but unrepresentable"
)


def _finite_or_overflow(val: float) -> Divergence:
    return Divergence(val) if math.isfinite(val) else Divergence(math.inf, _INF_OVERFLOW)


@register_kl(IsotropicGaussian, IsotropicGaussian)
def _kl_iso_iso(p: IsotropicGaussian, q: IsotropicGaussian) -> Divergence:
    """``(d/2) phi(vp/vq) + ||mp - mq||^2 / (2 vq)`` (THEORY §6.2); ``phi`` of the ratio by
    :func:`_phi_ratio` (exact for nearly equal variances, any scale)."""
    if q.var == 0 or p.var == 0:
        return _kl_full(p, q)
    spread = 0.5 * p.dim * float(_phi_ratio(p.var, q.var))
    return _finite_or_overflow(spread + 0.5 * _whitened_norm2(p.mean - q.mean, q.var))


@register_kl(DiagonalGaussian, DiagonalGaussian)
def _kl_diag_diag(p: DiagonalGaussian, q: DiagonalGaussian) -> Divergence:
    """``sum_i [phi(vp_i/vq_i) + (mp_i - mq_i)^2 / vq_i] / 2`` (THEORY §6.2), ``phi`` of the
    ratios by :func:`_phi_ratio`."""
    if np.any(q.var == 0) or np.any(p.var == 0):
        return _kl_full(p, q)
    spread = 0.5 * float(np.sum(_phi_ratio(p.var, q.var)))
    return _finite_or_overflow(spread + 0.5 * _whitened_norm2(p.mean - q.mean, q.var))


def _kl_full(p, q) -> Divergence:
    """``[tr(Sq^-1 Sp) - d - log det(Sq^-1 Sp) + (mp-mq)' Sq^-1 (mp-mq)] / 2``; singular
    covariances handled on their ranges (inf unless supports match).  Non-singular pairs go
    through :func:`gaussian_kl_nonsingular` (stable form, extended-precision fallback when
    ill-conditioned, any scale)."""
    sp_, sq = p.covariance(), q.covariance()
    reg_p, reg_q = not _is_singular(sp_), not _is_singular(sq)
    if reg_p and reg_q:
        return gaussian_kl_nonsingular(p.mean - q.mean, sp_, sq)
    if reg_q:
        return Divergence(math.inf, _INF_P_SINGULAR)
    if reg_p:
        return Divergence(math.inf, _INF_Q_SINGULAR)
    return _kl_both_singular(p.mean, sp_, q.mean, sq)


#: relative accuracy the double-precision KL must reach, by its error estimate, before the
#: extended-precision fallback is skipped; and the largest dimension the fallback handles
KL_TARGET_RTOL = 1e-11
KL_FALLBACK_MAX_DIM = 64
#: largest ``|log_4|`` ratio of the two covariance scales for which the difference ``Sp - Sq``
#: is formed (beyond it every pencil eigenvalue is ``> 4^199 / (1e13 d)`` or below its inverse; within it
#: ``4^e A_p`` neither overflows nor becomes subnormal)
_MAX_SCALE_GAP = 200


def _pow4_scaled(c: np.ndarray) -> tuple[np.ndarray, int]:
    """``(a, e)`` with ``c = 4^e a`` exactly and ``max |a|`` in ``[1/4, 1)`` (``e = 0`` for 0)."""
    top = float(np.max(np.abs(c)))
    if top == 0.0:
        return c, 0
    e = (int(np.frexp(top)[1]) + 1) // 2
    return np.ldexp(c, -2 * e), e


def _is_singular(c: np.ndarray) -> bool:
    """The registry's singularity test (relative eigenvalue threshold :data:`SINGULAR_RTOL`),
    on ``c`` rescaled by a power of 4 so that no eigenvalue is subnormal."""
    w = np.linalg.eigvalsh(_pow4_scaled(c)[0])
    return bool(w[-1] <= 0 or w[0] <= SINGULAR_RTOL * w[-1])


def gaussian_kl_nonsingular(diff, sp_, sq, rows: int = 1) -> Divergence:
    """``[rows * sum_i phi(lam_i) + ||L^-1 diff||_F^2] / 2`` for positive definite ``Sp``,
    ``Sq`` (``L L' = Sq``, ``lam_i`` the eigenvalues of the pencil ``(Sp, Sq)``); ``diff`` is a
    d-vector (Gaussians: ``mp - mq``) or a ``d x rows`` matrix (matrix normals ``MN(M, I_k,
    Sigma)``: ``(M_p - M_q)^T``, THEORY §7).  This is the textbook
    ``rows [tr(Sq^-1 Sp) - d - log det(Sq^-1 Sp)] / 2 + tr(Sq^-1 diff diff^T) / 2``.

    * **Scale.**  ``Sq = 4^b A_q`` and ``Sp = 4^b 4^e A_p`` are rescaled by exact powers of 4
      (``diff`` by ``2^-b``), so the value does not depend on the units (KL is scale
      invariant): no overflow or underflow for covariances anywhere in the float range.
    * **No cancellation.**  With ``L L' = A_q`` and the whitened *difference*
      ``M = L^-1 (4^e A_p - A_q) L^-T`` (eigenvalues ``mu_i = lam_i - 1``, the difference exact
      when ``Sp ≈ Sq``), ``phi(1 + mu_i) = mu_i - log1p(mu_i)`` by :func:`_phi1p` (series for
      small ``mu_i``); eigenvalues below 1/2 from the singular values ``s_i`` of
      ``L^-1 chol(A_p)`` (``lam_i = 4^e s_i^2``, ``log lam_i`` from ``log s_i``).  For
      ``|e| > 200`` every ``lam_i`` is far from 1 and only that route is used.
    * **Fallback.**  Factorising a matrix of condition number ``kappa`` perturbs the pencil
      multiplicatively by ~``eps kappa``, so the first-order error estimate is
      ``8 d eps (kappa_p + kappa_q) (rows max|mu| sum_i |mu_i| / max(lam_i, |mu_i|) + quad)``;
      when it exceeds :data:`KL_TARGET_RTOL` times the value (and ``d <=``
      :data:`KL_FALLBACK_MAX_DIM`) the same form is evaluated in mpmath from the exact binary
      inputs, with ``40 + log10 kappa + log10(1/min lam)`` digits.

    ``inf`` (with a reason) only where the value exceeds the double range."""
    diff = np.asarray(diff, dtype=float)
    aq, b = _pow4_scaled(np.asarray(sq, dtype=float))
    ap, bp = _pow4_scaled(np.asarray(sp_, dtype=float))
    e = bp - b
    with np.errstate(over="ignore", under="ignore"):
        dz = np.ldexp(diff, -b)
    d = aq.shape[0]
    lq = np.linalg.cholesky(aq)
    lp = np.linalg.cholesky(ap)
    with np.errstate(over="ignore", under="ignore"):
        zw = _solve_lower(lq, dz)
        quad = float(np.sum(zw * zw))
    sv = np.sort(np.linalg.svd(_solve_lower(lq, lp), compute_uv=False))
    log_lam_sv = 2.0 * np.log(sv) + e * math.log(4.0)
    if abs(e) <= _MAX_SCALE_GAP:
        bpm = np.ldexp(ap, 2 * e)
        half = _solve_lower(lq, bpm - aq)
        m = _solve_lower(lq, half.T)
        mu = np.linalg.eigvalsh((m + m.T) / 2)  # ascending, like sv
        low = mu < -0.5  # 1 + mu loses the small eigenvalues: take them from the singular values
    else:
        mu = np.full(d, -1.0 if e < 0 else math.inf)
        low = np.ones(d, dtype=bool)
    with np.errstate(over="ignore", under="ignore"):
        lam_sv = np.exp(log_lam_sv)
        from_sv = (lam_sv - 1.0) - log_lam_sv
        terms = np.where(low, from_sv, _phi1p(np.where(low, 0.0, mu)))
        val = 0.5 * (rows * float(np.sum(terms)) + quad)
    if not math.isfinite(val):
        return Divergence(math.inf, _INF_OVERFLOW)
    lam = np.where(low, lam_sv, 1.0 + mu)
    mu = np.where(low, lam_sv - 1.0, mu)
    wp, wq = np.linalg.eigvalsh(ap), np.linalg.eigvalsh(aq)
    kappa = wp[-1] / wp[0] + wq[-1] / wq[0]
    amu = np.abs(mu)
    with np.errstate(over="ignore", invalid="ignore"):
        rel = np.where(amu > 0, amu / np.maximum(lam, amu), 0.0)
        est = 8 * d * np.finfo(float).eps * kappa * (rows * np.max(amu) * np.sum(rel) + quad)
    if est > KL_TARGET_RTOL * val and d <= KL_FALLBACK_MAX_DIM:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_lam = np.where(low, log_lam_sv, np.log1p(np.maximum(mu, -0.5)))
        digits = 40 + math.ceil(math.log10(kappa)) + max(0, math.ceil(-log_lam.min() / 2.3))
        val = _kl_nonsingular_mp(dz, ap, aq, e, rows, dps=min(digits, 400))
        if not math.isfinite(val):
            return Divergence(math.inf, _INF_OVERFLOW)
    return Divergence(max(val, 0.0))


def _solve_lower(lower: np.ndarray, b: np.ndarray) -> np.ndarray:
    # np.linalg.solve: scipy's solve_triangular costs ~4 ms per call here (threading overhead)
    return np.linalg.solve(lower, b)


def _kl_nonsingular_mp(dz, ap, aq, e: int, rows: int = 1, dps: int = 40) -> float:
    """The form of :func:`gaussian_kl_nonsingular` in ``dps``-digit arithmetic (mpmath), from
    the exact binary values of the rescaled inputs (``Sq = A_q``, ``Sp = 4^e A_p``, mean
    difference ``dz``, all up to the common factor the caller divided out)."""
    import mpmath

    with mpmath.workdps(dps):
        q = mpmath.matrix(aq.tolist())
        dmat = mpmath.matrix(ap.tolist()) * mpmath.ldexp(1, 2 * e) - q
        linv = mpmath.inverse(mpmath.cholesky(q, tol=mpmath.mpf(0)))
        m = linv * dmat * linv.T
        m = (m + m.T) / 2
        mu = mpmath.eigsy(m, eigvals_only=True)
        zw = linv * mpmath.matrix(dz.reshape(dz.shape[0], -1).tolist())
        total = rows * sum(x - mpmath.log1p(x) for x in mu) + sum(z * z for z in zw)
        return float(total / 2)


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
    if _is_singular(p.covariance()) or _is_singular(q.covariance()):
        return math.inf, 0.0
    x = sample(p, size, rng)
    terms = _logpdf_gaussian(x, p) - _logpdf_gaussian(x, q)
    return float(np.mean(terms)), float(np.std(terms, ddof=1) / math.sqrt(size))
