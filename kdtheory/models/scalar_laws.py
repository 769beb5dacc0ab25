"""Scalar laws with closed-form cumulant generating functions, as array code (THEORY §2, Lemma SG):
Gaussian ``N(mean, sd^2)`` (proxy ``sd``: equality), scaled Bernoulli ``lo + width B`` with
``B ~ Bernoulli(p)`` and uniform on ``[lo, lo + width]`` (Hoeffding proxy ``width/2``: a law on an
interval of length ``width`` is ``(width/2)``-sub-Gaussian).

Every function broadcasts its arguments and returns ``{"cgf", "mean", "sigma", "t"}`` as float
arrays: the values of Lemma SG's symbols.  The private kernels do no validation; :func:`sg_values`
validates (``ValueError`` naming the parameter, the value and the domain).
"""

from __future__ import annotations

import numpy as np

from ..symbols import MODEL_REAL, MODEL_SCALE, UNIT_CLOSED, check_in

__all__ = ["LAWS", "sg_values"]

#: the laws and their parameters (besides ``t``)
LAWS = {
    "gaussian": ("mean", "sd"),
    "bernoulli": ("lo", "width", "p"),
    "uniform": ("lo", "width"),
}


def _gaussian(t, mean, sd):
    """``log E e^{tX} = t mean + t^2 sd^2/2``; proxy ``sigma = sd`` (THEORY §2)."""
    return {"cgf": t * mean + t * t * sd * sd / 2, "mean": mean, "sigma": sd, "t": t}


def _bernoulli(t, lo, width, p):
    """``X = lo + width B``: ``log E e^{tX} = t lo + log(1 - p + p e^{t width})``, as
    ``log1p(p expm1(t width))`` for ``|t width| < 1`` and as a ``logaddexp`` otherwise (no
    cancellation in either); ``t lo`` or ``t (lo + width)`` at ``p = 0, 1``; Hoeffding proxy
    ``width/2``."""
    interior = (p > 0) & (p < 1)
    ps = np.where(interior, p, 0.5)
    tw = t * width
    near = np.abs(tw) < 1  # log1p(p expm1(tw)): exact 0 at t = 0, 1 + p expm1(tw) >= 1/e
    mixed = t * lo + np.where(
        near, np.log1p(ps * np.expm1(tw)), np.logaddexp(np.log1p(-ps), np.log(ps) + tw)
    )
    edge = t * lo + np.where(p == 1, t * width, 0.0)
    return {
        "cgf": np.where(interior, mixed, edge),
        "mean": lo + width * p,
        "sigma": width / 2,
        "t": t,
    }


#: below this ``|t width|`` the uniform CGF's ``log((1 - e^{-u})/u)`` is taken from its series
_SERIES_U = 1e-2


def _uniform(t, lo, width):
    """Uniform on ``[lo, lo + width]``: with ``u = t width``, ``log E e^{tX} = t (lo + width) +
    T(u)`` for ``u > 0``, ``t lo + T(|u|)`` for ``u < 0`` and ``0`` at ``t = 0``, where
    ``T(u) = log((1 - e^{-u})/u) = -u/2 + log(sinh(u/2)/(u/2))``: by ``expm1`` for
    ``u >= 1e-2``, else by the series ``-x + x^2/6 - x^4/180 + x^6/2835`` in ``x = u/2``
    (truncation < 1e-20 relative); Hoeffding proxy ``width/2``."""
    tw = t * width
    u = np.abs(tw)
    small = u < _SERIES_U
    safe = np.where(small, 1.0, u)
    x2 = (u / 2) ** 2
    series = -u / 2 + x2 * (1 / 6 + x2 * (-1 / 180 + x2 / 2835))
    tail = np.where(small, series, np.log(-np.expm1(-safe) / safe))
    cgf = np.where(tw > 0, t * (lo + width) + tail, np.where(tw < 0, t * lo + tail, 0.0))
    return {"cgf": cgf, "mean": lo + width / 2, "sigma": width / 2, "t": t}


_KERNELS = {"gaussian": _gaussian, "bernoulli": _bernoulli, "uniform": _uniform}

#: supported ranges (THEORY §2): ``t^2 sd^2`` and ``t (lo + width)`` stay inside double range
_DOMAINS = {
    "mean": MODEL_REAL,
    "sd": MODEL_SCALE,
    "lo": MODEL_REAL,
    "width": MODEL_SCALE,
    "p": UNIT_CLOSED,
}


def sg_values(kind: str, t, **params) -> dict:
    """The values of Lemma SG's symbols (``cgf``, ``mean``, ``sigma``, ``t``) for the law ``kind``
    (a key of :data:`LAWS`) at ``t``, elementwise over broadcastable parameter arrays."""
    if not isinstance(kind, str) or kind not in LAWS:
        raise ValueError(f"kind must be one of {sorted(LAWS)}, got {kind!r}")
    if set(params) != set(LAWS[kind]):
        raise TypeError(f"law {kind!r} takes parameters {LAWS[kind]}, got {tuple(params)}")
    t = np.asarray(check_in("t", t, MODEL_REAL), dtype=float)
    args = [np.asarray(check_in(k, params[k], _DOMAINS[k]), dtype=float) for k in LAWS[kind]]
    try:
        arrays = np.broadcast_arrays(t, *args)
    except ValueError:
        shapes = {k: np.shape(v) for k, v in zip(("t", *LAWS[kind]), (t, *args), strict=True)}
        raise ValueError(
            f"t and the parameters must broadcast together, got shapes {shapes}"
        ) from None
    return {k: np.asarray(v, dtype=float) for k, v in _KERNELS[kind](*arrays).items()}
