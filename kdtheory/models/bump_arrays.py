"""Model A-bump closed forms as array code (THEORY §6, Model A-bump): one source for the scalar
methods of :class:`~kdtheory.models.bump.BumpLossModel` and the vectorised audit.

Shapes as in :mod:`kdtheory.models.gaussian_mean_arrays`: ``n``, ``s``, ``omega`` and a kernel's
``a``, ``tau`` of batch shape, ``m`` and ``b`` of shape ``(..., d)``.  No validation here (the
model class validates); float arithmetic and numpy ufuncs only.
"""

from __future__ import annotations

import numpy as np

from .gaussian_mean_arrays import _offset

__all__: list[str] = []


def _phi(ck2, omega, x, d):
    """``Phi(x) = (omega^2/(omega^2 + x))^(d/2) exp(-||c_K||^2 / (2 (omega^2 + x)))``."""
    q = omega**2 + x
    return (omega**2 / q) ** (d / 2) * np.exp(-ck2 / (2 * q))


def _train_variance(a, tau, n, s):
    """``v_tr = s^2 (1 - 2a/n + a^2/n) + tau^2``: per-coordinate variance of ``W - Z_i``."""
    return s**2 * (1 - 2 * a / n + a**2 / n) + tau**2


def _test_variance(a, tau, n, s):
    """``v_te = s^2 (1 + a^2/n) + tau^2``: per-coordinate variance of ``W - Z'``."""
    return s**2 * (1 + a**2 / n) + tau**2


def _gen(a, b, tau, m, n, s, omega):
    """``gen = Phi(v_tr) - Phi(v_te)`` (THEORY §6 A-bump)."""
    c = _offset(a, b, m)
    ck2 = np.sum(c * c, axis=-1)
    d = np.shape(m)[-1]
    return _phi(ck2, omega, _train_variance(a, tau, n, s), d) - _phi(
        ck2, omega, _test_variance(a, tau, n, s), d
    )


def _gap_floor(d, s, omega):
    """``C = (omega^2/(omega^2 + s^2))^(d/2)``: the gap lies in ``(-C, 1]``."""
    return (omega**2 / (omega**2 + s**2)) ** (d / 2)


def _hoeffding_proxy(d, s, omega):
    """``(1 + C)^2 / 4``: Hoeffding's proxy on the range ``(-C, 1]`` (THEORY §3, §6 A-bump)."""
    return (1 + _gap_floor(d, s, omega)) ** 2 / 4
