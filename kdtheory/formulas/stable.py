"""Numerically stable implementations of the registered overrides of
:mod:`kdtheory.formulas.compile` that are longer than a line (STYLE.md "Model formulas as data":
a hand-written stable form is allowed only with a test that it equals the symbolic one --
``tests/test_formulas_cgf.py`` checks each against its definition at 50 digits).

* :func:`log1pmx_numpy` -- ``log(1 + x) - x`` without cancellation (the centred joint CGF of
  Model A, THEORY §6.5);
* :func:`tightness_ratio_numpy` -- ``exp(1 + W_0((t log t - t)/e)) - t``, the smoothing
  tightness radius over ``tau_S^2`` (THEORY §6.6), by its series near the branch point.

No validation here: the callers mask their arguments.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SERIES_THRESHOLD", "log1pmx_numpy", "tightness_ratio_numpy", "tightness_ratio_arb"]

#: below this ``delta_t = 1 - tau_T^2/tau_S^2`` the Lambert-W form loses its precision and the
#: series of THEORY §6.6 is used (its truncation error is O(delta_t^4), < 1e-12 relative here).
SERIES_THRESHOLD = 1e-4


def log1pmx_numpy(x):
    """``log(1 + x) - x`` without cancellation: for ``|x| <= 1/4`` via ``u = x/(2+x)``,
    ``log(1+x) - x = -x u + 2 (atanh(u) - u)`` and the series ``atanh(u) - u = sum u^(2k+1)/(2k+1)``
    (``|u| <= 1/7``: 11 terms reach 1e-18 relative); else directly (``nan`` for ``x <= -1``, where
    the callers mask the value out)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) <= 0.25
    xs = np.where(small, x, 0.0)
    u = xs / (2 + xs)
    u2, term, series = u * u, u.copy(), np.zeros_like(u)
    for k in range(1, 12):
        term = term * u2
        series = series + term / (2 * k + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = np.log1p(x) - x
    return np.where(small, -xs * u + 2 * series, direct)


def tightness_ratio_numpy(t):
    """``(rho_0^sm)^2 / tau_S^2 = exp(1 + W_0((t log t - t)/e)) - t`` for ``t = tau_T^2/tau_S^2``
    in ``(0, 1)`` (THEORY §6.6, principal Lambert W), elementwise; the series
    ``2 delta_t + delta_t^2/3 + delta_t^3/9`` where ``delta_t = 1 - t < SERIES_THRESHOLD``; the
    argument clamped at ``-1/e``.

    Accuracy: the series is exact to double precision for ``delta_t < 1e-4`` (truncation
    O(delta_t^4)); the W_0 branch inherits the rounding of ``z + 1/e ~ delta_t^2/(2e)``, a
    relative error of about ``1e-16/delta_t^2`` (1e-13 at ``delta_t = 0.03``, ~1e-8 just above
    the threshold)."""
    from scipy import special  # imported on first use (start-up time)

    t = np.asarray(t, dtype=float)
    dt = 1.0 - t
    series = 2 * dt + dt**2 / 3 + dt**3 / 9
    use_series = dt < SERIES_THRESHOLD
    tw = np.where(use_series, 0.5, t)  # W_0 only where it is used
    z = np.maximum((tw * np.log(tw) - tw) / math.e, -1.0 / math.e)
    w = special.lambertw(z, 0)
    bad = (w.imag != 0.0) | ~np.isfinite(w.real)
    if np.any(bad):  # pragma: no cover - z is in [-1/e, 0)
        raise ArithmeticError(f"W_0 is not real at z = {np.ravel(z[bad])[:3]!r}")
    return np.where(use_series, series, np.exp(1.0 + w.real) - tw)


def tightness_ratio_arb(t):
    """The ball of ``exp(1 + W_0((t log t - t)/e)) - t`` (arb's principal Lambert W encloses the
    exact value, also near the branch point, where the ball widens)."""
    e = (0 * t + 1).exp()
    w = ((t * t.log() - t) / e).lambertw()
    return (1 + w).exp() - t
