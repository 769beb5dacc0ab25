"""Model A closed forms as array code: one source for the scalar methods and the batch audit.

Every function takes broadcastable arrays describing a *batch* of Gaussian mean models with a
common dimension ``d`` (THEORY §6): ``n`` and ``s`` of batch shape ``(...)``, ``m`` of shape
``(..., d)``; a kernel ``W | D ~ N(a Zbar + b, tau^2 I_d)`` is given by ``a`` and ``tau`` of
batch shape and ``b`` of shape ``(..., d)``.  Scalars broadcast, so one function serves one
case or a million.  :class:`~kdtheory.models.gaussian_mean.GaussianMeanModel` calls the private
``_``-prefixed kernels below, so the scalar methods and the vectorised audit share one formula.

The closed forms themselves are not typed here: each private kernel evaluates a formula of
:mod:`kdtheory.formulas.gaussian_mean`, derived there from the definitions by the exact
Gaussian-moment engine and compiled once (:func:`kdtheory.formulas.compile.compile_expr`).
The public functions validate their input (``ValueError`` naming the parameter, the value and
the domain; ``TypeError`` for non-numbers) and return float arrays.  The private kernels do no
validation and are generic over the number type: float arrays go through the compiled numpy
functions (stable ``phi``/``log1p``), ``dtype=object`` arrays of arb balls (and arb scalars)
elementwise through the compiled arb functions (used by :mod:`kdtheory.audit.certify` and
:mod:`kdtheory.audit.witness_balls`).
"""

from __future__ import annotations

import math

import numpy as np

from ..symbols import (
    POSITIVE,
    POSITIVE_INTEGER,
    REAL,
    UNIT_CLOSED,
    Domain,
    check_in,
)

__all__ = [
    "gen",
    "offset",
    "divergence_parts",
    "distillation_divergence",
    "conditional_proxy",
    "information_ratio",
    "mutual_information",
    "lautum_information",
    "symmetrized_information",
    "theorem_values",
    "gibbs",
    "tempered_bayes",
    "kd_student",
    "tilt_student",
]

_NONNEG_FINITE = Domain(0.0, math.inf, True, False)


# -- private kernels (no validation; generic over float and arb object arrays) ------------------
# Each evaluates a formula of kdtheory.formulas.gaussian_mean (derived there from the
# definitions, compiled once on first use): float arrays go through the numpy compile, dtype=object
# arrays / arb scalars elementwise through the arb compile.
def _f(name: str):
    """The compiled Model A formula ``name`` (:func:`kdtheory.formulas.gaussian_mean.compiled`)."""
    from ..formulas.gaussian_mean import compiled

    return compiled(name)


def _col(x):
    """``x[..., None]`` for arrays (a batch quantity times a d-vector), ``x`` for scalars."""
    return x[..., None] if np.ndim(x) else x


def _gen(a, n, s, d):
    """``gen = 2 a d s^2 / n`` (THEORY §6.1; formula ``gen``)."""
    return _f("gen")(a, n, s, d)


def _offset(a, b, m):
    """``c_K = (a - 1) m + b`` (THEORY §6; per-coordinate formula ``c_K``)."""
    return _f("c_K")(_col(a), b, m)


def _divergence_parts(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t):
    """``K_n`` parts (THEORY §6.2; formulas ``offset``, ``estimation``, ``spread``): offset in
    ``||c_Delta||^2`` with ``c_Delta = (a_S - a_T) m + (b_S - b_T)`` per coordinate, estimation
    in ``a_S - a_T`` and ``v = s^2/n``, spread in ``tau_S^2/tau_T^2`` (stable ``phi``)."""
    d = np.shape(m)[-1]
    c_delta = _f("c_Delta")(_col(a_s), b_s, _col(a_t), b_t, m)
    return {
        "offset": _f("offset")(np.sum(c_delta * c_delta, axis=-1), tau_t),
        "estimation": _f("estimation")(a_s, a_t, d, n, s, tau_t),
        "spread": _f("spread")(d, tau_s, tau_t),
    }


def _conditional_proxy(tau_t, n, s, d):
    """``E_D sigma_D^2 = 4 tau_T^2 d s^2 / n`` (THEORY §6.4; formula ``Esigma2``)."""
    return _f("Esigma2")(tau_t, n, s, d)


def _information_ratio(a, tau, n, s):
    """``q = a^2 v / tau^2`` with ``v = s^2/n`` (THEORY §6.3; formula ``information_ratio``)."""
    return _f("information_ratio")(a, tau, n, s)


def _information(kind, a, tau, n, s, d):
    """``kind`` in ``mutual``, ``lautum``, ``symmetrized`` (THEORY §6.3; formula
    ``KIND_information``)."""
    return _f(f"{kind}_information")(a, tau, n, s, d)


def _theorem_values(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t):
    """Exact values of the upper-bound symbols (THEORY §3, §6): ``dgen``, ``gen_S``, ``gen_T``,
    ``K_n`` and ``Esigma2``."""
    d = np.shape(m)[-1]
    parts = _divergence_parts(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t)
    return {
        # 2 (a_S - a_T) d s^2 / n: no cancellation for a student close to its teacher
        "dgen": _f("dgen")(a_s, a_t, n, s, d),
        "gen_S": _gen(a_s, n, s, d),
        "gen_T": _gen(a_t, n, s, d),
        "K_n": parts["offset"] + parts["estimation"] + parts["spread"],
        "Esigma2": _conditional_proxy(tau_t, n, s, d),
    }


def _gibbs(gamma, lam, m0):
    """Gibbs kernel (THEORY §6, constructors; formulas ``gibbs_a``, ``gibbs_b``, ``gibbs_tau``):
    ``a = 2 gamma/(lam + 2 gamma)``, ``b = lam m0/(lam + 2 gamma)``, ``tau^2 = 1/(lam + 2 gamma)``;
    returns ``(a, b, tau)``."""
    return (
        _f("gibbs_a")(gamma, lam),
        _f("gibbs_b")(_col(gamma), _col(lam), m0),
        _f("gibbs_tau")(gamma, lam),
    )


def _bayes_gamma(temperature, n, s):
    """Tempered Bayes inverse temperature ``gamma = n / (2 s^2 T)`` (THEORY §6; a definition)."""
    return n / (2 * s * s * temperature)


def _kd_student(a_t, b_t, tau_t, alpha, gamma, lam, m0, teacher_sample):
    """KD student (THEORY §6; formulas ``kd_a_S``, ``kd_b_S``, ``kd_tau_S`` and
    ``kd_tau_S_sampled`` where ``teacher_sample``): with ``k = 2 gamma/(lam + 2 gamma)``,
    ``a_S = k (alpha + (1-alpha) a_T)``, ``b_S = k (1-alpha) b_T + lam m0/(lam + 2 gamma)``,
    ``tau_S^2 = 1/(lam + 2 gamma)`` (``+ (k (1-alpha) tau_T)^2`` for a sampled soft label)."""
    a_s = _f("kd_a_S")(a_t, alpha, gamma, lam)
    b_s = _f("kd_b_S")(b_t, _col(alpha), _col(gamma), _col(lam), m0)
    if np.ndim(teacher_sample):
        tau_s = np.where(
            teacher_sample,
            _f("kd_tau_S_sampled")(tau_t, alpha, gamma, lam),
            _f("kd_tau_S")(gamma, lam),
        )
    elif teacher_sample:
        tau_s = _f("kd_tau_S_sampled")(tau_t, alpha, gamma, lam)
    else:
        tau_s = _f("kd_tau_S")(gamma, lam)
    return a_s, b_s, tau_s


def _tilt_student(a_t, b_t, tau_t, kappa, m):
    """Tilt student ``mu_S = mu_T + kappa (Zbar - m)``, ``tau_S = tau_T`` (THEORY §6; formulas
    ``tilt_a_S``, ``tilt_b_S``)."""
    return _f("tilt_a_S")(a_t, kappa), _f("tilt_b_S")(b_t, _col(kappa), m), tau_t


# -- validation --------------------------------------------------------------------------------
def _num(name, value, domain=REAL):
    return np.asarray(check_in(name, value, domain), dtype=float)


def _vec(name, value):
    arr = _num(name, value)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of shape (..., d), got a scalar {float(arr)!r}")
    return arr


def _model(m, n, s):
    m = _vec("m", m)
    n = _num("n", n, POSITIVE_INTEGER)
    s = _num("s", s, POSITIVE)
    return m, n, s


def _kernel(prefix, a, b, tau, d):
    a = _num(f"{prefix}a", a)
    b = _vec(f"{prefix}b", b)
    tau = _num(f"{prefix}tau", tau, POSITIVE)
    if b.shape[-1] != d:
        raise ValueError(f"{prefix}b must have last dimension d = {d}, got shape {b.shape}")
    return a, b, tau


def _broadcast_check(**arrays):
    try:
        np.broadcast_shapes(*(np.shape(v) for v in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from None


def _dim(d):
    return int(check_in("d", d, POSITIVE_INTEGER))


# -- public, validated -------------------------------------------------------------------------
def gen(a, n, s, d):
    """``gen = 2 a d s^2 / n`` (THEORY §6.1), elementwise."""
    return _gen(_num("a", a), _num("n", n, POSITIVE_INTEGER), _num("s", s, POSITIVE), _dim(d))


def offset(a, b, m):
    """``c_K = (a - 1) m + b`` of shape ``(..., d)`` (THEORY §6)."""
    m = _vec("m", m)
    a, b, _ = _kernel("", a, b, 1.0, m.shape[-1])
    _broadcast_check(a=a[..., None], b=b, m=m)
    return _offset(a, b, m)


def _triple(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t):
    """Validate a batch of (model, student, teacher) triples; returns float arrays."""
    m, n, s = _model(m, n, s)
    d = m.shape[-1]
    a_s, b_s, tau_s = _kernel("student ", a_s, b_s, tau_s, d)
    a_t, b_t, tau_t = _kernel("teacher ", a_t, b_t, tau_t, d)
    _broadcast_check(
        m=m[..., 0], n=n, s=s, a_s=a_s, b_s=b_s[..., 0], tau_s=tau_s, a_t=a_t, b_t=b_t[..., 0]
    )
    return m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t


def divergence_parts(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t) -> dict:
    """``K_n`` split into ``offset``, ``estimation`` and ``spread`` arrays (THEORY §6.2) for a
    batch of (model, student, teacher) triples; ``m``, ``b_s``, ``b_t`` have shape ``(..., d)``."""
    return _divergence_parts(*_triple(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t))


def distillation_divergence(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t):
    """``K_n = E_D KL(P_{W_S|D} || P_{W_T|D})`` (THEORY §1, §6.2), elementwise over the batch."""
    parts = divergence_parts(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t)
    return parts["offset"] + parts["estimation"] + parts["spread"]


def conditional_proxy(tau_t, n, s, d):
    """``E_D sigma_D^2 = 4 tau_T^2 d s^2 / n`` (THEORY §6.4), elementwise."""
    return _conditional_proxy(
        _num("tau_t", tau_t, POSITIVE),
        _num("n", n, POSITIVE_INTEGER),
        _num("s", s, POSITIVE),
        _dim(d),
    )


def information_ratio(a, tau, n, s):
    """``q = a^2 v / tau^2``, ``v = s^2/n`` (THEORY §6.3), elementwise."""
    return _information_ratio(
        _num("a", a),
        _num("tau", tau, POSITIVE),
        _num("n", n, POSITIVE_INTEGER),
        _num("s", s, POSITIVE),
    )


def _public_information(kind, a, tau, n, s, d):
    return _information(
        kind,
        _num("a", a),
        _num("tau", tau, POSITIVE),
        _num("n", n, POSITIVE_INTEGER),
        _num("s", s, POSITIVE),
        _dim(d),
    )


def mutual_information(a, tau, n, s, d):
    """``I(W; D) = (d/2) log(1 + q)`` (THEORY §6.3), elementwise."""
    return _public_information("mutual", a, tau, n, s, d)


def lautum_information(a, tau, n, s, d):
    """Lautum information ``d q - (d/2) log(1 + q)`` (THEORY §6.3), elementwise."""
    return _public_information("lautum", a, tau, n, s, d)


def symmetrized_information(a, tau, n, s, d):
    """``I_SKL = d q`` (THEORY §6.3), elementwise."""
    return _public_information("symmetrized", a, tau, n, s, d)


def theorem_values(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t) -> dict:
    """Exact values of the symbols of Theorem U (THEORY §3, §6): ``dgen``, ``gen_S``, ``gen_T``,
    ``K_n``, ``Esigma2`` and ``sigma_bar = inf`` (Model A's conditional proxy is unbounded in D),
    as float arrays of the batch shape."""
    vals = _theorem_values(*_triple(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t))
    shape = np.broadcast_shapes(*(np.shape(v) for v in vals.values()))
    out = {k: np.broadcast_to(v, shape) for k, v in vals.items()}
    out["sigma_bar"] = np.full(shape, math.inf)
    return out


def gibbs(gamma, lam, m0):
    """Gibbs kernels ``P(w|D) ∝ N(w; m0, I/lam) exp(-gamma L_D(w))`` (THEORY §6): returns
    ``(a, b, tau)``; ``m0`` has shape ``(..., d)``, ``lam = 0`` is the flat prior."""
    return _gibbs(_num("gamma", gamma, POSITIVE), _num("lam", lam, _NONNEG_FINITE), _vec("m0", m0))


def tempered_bayes(temperature, n, s, m0, lam=0.0):
    """Tempered Bayes posteriors: Gibbs with ``gamma = n / (2 s^2 T)`` (THEORY §6)."""
    gamma = _bayes_gamma(
        _num("temperature", temperature, POSITIVE),
        _num("n", n, POSITIVE_INTEGER),
        _num("s", s, POSITIVE),
    )
    return gibbs(gamma, lam, m0)


def kd_student(a_t, b_t, tau_t, alpha, gamma, lam, m0, teacher_sample=False):
    """KD students of teachers ``(a_t, b_t, tau_t)`` (THEORY §6); returns ``(a, b, tau)``.
    ``teacher_sample`` (bool or bool array): soft label is a teacher sample, not its mean."""
    m0 = _vec("m0", m0)
    a_t, b_t, tau_t = _kernel("teacher ", a_t, b_t, tau_t, m0.shape[-1])
    return _kd_student(
        a_t,
        b_t,
        tau_t,
        _num("alpha", alpha, UNIT_CLOSED),
        _num("gamma", gamma, POSITIVE),
        _num("lam", lam, _NONNEG_FINITE),
        m0,
        np.asarray(teacher_sample, dtype=bool),
    )


def tilt_student(a_t, b_t, tau_t, kappa, m):
    """Tilt students ``mu_S = mu_T + kappa (Zbar - m)``, ``tau_S = tau_T`` (THEORY §6)."""
    m = _vec("m", m)
    a_t, b_t, tau_t = _kernel("teacher ", a_t, b_t, tau_t, m.shape[-1])
    return _tilt_student(a_t, b_t, tau_t, _num("kappa", kappa), m)
