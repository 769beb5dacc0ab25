"""Uniform-ball kernel closed forms as array code (THEORY §5, §6 A-bump): one source for the
scalar methods of :class:`~kdtheory.models.ball_kernel.BallKernelModel` and the vectorised audit
claim ``S``.

Shapes as in :mod:`kdtheory.models.bump_arrays`: ``n``, ``s``, ``omega`` and a kernel's ``a`` and
``radius`` of batch shape ``(...)``, ``m`` and ``b`` of shape ``(..., d)`` with one common ``d``;
scalars broadcast, so one function serves one case or a million.  A kernel is
``W | D ~ Uniform(B(a Zbar + b, radius))``.  No validation here (the model class validates);
float arithmetic, numpy ufuncs and ``scipy.stats.ncx2.cdf`` only.
"""

from __future__ import annotations

import numpy as np
from scipy import special
from scipy.stats import ncx2

from . import bump_arrays as _barr
from .gaussian_mean_arrays import _offset

__all__: list[str] = []

#: containment slack for ``||b_S - b_T|| + R_S <= R_T`` (relative, absorbs rounding)
CONTAIN_RTOL = 1e-12
#: below this non-centrality the central chi-square CDF is used (see :func:`_ball_average`)
NC_CENTRAL = float(np.finfo(float).eps)


def _ball_average(ck2, radius, omega, x, d):
    """``Psi(x) = E_U (omega^2/q)^(d/2) exp(-||c_K + U||^2/(2q))``, ``U ~ Unif(B(0, radius))``,
    ``q = omega^2 + x``, ``ck2 = ||c_K||^2``: the Gaussian integral over the ball is
    ``(2 pi omega^2)^(d/2) / vol(B(0, radius)) * P(chi'^2_d(ck2/q) <= radius^2/q)`` (module
    docstring of :mod:`~kdtheory.models.ball_kernel`; THEORY §5, §6 A-bump).

    A non-centrality ``nc = ck2/q`` below :data:`NC_CENTRAL` (machine epsilon) is evaluated as 0
    (``ncx2.cdf`` then uses the central ``chi2`` CDF): ``scipy.special.chndtr`` is wrong for
    subnormal ``nc`` (relative error ~1e-5 at ``nc = 1e-320``, scipy 1.17), while the Poisson
    mixture ``P(nc) = e^{-nc/2} sum_j (nc/2)^j/j! F_{d+2j}(y)`` with ``F_{d+2j} <= F_d`` gives
    ``e^{-nc/2} F_d(y) <= P(nc) <= F_d(y)``: replacing ``P(nc)`` by ``F_d(y)`` is off by at most
    ``nc/2 < 1.2e-16`` relative."""
    q = omega**2 + x
    nc = ck2 / q
    prob = ncx2.cdf(radius**2 / q, d, np.where(nc < NC_CENTRAL, 0.0, nc))
    log_pref = 0.5 * d * np.log(2 * omega**2) - d * np.log(radius) + special.gammaln(d / 2 + 1)
    return np.exp(log_pref) * prob


def _ball_averages(a, b, radius, m, n, s, omega):
    """``(Psi(v_tr), Psi(v_te))`` with Model A-bump's variances at ``tau = 0``,
    ``v_tr = s^2 (1 - 2a/n + a^2/n)``, ``v_te = s^2 (1 + a^2/n)`` (THEORY §6 A-bump): given the
    ball offset ``U``, ``W - Z_i`` and ``W - Z'`` are Gaussian with these variances."""
    c = _offset(a, b, m)
    ck2 = np.sum(c * c, axis=-1)
    d = np.shape(m)[-1]
    return (
        _ball_average(ck2, radius, omega, _barr._train_variance(a, 0.0, n, s), d),
        _ball_average(ck2, radius, omega, _barr._test_variance(a, 0.0, n, s), d),
    )


def _gen(a, b, radius, m, n, s, omega):
    """``gen = Psi(v_tr) - Psi(v_te)`` (THEORY §6 A-bump with a uniform ball kernel)."""
    psi_tr, psi_te = _ball_averages(a, b, radius, m, n, s, omega)
    return psi_tr - psi_te


def _centre_shift(b_s, b_t):
    """``||b_S - b_T||``: how far the student's ball centre sits from the teacher's (same ``a``)."""
    diff = b_s - b_t
    return np.sqrt(np.sum(diff * diff, axis=-1))


def _inside(a_s, b_s, r_s, a_t, b_t, r_t):
    """Whether the student's ball lies in the teacher's for every dataset: ``a_S = a_T`` and
    ``||b_S - b_T|| + R_S <= R_T`` (relative slack :data:`CONTAIN_RTOL`)."""
    return (a_s == a_t) & (_centre_shift(b_s, b_t) + r_s <= r_t * (1 + CONTAIN_RTOL))


def _distillation_divergence(a_s, b_s, r_s, a_t, b_t, r_t, d):
    """``K_n = d log(R_T / R_S)`` where the student's ball lies in the teacher's for every
    dataset (:func:`_inside`), ``+inf`` elsewhere (the student's law is then not absolutely
    continuous w.r.t. the teacher's with positive probability; THEORY §1, §5)."""
    inside = _inside(a_s, b_s, r_s, a_t, b_t, r_t)
    # R_S within the containment slack above R_T is R_S = R_T up to rounding: K_n = 0, not < 0
    with np.errstate(divide="ignore"):
        return np.where(inside, np.maximum(d * np.log(r_t / r_s), 0.0), np.inf)


def _sharpness_constants(d, s, omega):
    """``(G1, beta)`` with ``G1 = (1/omega + C/sqrt(omega^2 + s^2))/sqrt(e)`` and
    ``beta = 1/omega^2 + C/(omega^2 + s^2)``, ``C = (omega^2/(omega^2 + s^2))^(d/2)``: bounds on
    ``||grad g||`` and ``||Hess g||_op`` at every ``w`` and every dataset (THEORY §5; derivation
    in the module docstring of :mod:`~kdtheory.models.ball_kernel`)."""
    c = _barr._gap_floor(d, s, omega)
    sig2 = omega**2 + s**2
    return (1 / omega + c / np.sqrt(sig2)) / np.sqrt(np.e), 1 / omega**2 + c / sig2


def _hoeffding_scale(d, s, omega):
    """``sigma_bar = (1 + C)/2``: Hoeffding's sub-Gaussian scale of a gap in ``(-C, 1]`` under any
    law (THEORY §3, §6 A-bump)."""
    return (1 + _barr._gap_floor(d, s, omega)) / 2


def _theorem_values(m, n, s, omega, a_s, b_s, r_s, a_t, b_t, r_t):
    """Exact values of Theorem S's symbols (``dgen``, ``K_n``, ``G1``, ``beta``, ``rho = R_T``)
    and of Theorem U-uniform's (``sigma_bar``) for uniform-ball students and teachers (THEORY §3,
    §5, §6 A-bump)."""
    d = np.shape(m)[-1]
    gen_s = _gen(a_s, b_s, r_s, m, n, s, omega)
    gen_t = _gen(a_t, b_t, r_t, m, n, s, omega)
    g1, beta = _sharpness_constants(d, s, omega)
    return {
        "dgen": gen_s - gen_t,
        "gen_S": gen_s,
        "gen_T": gen_t,
        "K_n": _distillation_divergence(a_s, b_s, r_s, a_t, b_t, r_t, d),
        "G1": g1,
        "beta": beta,
        "rho": r_t,
        "sigma_bar": _hoeffding_scale(d, s, omega),
    }
