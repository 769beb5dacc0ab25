"""The ball average of the bump kernel's Gaussian, ``Psi``, in double precision and in arb
(THEORY §5, §6 A-bump): the numeric implementations of the registered function
:class:`kdtheory.formulas.compile.ball_average`, whose definition (the closed form with the
non-central chi-square probability written as the integral of its density) is in that class.

``Psi(x) = (2 pi omega^2)^(d/2) / vol(B(0, R)) * P(chi'^2_d(||c_K||^2/q) <= R^2/q)``,
``q = omega^2 + x``: the prefactor ``~R^-d`` overflows for ``R <~ 1e-154`` or ``d >~ 300`` while
``P`` underflows, so the double-precision evaluation (:func:`ball_average_numpy`) works in log
space with a small-ball expansion and an extended-precision far tail; that is why the registered
function is the whole ball average and not the bare CDF.  :func:`ball_average_arb` encloses the
same quantity by its Poisson mixture with a rigorous bound on the rest.

No validation here (the model class validates).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.stats import ncx2

__all__ = ["ball_average_numpy", "ball_average_arb"]

#: below this non-centrality the central chi-square CDF is used (see :func:`ball_average_numpy`)
NC_CENTRAL = float(np.finfo(float).eps)


#: small-radius parameter ``t = R^2 (d + ||c_K||^2/q)/q`` at or below which the two-term
#: expansion of :func:`_small_ball_average` is used (its neglected ``O(t^2)`` term is < 1e-16)
SMALL_BALL_T = 1e-8
#: ``ncx2.cdf`` values below this are recomputed by the extended-precision Poisson mixture
#: (:func:`_log_ball_probability_mp`): far below it scipy's value becomes subnormal or 0
PROB_FLOOR = 1e-280
#: most Poisson terms the extended-precision tail evaluation sums before giving up
MAX_POISSON_TERMS = 20_000


def ball_average_numpy(ck2, radius, omega, x, d):
    """``Psi(x) = E_U (omega^2/q)^(d/2) exp(-||c_K + U||^2/(2q))``, ``U ~ Unif(B(0, radius))``,
    ``q = omega^2 + x``, ``ck2 = ||c_K||^2``: the Gaussian integral over the ball is
    ``(2 pi omega^2)^(d/2) / vol(B(0, radius)) * P(chi'^2_d(ck2/q) <= radius^2/q)`` (module
    docstring; THEORY §5, §6 A-bump).

    Evaluated in log space, ``exp(log_pref + log P)``, so the prefactor (``~radius^-d``, which
    overflows for ``radius <~ 1e-154`` or ``d >~ 300``) never meets an underflowed ``P``:

    * ``t = radius^2 (d + ck2/q)/q <=`` :data:`SMALL_BALL_T`: the small-ball expansion
      :func:`_small_ball_average` (exact limit ``radius -> 0`` plus its ``radius^2`` term);
    * otherwise ``P = ncx2.cdf`` where it is at least :data:`PROB_FLOOR`;
    * below that (the far left tail: large ``d``, small ball) ``log P`` from the Poisson mixture
      in extended precision (:func:`_log_ball_probability_mp`), element by element.

    A non-centrality ``nc = ck2/q`` below :data:`NC_CENTRAL` (machine epsilon) is evaluated as 0
    (``ncx2.cdf`` then uses the central ``chi2`` CDF): ``scipy.special.chndtr`` is wrong for
    subnormal ``nc`` (relative error ~1e-5 at ``nc = 1e-320``, scipy 1.17), while the Poisson
    mixture ``P(nc) = e^{-nc/2} sum_j (nc/2)^j/j! F_{d+2j}(y)`` with ``F_{d+2j} <= F_d`` gives
    ``e^{-nc/2} F_d(y) <= P(nc) <= F_d(y)``: replacing ``P(nc)`` by ``F_d(y)`` is off by at most
    ``nc/2 < 1.2e-16`` relative.  Inputs with ``ck2 = inf`` (an offset beyond ~1e154) raise
    ``ValueError``: NaN is never returned."""
    ck2, radius, omega, x = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (ck2, radius, omega, x))
    )
    d = np.asarray(d)
    if not np.all(np.isfinite(ck2)):
        raise ValueError(
            "||c_K||^2 = ||(a - 1) m + b||^2 overflows (an offset beyond ~1e154); the ball "
            "average supports ||c_K|| < 1e154"
        )
    q = omega**2 + x
    nc = ck2 / q
    t = radius**2 * (d + nc) / q
    small = t <= SMALL_BALL_T
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        y = radius**2 / q
        prob = ncx2.cdf(np.where(small, 1.0, y), d, np.where(nc < NC_CENTRAL, 0.0, nc))
        log_pref = 0.5 * d * np.log(2 * omega**2) - d * np.log(radius) + special.gammaln(d / 2 + 1)
        log_prob = np.log(prob)
    tail = ~small & ~(prob >= PROB_FLOOR)
    if np.any(tail):
        log_prob = np.array(log_prob, dtype=float)
        dd = np.broadcast_to(d, tail.shape)
        fast, done = _log_ball_probability_grouped(y[tail], dd[tail].astype(float), nc[tail])
        log_prob[tail] = fast
        for idx in np.argwhere(tail)[~done]:  # the few the float series cannot settle
            i = tuple(idx)
            log_prob[i] = _log_ball_probability_mp(float(y[i]), int(dd[i]), float(nc[i]))
    with np.errstate(under="ignore", over="ignore"):
        general = np.exp(log_pref + log_prob)
    out = np.where(small, _small_ball_average(ck2, radius, q, omega, d), general)
    return out if out.ndim else out[()]


def _small_ball_average(ck2, radius, q, omega, d):
    """``Psi`` for a small ball: ``E_U g(c + U)`` with ``g(w) = (omega^2/q)^(d/2) exp(-||w||^2/(2q))``
    expanded in ``U`` (``E U = 0``, ``E U U^T = radius^2 I/(d + 2)``):
    ``g(c) [1 + radius^2 (ck2/q - d) / (2 q (d + 2))] + O(t^2 g(c))`` with
    ``t = radius^2 (d + ck2/q)/q`` (the quartic moments of ``U`` are ``O(radius^4)``); used for
    ``t <=`` :data:`SMALL_BALL_T`, where the remainder is below 1e-16 relative."""
    with np.errstate(under="ignore", divide="ignore"):
        log_g = 0.5 * d * np.log(omega**2 / q) - ck2 / (2 * q)
        return np.exp(log_g) * (1 + radius**2 * (ck2 / q - d) / (2 * q * (d + 2)))


#: Poisson terms summed by the vectorised tail evaluation :func:`_log_ball_probability` (at
#: least; :func:`_log_ball_probability_grouped` doubles it per group as the elements need)
FLOAT_POISSON_TERMS = 96
#: the most Poisson terms of the vectorised evaluation, and the most array entries at once
MAX_FLOAT_POISSON_TERMS, MAX_TAIL_ENTRIES = 8192, 2_000_000


def _log_ball_probability_grouped(y, d, nc):
    """:func:`_log_ball_probability` with enough terms per element: the rest bound needs
    ``J >~ sqrt(lam z)`` terms (the ratio ``lam z / ((J + 1)(a + 1))`` of the bounds ``U_j``
    must fall below 1), so elements are grouped by ``J = 96 * 2^k >= 2 sqrt(lam z) + 64`` and
    evaluated in row chunks of at most :data:`MAX_TAIL_ENTRIES` entries."""
    need = 2 * np.sqrt(nc / 2 * y / 2) + 64
    terms = np.full(y.shape, FLOAT_POISSON_TERMS)
    while np.any((need > terms) & (terms < MAX_FLOAT_POISSON_TERMS)):
        terms = np.where((need > terms) & (terms < MAX_FLOAT_POISSON_TERMS), 2 * terms, terms)
    total, settled = np.empty(y.shape), np.zeros(y.shape, dtype=bool)
    for count in np.unique(terms):
        rows = np.flatnonzero(terms == count)
        step = max(1, MAX_TAIL_ENTRIES // int(count))
        for k in range(0, rows.size, step):
            r = rows[k : k + step]
            total[r], settled[r] = _log_ball_probability(y[r], d[r], nc[r], int(count))
    return total, settled


def _log_ball_probability(y, d, nc, count: int = FLOAT_POISSON_TERMS):
    """``(log P(chi'^2_d(nc) <= y), settled)`` for 1-d arrays, vectorised in floats: the Poisson
    mixture of :func:`_log_ball_probability_mp` in log space, its first ``count`` terms ``T_j`` with ``log P(a, z) = a log z - z - log Gamma(a + 1) +
    log M(1, a + 1, z)`` (Kummer; ``M = hyp1f1``, ``a = d/2 + j``, ``z = y/2``), summed by
    log-sum-exp.  ``settled`` is False where the rest is not provably below 1e-17 of the sum
    by the bound ``T_j <= U_j`` of :func:`_log_ball_probability_mp` (ratios of ``U_j`` decrease:
    the rest is at most ``U_J / (1 - U_{J+1}/U_J)``), or where a term is not finite; those
    elements are for the extended-precision evaluation.  Accuracy: the log is summed from
    terms of absolute rounding ~1e-16 |log T_j|, so ``P`` has a relative error ~1e-16 |log P|
    (1.1e-13 at worst against the 30-digit evaluation on 2,000 random tail cases)."""
    lam, z = nc / 2, y / 2
    j = np.arange(count, dtype=float)
    a = d[:, None] / 2 + j
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        log_lam = np.where(lam > 0, np.log(lam), -np.inf)[:, None]
        log_w = -lam[:, None] + np.where(j > 0, j * log_lam, 0.0) - special.gammaln(j + 1)
        log_z = np.log(z)[:, None]
        log_p = (
            a * log_z
            - z[:, None]
            - special.gammaln(a + 1)
            + np.log(special.hyp1f1(1.0, a + 1, z[:, None]))
        )
        terms = log_w + log_p
        top = np.max(terms, axis=1)
        total = top + np.log(np.sum(np.exp(terms - top[:, None]), axis=1))
        big_j = float(count)
        a_next = d / 2 + big_j
        log_u = (
            -lam
            + np.where(lam > 0, big_j * np.log(lam), -np.inf)
            - special.gammaln(big_j + 1)
            + a_next * np.log(z)
            - special.gammaln(a_next + 1)
        )
        ratio = lam * z / ((big_j + 1) * (a_next + 1))
        rest = np.where(ratio < 1, log_u - np.log1p(-np.minimum(ratio, 0.5)), np.inf)
    settled = (
        np.isfinite(total)
        & np.all(np.isfinite(terms) | (terms == -np.inf), axis=1)
        & (ratio < 1)
        & (rest <= total - 17 * math.log(10))
    )
    return total, settled


def _log_ball_probability_mp(y: float, d: int, nc: float, dps: int = 30) -> float:
    """``log P(chi'^2_d(nc) <= y)`` from the Poisson mixture
    ``e^{-nc/2} sum_j (nc/2)^j/j! P(d/2 + j, y/2)`` (regularised lower incomplete gamma) in
    ``dps``-digit arithmetic, which has no underflow: the far left tail where ``ncx2.cdf``
    flushes to 0 (scipy's ``chndtr`` already returns 0 at ``y = 0.02, d = 1, nc = 440``, where
    the probability is ~1e-95).  Summation stops once the rest is provably below ``10^-dps`` of
    the sum, by either bound on the terms ``T_j``: ``T_{j+1} <= T_j (nc/2)/(j + 1)`` (``P``
    decreases in its first argument) or ``T_j <= U_j = e^{-nc/2} (nc/2)^j/j! (y/2)^a/Gamma(a+1)``,
    ``a = d/2 + j`` (``P(a, z) <= z^a/Gamma(a + 1)``), whose ratios decrease; more than
    :data:`MAX_POISSON_TERMS` terms raise ``ValueError``."""
    import mpmath

    lam, z = nc / 2, y / 2
    log_lam = math.log(lam) if lam > 0 else -math.inf
    log_z = math.log(z)

    def log_u(j):  # log U_j, for the stopping rule only
        a = d / 2 + j
        return (
            -lam + (j * log_lam if j else 0.0) - math.lgamma(j + 1) + a * log_z - math.lgamma(a + 1)
        )

    with mpmath.workdps(dps):
        mlam, mz = mpmath.mpf(lam), mpmath.mpf(z)
        total, j = mpmath.mpf(0), 0
        while True:
            log_w = -mlam + (j * mpmath.log(mlam) if j else 0) - mpmath.loggamma(j + 1)
            term = mpmath.exp(log_w) * mpmath.gammainc(
                mpmath.mpf(d) / 2 + j, 0, mz, regularized=True
            )
            total += term
            if lam == 0:
                break
            # both bounds on the rest, compared in log space (they underflow in floats)
            log_total = float(mpmath.log(total)) if total > 0 else -math.inf
            ratio_u = lam * z / ((j + 2) * (d / 2 + j + 2))  # U_{i+1}/U_i for every i > j
            log_rest_u = log_u(j + 1) - math.log1p(-ratio_u) if ratio_u < 1 else math.inf
            ratio_t = lam / (j + 1)  # T_{i+1}/T_i <= nc/(2(i + 1)) <= ratio_t for every i >= j
            log_rest_t = (
                float(mpmath.log(term)) + math.log(ratio_t) - math.log1p(-ratio_t)
                if ratio_t < 1 and term > 0
                else math.inf
            )
            if min(log_rest_u, log_rest_t) <= log_total - dps * math.log(10):
                break
            j += 1
            if j > MAX_POISSON_TERMS:
                raise ValueError(
                    f"the ball average's non-centrality ||c_K||^2/q = {nc!r} needs more than "
                    f"{MAX_POISSON_TERMS} Poisson terms in the far tail (d = {d}, "
                    f"radius^2/q = {y!r}); supported: ||c_K||^2/q <~ {MAX_POISSON_TERMS}"
                )
        return float(mpmath.log(total))


def ball_average_arb(ck2, radius, omega, x, d):
    """An arb ball enclosing ``Psi(x) = (2 omega^2)^(d/2) Gamma(d/2 + 1) / R^d *
    e^{-lam} sum_j lam^j/j! P(d/2 + j, z)`` (``lam = ck2/(2q)``, ``z = R^2/(2q)``, ``q = omega^2 +
    x``, ``P`` the regularised lower incomplete gamma; the Poisson mixture of the non-central
    chi-square CDF; ``P(a, z) = z^a e^{-z} M(1, a + 1, z)/Gamma(a + 1)``, Kummer's form as in
    :func:`_log_ball_probability`).  The first ``J`` terms are summed in arb; the rest lies in
    ``[0, U_J/(1 - r)]`` by the bound ``T_j <= U_j = e^{-lam} lam^j/j! z^(d/2+j)/Gamma(d/2+j+1)``
    of :func:`_log_ball_probability_mp` (ratios of ``U_j`` at most ``r < 1``), and summation stops
    once that bound is below ``2^-(prec + 8)`` of the sum; more than :data:`MAX_POISSON_TERMS`
    terms raise ``ValueError``."""
    from flint import arb, ctx

    q = omega * omega + x
    lam, z = ck2 / (2 * q), radius * radius / (2 * q)
    half_d = arb(d) / 2
    tol = arb(2) ** (-(ctx.prec + 8))
    total, weight = arb(0), (-lam).exp()
    for j in range(MAX_POISSON_TERMS):
        a = half_d + j
        # P(a, z) by Kummer's form (arb's gamma_lower loses every digit for a >~ 300)
        p_az = (z.log() * a - z).exp() / (a + 1).gamma() * z.hypgeom_1f1(1, a + 1)
        total += weight * p_az
        weight = weight * lam / (j + 1)  # the Poisson weight of term j + 1
        ratio = lam * z / ((j + 2) * (a + 2))  # bounds U_{i+1}/U_i for every i >= j + 1
        if ratio < arb(1) / 2:
            rest = weight * (z.log() * (a + 1)).exp() / (a + 2).gamma() / (1 - ratio)
            if (lam == 0) or rest < total * tol:
                total += arb(0).union(rest.upper()) if lam != 0 else 0
                break
    else:
        raise ValueError(f"the ball average needs more than {MAX_POISSON_TERMS} Poisson terms")
    prefactor = ((2 * omega * omega).log() * half_d).exp() * (half_d + 1).gamma()
    return prefactor / (radius.log() * d).exp() * total
