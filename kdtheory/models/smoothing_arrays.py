"""Model A's smoothing radii as array code (THEORY §6.6): one source for
:func:`~kdtheory.models.gaussian_smoothing.smoothing_radius_from_ratio`,
:meth:`~kdtheory.models.gaussian_smoothing.GaussianMeanSmoothing.tightness_radius`,
:meth:`~kdtheory.models.gaussian_smoothing.GaussianMeanSmoothing.optimal_radius` and the
vectorised audit of the smoothing regime.  No validation here (the callers validate).

The closed forms are not typed here: they are the formulas ``tightness_ratio``,
``tightness_radius`` and ``optimal_radius`` of :mod:`kdtheory.formulas.gaussian_cgf` (derived
there by ``sympy.solve``; the Lambert-W ratio is the registered stable override
``tightness_ratio``, its series near ``t -> 1`` in :mod:`kdtheory.formulas.stable`), compiled
once; ``dtype=object`` arrays of arb balls go through the compiled arb functions.
"""

from __future__ import annotations

import numpy as np

from ..formulas.stable import SERIES_THRESHOLD

__all__ = ["SERIES_THRESHOLD"]


def _f(name: str):
    """The compiled formula ``name`` of :mod:`kdtheory.formulas.gaussian_cgf`."""
    from ..formulas.gaussian_cgf import compiled

    return compiled(name)


def _radius_from_ratio(t):
    """``(rho_0^sm)^2 / tau_S^2 = exp(1 + W_0((t log t - t)/e)) - t`` for ``t = tau_T^2/tau_S^2``
    in ``(0, 1)`` (THEORY §6.6; formula ``tightness_ratio``), elementwise; the series
    ``2 delta_t + delta_t^2/3 + delta_t^3/9`` where ``delta_t = 1 - t < SERIES_THRESHOLD``."""
    return _f("tightness_ratio")(np.asarray(t, dtype=float))


def _tightness_radius(tau_s, tau_t):
    """``rho_0^sm`` (formula ``tightness_radius``) if ``tau_S > tau_T``, else 0 (THEORY §6.6),
    elementwise (the formula is evaluated at ``tau_T = tau_S / sqrt(2)`` where it is not used)."""
    tau_s, tau_t = np.broadcast_arrays(
        np.asarray(tau_s, dtype=float), np.asarray(tau_t, dtype=float)
    )
    wider = np.square(tau_s) > np.square(tau_t)
    safe_t = np.where(wider, tau_t, tau_s * np.sqrt(0.5))
    return np.where(wider, _f("tightness_radius")(tau_s, safe_t), 0.0)


def _optimal_radius(tau_s, tau_t):
    """``rho_* = sqrt((tau_S^2 - tau_T^2)_+)``, the minimiser of ``B`` (THEORY §6.6; formula
    ``optimal_radius``), elementwise."""
    return _f("optimal_radius")(tau_s, tau_t)
