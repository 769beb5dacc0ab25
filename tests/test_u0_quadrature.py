"""Theorem U0's per-dataset expectation in Model A (THEORY §3, §6.4) against references that
share nothing with the code's polar quadrature but the model's definition.

``GaussianMeanModel.expectation_over_data`` integrates in polar coordinates about ``c_Delta``
(``R ~ chi_d``, angle ``psi``; for d = 1 the two points ``psi in {0, pi}``).  The references here
integrate over ``delta = Zbar - m ~ N(0, v I_d)`` itself:

* ``KL_D`` is the Gaussian KL of the two kernels at the dataset, built from the kernels' means
  ``a Zbar + b`` (their difference is ``c_Delta + da delta``, ``c_Delta = da m + b_S - b_T``), and
  ``sigma_D = 2 tau_T ||delta||`` (THEORY §6.4), so the integrand is
  ``sqrt(2 sigma_D^2 KL_D) = 2 ||delta|| sqrt(||c_Delta + da delta||^2 + d tau_T^2 phi(r))``;
* d = 1: a 1-D integral over ``delta`` on the real line (scipy ``quad`` and ``mpmath.quad``,
  split at the kink of ``|delta|`` at 0 and of the KL term at ``c + da delta = 0``);
* d = 2, 3: ``delta = x e + (perpendicular part)`` with ``e = c_Delta/||c_Delta||``: a 2-D
  ``mpmath.quad`` over ``x ~ N(0, v)`` and the perpendicular norm ``rho ~ sqrt(v) chi_{d-1}``
  (Cartesian along ``c_Delta``, not the code's ``(R, psi)``), on ``|x|, rho <= 12 sqrt(v)``
  (the Gaussian mass outside is below ``exp(-72)``);
* a Monte Carlo twin simulating whole datasets ``Z_i ~ N(m, s^2 I)``.

Golden values are not typed in: every reference is computed here from the case parameters.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate

from kdtheory import GaussianMeanModel, theorem

U0 = theorem("U0")

#: (d, n, s, m, (a_T, b_T, tau_T), (a_S, b_S, tau_S)); b and m are d-vectors
CASES = {
    # the d = 1 polar branch (c_Delta != 0, da != 0), r != 1
    "d1": (1, 3, 1.1, [0.7], (0.5, [0.2], 0.6), (0.9, [-0.3], 0.8)),
    # d = 1, r = 1 (no spread term): the KL term has a kink at delta = -c/da, da < 0
    "d1-kink": (1, 5, 0.8, [-0.4], (1.2, [0.3], 0.5), (0.6, [0.1], 0.5)),
    # d = 1 with c_Delta = 0 (the angle-free branch): a tilt-like student, r != 1
    "d1-centred": (1, 2, 1.5, [0.0], (0.4, [0.0], 0.7), (1.1, [0.0], 0.3)),
    "d2": (2, 3, 1.1, [0.7, -0.4], (0.5, [0.2, 0.1], 0.6), (0.9, [-0.3, 0.25], 0.8)),
    "d3": (
        3,
        3,
        1.1,
        [0.7, -0.4, 1.1],
        (0.5, [0.2, 0.1, -0.3], 0.6),
        (0.9, [-0.3, 0.25, 0.05], 0.8),
    ),
}


def _setup(name):
    d, n, s, m, (a_t, b_t, tau_t), (a_s, b_s, tau_s) = CASES[name]
    model = GaussianMeanModel(d=d, n=n, s=s, m=m)
    teacher, student = model.kernel(a_t, b_t, tau_t), model.kernel(a_s, b_s, tau_s)
    code = model.expectation_over_data(U0.integrand_function, student, teacher)
    m, b_t, b_s = (np.asarray(x, dtype=float) for x in (m, b_t, b_s))
    v = s * s / n
    c_delta = (a_s - a_t) * m + (b_s - b_t)  # difference of the kernel means at delta = 0
    r = tau_s**2 / tau_t**2
    spread = d * tau_t**2 * (r - 1 - math.log(r))  # 2 tau_T^2 (d/2) phi(r)
    ref = {"d": d, "v": v, "c": float(np.linalg.norm(c_delta)), "da": a_s - a_t, "spread": spread}
    sim = {"d": d, "n": n, "s": s, "m": m, "T": (a_t, b_t, tau_t), "S": (a_s, b_s, tau_s)}
    return code, ref, sim


def _breakpoints(c, da, half_width):
    """0 (kink of ||delta||) and -c/da (kink of the KL term when r = 1) inside the window."""
    pts = {0.0, -half_width, half_width}
    if da != 0 and abs(c / da) < half_width:
        pts.add(-c / da)
    return sorted(pts)


def _scipy_d1(c, da, v, spread, **_):
    """E over delta ~ N(0, v) of 2 |delta| sqrt((c + da delta)^2 + spread), 1-D adaptive quad."""

    def h(x):
        dens = math.exp(-x * x / (2 * v)) / math.sqrt(2 * math.pi * v)
        return dens * 2 * abs(x) * math.sqrt((c + da * x) ** 2 + spread)

    pts = _breakpoints(c, da, 12 * math.sqrt(v))
    opts = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
    inner = sum(integrate.quad(h, lo, hi, **opts)[0] for lo, hi in zip(pts, pts[1:], strict=False))
    tails = integrate.quad(h, -math.inf, pts[0], **opts)[0]
    tails += integrate.quad(h, pts[-1], math.inf, **opts)[0]
    return inner + tails


def _mpmath_reference(d, c, da, v, spread):
    """The same expectation with mpmath.quad (tanh-sinh): 1-D for d = 1, else 2-D over the
    component x of delta along c_Delta and the norm rho of the perpendicular part."""
    with mp.workdps(15):
        vv, c_, da_, sp_ = (mp.mpf(x) for x in (v, c, da, spread))
        k = d - 1

        def gauss(x):
            return mp.exp(-x * x / (2 * vv)) / mp.sqrt(2 * mp.pi * vv)

        def perp(rho):  # density of the norm of N(0, v I_k), i.e. sqrt(v) chi_k
            return (
                2
                * rho ** (k - 1)
                * mp.exp(-rho * rho / (2 * vv))
                / ((2 * vv) ** (mp.mpf(k) / 2) * mp.gamma(mp.mpf(k) / 2))
            )

        def h(x, rho):
            return (
                2
                * mp.sqrt(x * x + rho * rho)
                * mp.sqrt((c_ + da_ * x) ** 2 + (da_ * rho) ** 2 + sp_)
            )

        half = 12 * mp.sqrt(vv)
        xs = [mp.mpf(p) for p in _breakpoints(c, da, float(half))]
        if d == 1:
            return float(mp.quad(lambda x: gauss(x) * h(x, 0), xs))
        return float(mp.quad(lambda x, rho: gauss(x) * perp(rho) * h(x, rho), xs, [0, half]))


def _monte_carlo(sim, size, rng):
    """``(mean, standard error)`` of sqrt(2 sigma_D^2 KL_D) over simulated datasets."""
    d, n, s, m = sim["d"], sim["n"], sim["s"], sim["m"]
    (a_t, b_t, tau_t), (a_s, b_s, tau_s) = sim["T"], sim["S"]
    zbar = (m + s * rng.standard_normal((size, n, d))).mean(axis=1)
    mean_gap = (a_s * zbar + b_s) - (a_t * zbar + b_t)
    r = tau_s**2 / tau_t**2
    kl_d = np.sum(mean_gap**2, axis=1) / (2 * tau_t**2) + 0.5 * d * (r - 1 - math.log(r))
    sigma2_d = 4 * tau_t**2 * np.sum((zbar - m) ** 2, axis=1)
    x = np.sqrt(2 * sigma2_d * kl_d)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(size))


@pytest.mark.parametrize("name", ["d1", "d1-kink", "d1-centred"])
def test_u0_d1_against_scipy_quad(name):
    code, ref, _ = _setup(name)
    assert code == pytest.approx(_scipy_d1(**ref), rel=1e-11)


@pytest.mark.parametrize("name", ["d1", "d1-kink", "d1-centred", "d2", "d3"])
def test_u0_against_mpmath_quadrature(name):
    """mpmath at 15 digits agrees with the polar quadrature to ~1e-15 on these cases; 1e-11
    leaves room for either side's quadrature error and still sees any real slip."""
    code, ref, _ = _setup(name)
    assert code == pytest.approx(_mpmath_reference(**ref), rel=1e-11)


@pytest.mark.parametrize("name", list(CASES))
def test_u0_monte_carlo_twin(name):
    """2e5 simulated datasets (seeded).  |code - mean| <= 5 standard errors: a correct U0 falls
    outside with probability ~6e-7 (two-sided normal tail at 5 sigma; the CLT is adequate at
    this size for an integrand with Gaussian tails)."""
    code, _, sim = _setup(name)
    mean, se = _monte_carlo(sim, 200_000, np.random.default_rng(20261206))
    assert abs(code - mean) <= 5 * se
    assert se < 0.01 * code  # the twin is sharp enough to see a 1 % error
