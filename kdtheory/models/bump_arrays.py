"""Model A-bump closed forms as array code (THEORY §6, Model A-bump): one source for the scalar
methods of :class:`~kdtheory.models.bump.BumpLossModel` and the vectorised audit.

Shapes as in :mod:`kdtheory.models.gaussian_mean`: ``n``, ``s``, ``omega`` and a kernel's
``a``, ``tau`` of batch shape, ``m`` and ``b`` of shape ``(..., d)``.  No validation here (the
model class validates).  Every quantity is a compiled formula of :mod:`kdtheory.formulas.bump`
(derived there from the definitions); the vector offsets enter through ``||c_K||^2``.
"""

from __future__ import annotations

import numpy as np

from .gaussian_mean import _offset

__all__: list[str] = []


def _f(name: str):
    """The compiled Model A-bump formula ``name`` (:mod:`kdtheory.formulas.bump`)."""
    from ..formulas.bump import compiled

    return compiled(name)


def _phi(ck2, omega, x, d):
    """``Phi(x) = (omega^2/(omega^2 + x))^(d/2) exp(-||c_K||^2 / (2 (omega^2 + x)))`` (formula
    ``Phi``)."""
    return _f("Phi")(ck2, omega, x, d)


def _train_variance(a, tau, n, s):
    """``v_tr = s^2 (1 - 2a/n + a^2/n) + tau^2``: per-coordinate variance of ``W - Z_i``
    (formula ``v_tr``)."""
    return _f("v_tr")(a, tau, n, s)


def _test_variance(a, tau, n, s):
    """``v_te = s^2 (1 + a^2/n) + tau^2``: per-coordinate variance of ``W - Z'`` (formula
    ``v_te``)."""
    return _f("v_te")(a, tau, n, s)


def _gen(a, b, tau, m, n, s, omega):
    """``gen = Phi(v_tr) - Phi(v_te)`` (THEORY §6 A-bump; formula ``gen``), ``||c_K||^2`` from
    the vector offsets."""
    c = _offset(a, b, m)
    ck2 = np.sum(c * c, axis=-1)
    return _f("gen")(a, tau, ck2, n, s, omega, np.shape(m)[-1])


def _gap_floor(d, s, omega):
    """``C = (omega^2/(omega^2 + s^2))^(d/2)``: the gap lies in ``(-C, 1]`` (formula
    ``gap_floor``)."""
    return _f("gap_floor")(d, s, omega)


def _hoeffding_proxy(d, s, omega):
    """``(1 + C)^2 / 4``: Hoeffding's proxy on the range ``(-C, 1]`` (THEORY §3, §6 A-bump;
    formula ``hoeffding_proxy``)."""
    return _f("hoeffding_proxy")(d, s, omega)
