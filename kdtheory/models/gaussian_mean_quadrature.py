"""The expectation over the dataset of a function of ``(sigma_D, KL_D)`` in Model A -- Theorem
U0's ``E_D sqrt(2 sigma_D^2 KL_D)`` -- by quadrature in polar coordinates (THEORY §6.4), for
one case (adaptive) and for a batch of cases (fixed nodes as arrays).

**Coordinates** (THEORY §6.4).  ``delta = Zbar - m = sqrt(v) R u`` with ``R ~ chi_d`` and ``u``
uniform on the sphere; with ``a = |a_S - a_T| sqrt(v)``, ``c = ||c_Delta||`` and ``theta`` the
angle between ``u`` and the direction in which ``(a_S - a_T) delta`` points against
``c_Delta`` (density ``∝ sin^(d-2) theta``; for d = 1, ``theta`` in ``{0, pi}``),

    ``||c_Delta + (a_S - a_T) delta||^2 = (c - a R)^2 + 4 c a R sin^2(theta/2)``,

a sum of two nonnegative terms (no cancellation where it is small), ``sigma_D = 2 tau_T sqrt(v)
R`` and ``KL_D = ||.||^2 / (2 tau_T^2) + spread``, ``spread = (d/2) phi(tau_S^2/tau_T^2)``.
The integrand -- a theorem's compiled ``integrand_function`` -- is evaluated at the nodes; it is
smooth except where ``KL_D`` is near 0 (Theorem U0's square root), which happens only near the
point ``R = R* = c/a``, ``theta = 0`` and only when ``spread`` is small: there the integrand has
a (nearly) conical point, ``sqrt(a^2 |delta/sqrt(v) - delta*|^2 + A)`` with ``A = 2 tau_T^2
spread``, and a product Gauss rule converges slowly.

**One case**: :func:`adaptive_expectation`, scipy's adaptive Gauss–Kronrod (QUADPACK) nested in
``(R, theta)``, relative accuracy ~1e-13 at ``epsrel = 1e-13``
(:meth:`GaussianMeanModel.expectation_over_data`).

**A batch** (:func:`expectation_over_data`), tier by tier, each case accepted by the first tier
whose error estimate -- the difference between two rules of different orders, the finer one
kept -- is at most ``rtol`` (1e-12) relative:

1. a product Gauss rule with fixed nodes: Gauss for the ``chi_d`` density in ``R`` (nodes and
   weights from the recurrence of its moments, at 40+ digits, once per ``d``) times
   Gauss–Jacobi in ``cos theta`` for the weight ``(1 - t^2)^((d-3)/2)``; exact for a polynomial
   integrand (a tilt student's), and enough wherever the conical point is far from the
   Gaussian bulk or blunted (``A`` large against ``a^2``);
2. the same product with per-case nodes graded toward the conical point: ``R`` split at ``R*``,
   the two panels next to it mapped by ``sinh`` toward ``R*`` with the offset ``sqrt(A)/a`` of
   the nearest complex singularity, plain Gauss–Legendre farther out; in ``theta``, at each
   ``R`` node, a ``sinh`` map toward ``theta = 0`` with the offset ``2 asinh(sqrt(C/D))`` of
   the singularity of ``sqrt(C + D sin^2(theta/2))`` (the sinh transformation for nearly
   singular integrals, Johnston and Elliott 2005);
3. scipy's elementwise adaptive tanh-sinh quadrature (``scipy.integrate.tanhsinh``), nested
   (``R`` on both sides of ``R*``, ``theta`` at every outer node) and vectorised over the
   remaining cases, at ``rtol / 10``;
4. :func:`adaptive_expectation` for any case left.

On the U0 claim's draws (1e6 cases, seeds 0-9) tier 1 accepts 92 %, tier 2 8 %, tier 3 four
cases and tier 4 none; about 3 s per 1e5 cases on one core.

The tail ``R > sqrt(d) + 10`` is left out: its ``chi_d`` mass is below ``exp(-50)``, and the
integrand grows at most like ``R^2`` there.  The error estimates are the standard a-posteriori
ones of quadrature (as QUADPACK's), not rigorous bounds; ``tests/test_u0_quadrature.py`` checks
the batch against ``mpmath`` references and the adaptive quadrature, conical cases
included.  Theorem U0's tolerance (:data:`kdtheory.theorems.base.RTOL`, 1e-9) is 1000 times the
accepted estimate.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate, special

__all__ = [
    "RTOL",
    "chi_rule",
    "adaptive_expectation",
    "expectation_over_data",
    "reduced_parameters",
]

#: the relative error estimate a tier must reach for a case to be accepted
RTOL = 1e-12
#: the radial range is ``[0, sqrt(d) + R_TAIL]`` (chi_d mass beyond: < exp(-R_TAIL^2 / 2))
R_TAIL = 10.0
#: (rule, coarser rule) node counts: tier 1 ``(R, cos theta)``; tier 2 ``(plain R panels,
#: graded R panels, theta)``
TIER1 = ((36, 24), (30, 20))
TIER2 = ((32, 28, 36), (28, 24, 30))
#: tier 2's theta nodes by d (the weight sin^(d-2) theta steepens the graded map's integrand)
TIER2_THETA = {2: (24, 20), 3: (30, 24)}
#: largest number of node evaluations per chunk of cases (memory and cache)
_CHUNK = 1 << 20


# -- rules -------------------------------------------------------------------------------------
@functools.cache
def chi_rule(d: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes and weights (summing to 1) for the ``chi_d`` density ``2^(1 - d/2) r^(d-1)
    e^(-r^2/2) / Gamma(d/2)`` on ``[0, inf)``: exact for polynomials of degree ``< 2 size``.

    The three-term recurrence comes from the moments ``E R^j = 2^(j/2) Gamma((j+d)/2) /
    Gamma(d/2)`` by Chebyshev's algorithm in ``mpmath`` at ``40 + 3 size`` digits (the moment map is
    ill-conditioned; the working precision absorbs it); nodes and weights from the symmetric
    tridiagonal Jacobi matrix in double precision (Golub–Welsch)."""
    import mpmath as mp
    from scipy.linalg import eigh_tridiagonal

    with mp.workdps(40 + 3 * size):
        half_d = mp.mpf(d) / 2
        mom = [
            mp.mpf(2) ** (mp.mpf(j) / 2) * mp.gamma(mp.mpf(j) / 2 + half_d) / mp.gamma(half_d)
            for j in range(2 * size)
        ]
        alpha, beta = [mp.mpf(0)] * size, [mp.mpf(0)] * size
        prev, cur = [mp.mpf(0)] * (2 * size), list(mom)
        alpha[0], beta[0] = mom[1] / mom[0], mom[0]
        for k in range(1, size):
            nxt = [mp.mpf(0)] * (2 * size)
            for j in range(k, 2 * size - k):
                nxt[j] = cur[j + 1] - alpha[k - 1] * cur[j] - beta[k - 1] * prev[j]
            alpha[k] = nxt[k + 1] / nxt[k] - cur[k] / cur[k - 1]
            beta[k] = nxt[k] / cur[k - 1]
            prev, cur = cur, nxt
        diag = np.array([float(x) for x in alpha])
        off = np.array([float(mp.sqrt(x)) for x in beta[1:]])
    nodes, vectors = eigh_tridiagonal(diag, off)
    return nodes, vectors[0] ** 2


@functools.cache
def _angle_rule(d: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``sin^2(theta/2) = (1 - t)/2`` and weights (summing to 1) of Gauss–Jacobi in
    ``t = cos theta`` for the density ``∝ (1 - t^2)^((d-3)/2)``; d = 1: ``theta`` in ``{0, pi}``."""
    if d == 1:
        return np.array([0.0, 1.0]), np.array([0.5, 0.5])
    t, w = special.roots_jacobi(size, (d - 3) / 2, (d - 3) / 2)
    return (1 - t) / 2, w / np.sum(w)


@functools.cache
def _legendre01(size: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(size)
    return (x + 1) / 2, w / 2


def _sphere_norm(d: int) -> float:
    """``int_0^pi sin^(d-2) theta dtheta = sqrt(pi) Gamma((d-1)/2) / Gamma(d/2)``."""
    return math.sqrt(math.pi) * math.exp(special.gammaln((d - 1) / 2) - special.gammaln(d / 2))


def _chi_pdf(r: np.ndarray, d: int) -> np.ndarray:
    """The ``chi_d`` density at ``r >= 0`` (its value at 0: the constant for d = 1, else 0;
    a node at 0 comes from a panel of length 0)."""
    log_norm = (1 - d / 2) * math.log(2) - special.gammaln(d / 2)
    with np.errstate(divide="ignore"):
        log_r = np.log(r)
    return np.exp(log_norm + (d - 1) * np.where(r > 0, log_r, 0.0) - r * r / 2) * (
        (r > 0) | (d == 1)
    )


# -- the reduced parameters ---------------------------------------------------------------------
def reduced_parameters(m, n, s, student, teacher) -> dict:
    """The parameters the expectation depends on, as arrays of the batch shape: ``v = s^2/n``,
    ``tau_t``, ``da = a_S - a_T``, ``cn = ||c_Delta||`` (the compiled per-coordinate formula
    ``c_Delta``) and ``spread = (d/2) phi(tau_S^2/tau_T^2)`` (formula ``spread``; THEORY §6.2);
    ``student``/``teacher`` are ``(a, b, tau)`` with ``b`` (and ``m``) of shape ``(..., d)``."""
    from .gaussian_mean import _col, _f

    (a_s, b_s, tau_s), (a_t, b_t, tau_t) = student, teacher
    d = np.shape(m)[-1]
    c_delta = _f("c_Delta")(_col(a_s), b_s, _col(a_t), b_t, m)
    cn = np.sqrt(np.sum(c_delta * c_delta, axis=-1))
    shape = np.shape(cn)
    return {
        "d": d,
        "v": np.broadcast_to(np.asarray(s, dtype=float) ** 2 / np.asarray(n, dtype=float), shape),
        "tau_t": np.broadcast_to(np.asarray(tau_t, dtype=float), shape),
        "da": np.broadcast_to(np.asarray(a_s, dtype=float) - a_t, shape),
        "cn": cn,
        "spread": np.broadcast_to(_f("spread")(d, tau_s, tau_t), shape),
    }


# -- one case: adaptive --------------------------------------------------------------------------
def adaptive_expectation(integrand, d, v, tau_t, da, cn, spread, epsrel: float = 1e-13) -> float:
    """``E_D integrand(sigma_D, KL_D)`` for one case by adaptive quadrature (QUADPACK) in polar
    coordinates about ``c_Delta`` (THEORY §6.4; the reduced parameters of
    :func:`reduced_parameters`); relative accuracy ~``epsrel``."""
    t2 = tau_t**2
    sv = math.sqrt(v)

    def f(r, cos_psi):
        sq = cn**2 + 2 * da * sv * cn * r * cos_psi + da**2 * v * r**2
        kl_d = max(sq, 0.0) / (2 * t2) + spread
        return float(integrand({"sigma_D": 2 * tau_t * sv * r, "KL_D": kl_d}))

    log_norm_r = (1 - d / 2) * math.log(2) - special.gammaln(d / 2)

    def chi_pdf(r):
        if r == 0.0:
            return math.exp(log_norm_r) if d == 1 else 0.0
        return math.exp(log_norm_r + (d - 1) * math.log(r) - r * r / 2)

    opts = {"epsabs": 0.0, "epsrel": epsrel, "limit": 400}
    if cn == 0.0 or da == 0.0:
        g = lambda r: f(r, 0.0) * chi_pdf(r)  # noqa: E731 - angle irrelevant
    elif d == 1:
        g = lambda r: 0.5 * (f(r, 1.0) + f(r, -1.0)) * chi_pdf(r)  # noqa: E731
    else:
        norm_psi = 1 / _sphere_norm(d)

        def g(r):
            inner = integrate.quad(
                lambda psi: f(r, math.cos(psi)) * math.sin(psi) ** (d - 2), 0.0, math.pi, **opts
            )[0]
            return inner * norm_psi * chi_pdf(r)

    r_max = math.sqrt(d) + 40.0
    pts = sorted({0.0, math.sqrt(max(d - 1, 0)), r_max})
    return sum(
        integrate.quad(g, lo, hi, **opts)[0]
        for lo, hi in zip(pts[:-1], pts[1:], strict=True)
        if hi > lo
    )


# -- a batch: fixed nodes ------------------------------------------------------------------------
def _case_arrays(p: dict, sel) -> dict:
    """Per-case coefficients, shaped ``(cases, 1, 1)``."""
    v, tau_t = p["v"][sel], p["tau_t"][sel]
    sv = np.sqrt(v)
    out = {
        "cn": p["cn"][sel],
        "a": np.abs(p["da"][sel]) * sv,
        "k1": 1 / (2 * tau_t**2),
        "spread": p["spread"][sel],
        "sig1": 2 * tau_t * sv,
        "A": 2 * tau_t**2 * p["spread"][sel],
    }
    return {k: x[:, None, None] for k, x in out.items()}


def _node_sum(integrand, c: dict, r, s2, weights) -> np.ndarray:
    """``sum integrand * weights`` over nodes ``r`` (``(k|1, NR, 1)``) and ``s2 = sin^2(theta/2)``
    (``(k|1, NR|1, Nt)``), ``weights`` broadcasting to ``(k, NR, Nt)``."""
    cn, a, k1 = c["cn"], c["a"], c["k1"]
    # KL_D = [(c - a r)^2 + 4 c a r sin^2(theta/2)] / (2 tau_T^2) + spread
    kl_d = ((cn - a * r) ** 2 * k1 + c["spread"]) + ((4 * k1) * cn * a * r) * s2
    terms = integrand({"sigma_D": c["sig1"] * r, "KL_D": kl_d}) * weights
    # numpy's pairwise summation along the contiguous last axis: rounding ~ log2(nodes) eps
    # (a plain running sum over ~900 nodes lost ~40 ulps on a tilt student's exact rule)
    return np.sum(terms.reshape(terms.shape[0], -1), axis=1)


def _tier1(integrand, d: int, c: dict, sizes, free: bool) -> np.ndarray:
    r, w_r = chi_rule(d, sizes[0])
    s2, w_s2 = (np.zeros(1), np.ones(1)) if free else _angle_rule(d, sizes[1])
    return _node_sum(integrand, c, r[None, :, None], s2[None, None, :], np.outer(w_r, w_s2))


def _plain(lo, hi, size):
    u, w = _legendre01(size)
    length = (hi - lo)[:, None]
    return lo[:, None] + length * u, length * w


def _graded(lo, hi, offset, size, toward_lo: bool):
    """Gauss–Legendre on ``[lo, hi]`` through ``x = end +- offset sinh(mu u)``, ``u`` in
    ``[0, 1]``, graded toward ``lo`` or ``hi``."""
    u, w = _legendre01(size)
    length, b = (hi - lo)[:, None], offset[:, None]
    mu = np.arcsinh(length / b)
    step = b * np.sinh(mu * u)
    x = lo[:, None] + step if toward_lo else hi[:, None] - step
    return x, b * mu * np.cosh(mu * u) * w


#: smallest offset of a graded map, relative to the panel (a conical point blunted below this
#: scale contributes ``< offset^(d+1)`` relative: not resolved further)
_MIN_OFFSET = 1e-8


def _tier2(integrand, d: int, c: dict, sizes, free: bool) -> np.ndarray:
    n_plain, n_graded, n_theta = sizes
    cn, a, big_a = c["cn"][:, 0, 0], c["a"][:, 0, 0], c["A"][:, 0, 0]
    r0 = math.sqrt(d) + R_TAIL
    safe_a = np.where(a > 0, a, 1.0)
    star = np.clip(np.where(a > 0, cn / safe_a, 0.0), 0.0, r0)
    offset = np.clip(np.where(a > 0, np.sqrt(big_a) / safe_a, np.inf), _MIN_OFFSET, 1e300)
    left, right = np.maximum(star - 1.0, 0.0), np.minimum(star + 1.0, r0)
    panels = [
        _plain(np.zeros_like(star), left, n_plain),
        _graded(left, star, offset, n_graded, toward_lo=False),
        _graded(star, right, offset, n_graded, toward_lo=True),
        _plain(right, np.full_like(star, r0), n_plain),
    ]
    r = np.concatenate([x for x, _ in panels], axis=1)
    w_r = np.concatenate([w for _, w in panels], axis=1) * _chi_pdf(r, d)
    r, w_r = r[:, :, None], w_r[:, :, None]
    if free or d == 1:
        s2, w_s2 = (np.zeros(1), np.ones(1)) if free else _angle_rule(1, 2)
        return _node_sum(integrand, c, r, s2[None, None, :], w_r * w_s2[None, None, :])
    # theta = b sinh(mu u) toward theta = 0, b the singularity offset of sqrt(C + D sin^2(.))
    near = (cn[:, None, None] - a[:, None, None] * r) ** 2 + big_a[:, None, None]
    spread_r = 4 * cn[:, None, None] * a[:, None, None] * r
    with np.errstate(divide="ignore"):
        b = np.clip(2 * np.arcsinh(np.sqrt(near / spread_r)), _MIN_OFFSET, 1e300)
    u, w = _legendre01(n_theta)
    mu = np.arcsinh(math.pi / b)
    e = np.exp(mu * u)
    theta = np.minimum(b * (e - 1 / e) / 2, math.pi)
    half = np.sin(theta / 2)
    s2 = half * half
    # sin^(d-2) theta = (4 s2 (1 - s2))^((d-2)/2)
    sin_power = (4 * s2 * (1 - s2)) ** ((d - 2) / 2)
    w_theta = (b * mu * w / _sphere_norm(d)) * ((e + 1 / e) / 2) * sin_power
    return _node_sum(integrand, c, r, s2, w_r * w_theta)


def _tier3(integrand, d: int, c: dict, free: bool, rtol: float):
    """Nested elementwise adaptive tanh-sinh (``scipy.integrate.tanhsinh``): ``R`` on
    ``[0, R*]`` and ``[R*, sqrt(d) + R_TAIL]``, ``theta`` on ``[0, pi]`` at every outer node.
    Returns ``(values, accepted)``; a case is accepted if its outer integrals converged and no
    inner integral of the call failed to (then every case goes on to tier 4)."""
    cn, a, k1, spread, sig1 = (c[k][:, 0, 0] for k in ("cn", "a", "k1", "spread", "sig1"))
    r0 = math.sqrt(d) + R_TAIL
    star = np.clip(np.where(a > 0, cn / np.where(a > 0, a, 1.0), 0.0), 0.0, r0)
    norm = 1 / _sphere_norm(d) if d > 1 else 1.0
    inner_failed = []

    def at(r, s2, cn, a, k1, spread, sig1):
        sq = (cn - a * r) ** 2 + 4 * cn * a * r * s2
        return integrand({"sigma_D": sig1 * r, "KL_D": sq * k1 + spread})

    def angular(theta, r, cn, a, k1, spread, sig1):
        return at(r, np.sin(theta / 2) ** 2, cn, a, k1, spread, sig1) * np.sin(theta) ** (d - 2)

    def radial(r, cn, a, k1, spread, sig1):
        args = (r, cn, a, k1, spread, sig1)
        if free:
            value = at(r, 0.0, *args[1:])
        elif d == 1:
            value = 0.5 * (at(r, 0.0, *args[1:]) + at(r, 1.0, *args[1:]))
        else:
            res = integrate.tanhsinh(angular, 0.0, math.pi, args=args, rtol=rtol, atol=0.0)
            if not np.all(res.success):
                inner_failed.append(True)
            value = res.integral * norm
        return value * _chi_pdf(r, d)

    total, ok = np.zeros(cn.shape), np.ones(cn.shape, dtype=bool)
    for lo, hi in ((np.zeros_like(star), star), (star, np.full_like(star, r0))):
        res = integrate.tanhsinh(
            radial, lo, hi, args=(cn, a, k1, spread, sig1), rtol=rtol, atol=0.0
        )
        total = total + res.integral
        ok &= res.success
    return total, ok & (not inner_failed)


def expectation_over_data(
    integrand, m, n, s, student, teacher, rtol: float = RTOL, full_output: bool = False
):
    """``E_D integrand(sigma_D, KL_D)`` for a batch of Model A cases with a common ``d``
    (``m`` of shape ``(..., d)``, ``n``, ``s`` of the batch shape; ``student``, ``teacher`` as
    ``(a, b, tau)``), by the tiers of the module doc.  ``integrand`` takes a dict with arrays
    ``sigma_D`` and ``KL_D`` (a theorem's ``integrand_function.unchecked``: the values come from
    validated cases).  With ``full_output``: ``(values, tier)``, the tier (1-4) that accepted
    each case."""
    p = reduced_parameters(m, n, s, student, teacher)
    d = p["d"]
    shape = p["cn"].shape
    flat = {k: np.ravel(x) for k, x in p.items() if k != "d"}
    size = flat["cn"].size
    out = np.full(size, np.nan)
    tier = np.zeros(size, dtype=int)
    free_case = (flat["cn"] == 0) | (flat["da"] == 0)
    for free in (True, False):
        group = np.flatnonzero(free_case == free)
        if group.size:
            _batch(integrand, d, flat, group, free, rtol, out, tier)
    out, tier = out.reshape(shape), tier.reshape(shape)
    return (out, tier) if full_output else out


def _accept(out, tier, idx, value, estimate, level, rtol):
    ok = np.isfinite(value) & (estimate <= rtol * np.abs(value))
    out[idx[ok]] = value[ok]
    tier[idx[ok]] = level
    return idx[~ok]


def _batch(integrand, d, p, group, free, rtol, out, tier):
    """The tiers for the cases ``group`` (all with or all without an angle, per ``free``)."""

    def tier_pass(cases, rule, sizes, nodes, level):
        """One tier on ``cases`` in chunks of at most ``_CHUNK`` nodes: a case is accepted where
        the fine and coarse rules agree (:func:`_accept`); returns the others."""
        step = max(1, _CHUNK // (nodes * (1 if free or d == 1 else sizes[0][-1])))
        left = []
        for start in range(0, cases.size, step):
            idx = cases[start : start + step]
            c = _case_arrays(p, idx)
            fine = rule(integrand, d, c, sizes[0], free)
            coarse = rule(integrand, d, c, sizes[1], free)
            left.append(_accept(out, tier, idx, fine, np.abs(fine - coarse), level, rtol))
        return np.concatenate(left) if left else np.zeros(0, dtype=int)

    left = tier_pass(group, _tier1, TIER1, TIER1[0][0], 1)
    sizes = TIER2
    if d in TIER2_THETA:
        sizes = tuple((*sz[:2], t) for sz, t in zip(TIER2, TIER2_THETA[d], strict=True))
    rest = tier_pass(left, _tier2, sizes, 2 * sizes[0][0] + 2 * sizes[0][1], 2)
    if rest.size:
        with np.errstate(all="ignore"):
            value, ok = _tier3(integrand, d, _case_arrays(p, rest), free, rtol / 10)
        good = ok & np.isfinite(value)
        out[rest[good]] = value[good]
        tier[rest[good]] = 3
        rest = rest[~good]
    for i in rest:
        out[i] = adaptive_expectation(
            integrand, d, *(float(p[k][i]) for k in ("v", "tau_t", "da", "cn", "spread"))
        )
        tier[i] = 4
