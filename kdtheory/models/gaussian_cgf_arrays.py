"""Model A's joint-CGF constants as array code (THEORY §6.5): one source for the scalar methods of
:class:`~kdtheory.models.gaussian_cgf.GaussianMeanCGF` and the vectorised audit of Theorems
U-gamma and L-gamma.

Arguments broadcast like :mod:`kdtheory.models.gaussian_mean_arrays`: a kernel ``(a, tau)`` of
batch shape, ``v = s^2/n`` and ``n`` of batch shape, ``ck2 = ||c_K||^2`` of batch shape and the
dimension ``d`` an integer.  The private kernels do no validation; the public functions validate
(``ValueError`` naming the parameter, the value and the domain) and return float arrays.
"""

from __future__ import annotations

import math

import numpy as np

from ..symbols import POSITIVE, POSITIVE_INTEGER, REAL, Domain, check_in

__all__ = ["chaos_eigenvalues", "gap_variance", "sub_gamma_constants"]

SIDES = ("upper", "lower")


# -- private kernels (no validation) ------------------------------------------------------------
def _chaos_eigenvalues(a, tau, v):
    """``(mu_+, mu_-)``, the roots of ``mu^2 - (2a-1) v mu - tau^2 v`` (THEORY §6.5),
    ``mu_- < 0 < mu_+``: the root of larger modulus by the quadratic formula, the other from
    ``mu_+ mu_- = -tau^2 v`` (no cancellation)."""
    a, tau, v = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, tau, v)))
    b = (2 * a - 1) * v
    root = np.sqrt(b * b + 4 * tau**2 * v)
    pos = b >= 0
    big = np.where(pos, (b + root) / 2, (b - root) / 2)  # mu_+ if b >= 0 else mu_-
    small = -(tau**2) * v / big
    return np.where(pos, big, small), np.where(pos, small, big)


def _gap_variance(a, tau, ck2, d, n, v):
    """``Var g = 4 tau^2 d v + 4 v ||c_K||^2 + 2 d v^2 ((2a-1)^2 + n - 1)`` under the joint law
    (THEORY §6.5)."""
    return 4 * tau**2 * d * v + 4 * v * ck2 + 2 * d * v**2 * ((2 * a - 1) ** 2 + n - 1)


def _sub_gamma_constants(a, tau, ck2, d, n, v, side: str):
    """``(V_g, b_g)`` of the sub-gamma envelope of ``Lambda`` (THEORY §6.5): ``V_g = Var g``,
    ``b_g = 2 max(mu_+, 0)`` (``side='upper'``) or ``2 max(-mu_-, v)`` (``'lower'``)."""
    if side not in SIDES:
        raise ValueError(f"side must be 'upper' or 'lower', got {side!r}")
    mu_p, mu_m = _chaos_eigenvalues(a, tau, v)
    b = 2 * np.maximum(mu_p, 0.0) if side == "upper" else 2 * np.maximum(-mu_m, v)
    return _gap_variance(a, tau, ck2, d, n, v), b


# -- public, validated --------------------------------------------------------------------------
_NONNEG_FINITE = Domain(0.0, math.inf, True, False)


def _args(a, tau, ck2, d, n, s):
    a = np.asarray(check_in("a", a, REAL), dtype=float)
    tau = np.asarray(check_in("tau", tau, POSITIVE), dtype=float)
    ck2 = np.asarray(check_in("ck2", ck2, _NONNEG_FINITE), dtype=float)
    d = int(check_in("d", d, POSITIVE_INTEGER))
    n = np.asarray(check_in("n", n, POSITIVE_INTEGER), dtype=float)
    s = np.asarray(check_in("s", s, POSITIVE), dtype=float)
    return a, tau, ck2, d, n, s**2 / n


def chaos_eigenvalues(a, tau, n, s):
    """``(mu_+, mu_-)`` of kernels ``(a, tau)`` in models ``(n, s)`` (THEORY §6.5), elementwise."""
    a, tau, _, _, _, v = _args(a, tau, 0.0, 1, n, s)
    return _chaos_eigenvalues(a, tau, v)


def gap_variance(a, tau, ck2, d, n, s):
    """``Var g`` of the gap under the joint law (THEORY §6.5), elementwise; ``ck2 = ||c_K||^2``."""
    return _gap_variance(*_args(a, tau, ck2, d, n, s))


def sub_gamma_constants(a, tau, ck2, d, n, s, side: str = "upper"):
    """``(V_g, b_g)`` of the sub-gamma envelope (THEORY §6.5), elementwise."""
    return _sub_gamma_constants(*_args(a, tau, ck2, d, n, s), side)
