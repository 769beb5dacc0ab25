"""Model A's smoothing tightness radius as array code (THEORY §6.6): one source for
:func:`~kdtheory.models.gaussian_smoothing.smoothing_radius_from_ratio`,
:meth:`~kdtheory.models.gaussian_smoothing.GaussianMeanSmoothing.tightness_radius` and the
vectorised audit of the smoothing regime.  No validation here (the callers validate); scipy's
``lambertw`` is a ufunc, so one call serves a whole batch.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["SERIES_THRESHOLD"]

#: below this ``delta_t = 1 - tau_T^2/tau_S^2`` the Lambert-W form loses its precision and the
#: series of THEORY §6.6 is used (its truncation error is O(delta_t^4), < 1e-12 relative here).
SERIES_THRESHOLD = 1e-4


def _radius_from_ratio(t):
    """``(rho_0^sm)^2 / tau_S^2 = exp(1 + W_0((t log t - t)/e)) - t`` for ``t = tau_T^2/tau_S^2``
    in ``(0, 1)`` (THEORY §6.6, principal Lambert W), elementwise; the series
    ``2 delta_t + delta_t^2/3 + delta_t^3/9`` where ``delta_t = 1 - t < SERIES_THRESHOLD``; the
    argument clamped at ``-1/e``."""
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


def _tightness_radius(tau_s, tau_t):
    """``rho_0^sm = tau_S sqrt(_radius_from_ratio(tau_T^2/tau_S^2))`` if ``tau_S > tau_T``, else 0
    (THEORY §6.6), elementwise."""
    ts2, tt2 = np.square(tau_s), np.square(tau_t)
    wider = ts2 > tt2
    ratio = np.where(wider, tt2 / np.where(wider, ts2, 1.0), 0.5)
    return np.where(wider, np.sqrt(ts2 * _radius_from_ratio(ratio)), 0.0)
