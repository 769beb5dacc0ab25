"""Scalar laws with closed-form cumulant generating functions, as array code (THEORY §2, Lemma SG):
Gaussian ``N(mean, sd^2)`` (proxy ``sd``: equality), scaled Bernoulli ``lo + width B`` with
``B ~ Bernoulli(p)`` and uniform on ``[lo, lo + width]`` (Hoeffding proxy ``width/2``: a law on an
interval of length ``width`` is ``(width/2)``-sub-Gaussian).

Every quantity is a compiled formula of :mod:`kdtheory.formulas.scalar_laws` (derived there
from the definitions).  Every function broadcasts its arguments and returns ``{"cgf", "mean", "sigma", "t"}`` as float
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


def _f(name: str):
    """The compiled scalar-law formula ``name`` (:mod:`kdtheory.formulas.scalar_laws`)."""
    from ..formulas.scalar_laws import compiled

    return compiled(name)


def _gaussian(t, mean, sd):
    """``log E e^{tX} = t mean + t^2 sd^2/2``; proxy ``sigma = sd`` (THEORY §2; formulas
    ``gaussian_*``).  Also on arb balls (the compiled arb function), for the equality witnesses
    of :mod:`kdtheory.audit.witness_balls`."""
    return {
        "cgf": _f("gaussian_cgf")(t, mean, sd),
        "mean": _f("gaussian_mean")(mean),
        "sigma": _f("gaussian_sigma")(sd),
        "t": t,
    }


def _bernoulli(t, lo, width, p):
    """``X = lo + width B``: ``log E e^{tX} = t lo + log(1 - p + p e^{t width})`` (formula
    ``bernoulli_cgf``; the stable override ``bernoulli_log_mgf``: ``log1p(p expm1(t width))`` for
    ``|t width| < 1``, a ``logaddexp`` otherwise, exact at ``p = 0, 1``); Hoeffding proxy
    ``width/2``."""
    return {
        "cgf": _f("bernoulli_cgf")(t, lo, width, p),
        "mean": _f("bernoulli_mean")(lo, width, p),
        "sigma": _f("bernoulli_sigma")(width),
        "t": t,
    }


def _uniform(t, lo, width):
    """Uniform on ``[lo, lo + width]``: ``log E e^{tX} = t lo + log((e^u - 1)/u)``, ``u = t width``
    (formula ``uniform_cgf``; the stable override ``uniform_log_mgf``: a series for
    ``|u| < 1e-2``, ``expm1`` elsewhere, ``0`` at ``t = 0``); Hoeffding proxy ``width/2``."""
    return {
        "cgf": _f("uniform_cgf")(t, lo, width),
        "mean": _f("uniform_mean")(lo, width),
        "sigma": _f("uniform_sigma")(width),
        "t": t,
    }


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
