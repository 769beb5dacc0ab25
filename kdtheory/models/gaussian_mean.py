"""Model A: Gaussian mean estimation with Gaussian kernels; every quantity exact (THEORY §6).

Data ``Z_i ~ N(m, s^2 I_d)``, ``i = 1..n``; loss ``l(w, z) = ||w - z||^2``; kernels
``W | D ~ N(a Zbar + b, tau^2 I_d)``.  With ``v = s^2/n`` and ``delta = Zbar - m ~ N(0, v I)``
the gap is ``g(w, D) = 2 <w - m, delta> - ||delta||^2 + d s^2 - S_D`` (affine in w).

One module, three ways in (issue 11 item 2, item 3):

* **one case** -- :class:`GaussianMeanModel` and its :class:`GaussianKernel` (numbers in, floats
  out; validated, errors name the parameter, the value and the domain);
* **symbolic** -- the same methods with sympy symbols or expressions for the parameters
  (``alpha=sympy.Symbol("alpha")``, ``n=sympy.Symbol("n", positive=True, integer=True)``, ...):
  sympy expressions out, obtained by substituting the arguments into the formulas of
  :mod:`kdtheory.formulas.gaussian_mean` (:meth:`kdtheory.formulas.compile.Compiled.symbolic`);
  see :class:`GaussianMeanModel`;
* **a batch** -- the module-level functions (:func:`gen`, :func:`distillation_divergence`,
  :func:`theorem_values`, :func:`gibbs`, :func:`kd_student`, ...) take broadcastable arrays
  describing a batch of models with a common dimension ``d``: ``n`` and ``s`` of batch shape
  ``(...)``, ``m`` of shape ``(..., d)``; a kernel is ``a`` and ``tau`` of batch shape and ``b``
  of shape ``(..., d)``.  Scalars broadcast, so one function serves one case or a million (the
  vectorised audit calls them).

All three evaluate the same private ``_``-prefixed kernels below, and these evaluate the formulas
of :mod:`kdtheory.formulas.gaussian_mean` -- derived there from the definitions by the exact
Gaussian-moment engine, compiled once (:func:`kdtheory.formulas.compile.compile_expr`) -- so
no closed form is typed here.  The private kernels do no validation and are generic over the
number type: float arrays go through the compiled numpy functions (stable ``phi``/``log1p``),
``dtype=object`` arrays of arb balls (and arb scalars) elementwise through the compiled arb
functions (used by :mod:`kdtheory.audit.certify` and :mod:`kdtheory.audit.witness_balls`), sympy
objects through substitution.  The closed forms are proved equal to THEORY's stated forms in
``proofs/gaussian_mean_closed_forms.py`` and checked against :meth:`GaussianMeanModel.simulate`
in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..divergences import IsotropicGaussian, kl
from ..symbols import (
    MODEL_COUNT,
    MODEL_DIM,
    MODEL_REAL,
    MODEL_SCALE,
    MODEL_SCALE_OR_ZERO,
    POSITIVE,
    POSITIVE_INTEGER,
    REAL,
    UNIT_CLOSED,
    Domain,
    check_in,
    check_int,
    check_real,
    check_rng,
    check_scalar,
    check_size,
    check_symbolic,
    is_symbolic,
    real_array,
    short_repr,
)
from .gaussian_cgf import GaussianMeanCGF
from .gaussian_smoothing import GaussianMeanSmoothing

__all__ = [
    "GaussianKernel",
    "GaussianMeanModel",
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

NONNEG = Domain(0.0, math.inf, True, False)
_FINITE = Domain(-math.inf, math.inf)
_POSITIVE_FINITE = Domain(0.0, math.inf)
#: relative accuracy of :meth:`GaussianMeanModel.expectation_over_data` (open interval)
_EPSREL = Domain(0.0, 1.0, False, False)
#: most numbers a Monte Carlo twin may draw (``size * n * d``; memory bound, ~800 MB)
MC_BUDGET = 10**8


# -- private kernels (no validation; generic over floats, arb balls and sympy) ------------------
# Each evaluates a formula of kdtheory.formulas.gaussian_mean (derived there from the
# definitions, compiled once on first use): float arrays go through the numpy compile, dtype=object
# arrays / arb scalars elementwise through the arb compile, sympy objects by substitution.
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


#: up to this many coordinates a batch's ``||c_Delta||^2`` is summed coordinate by coordinate,
#: in order, as ``numpy.sum`` adds fewer than 8 terms (its pairwise summation starts at 8)
_COLUMN_SUM_MAX = 7


def _squared_offset(m, a_s, b_s, a_t, b_t):
    """``||c_Delta||^2 = sum_j c_Delta_j^2`` (THEORY §6.2; per-coordinate formula ``c_Delta``),
    generic over the number type.  For a float batch (``m`` of shape ``(..., d)``, ``d <=``
    :data:`_COLUMN_SUM_MAX`) the formula is applied to one coordinate at a time and the squares
    are added in order: the same numbers, bit for bit, as ``numpy.sum(c * c, axis=-1)`` of the
    vectors, without numpy's slow broadcasting of a batch scalar against a short last axis and
    reduction along it (about 4x faster for d = 3)."""
    d = np.shape(m)[-1]
    batch = isinstance(m, np.ndarray) and m.ndim >= 2 and m.dtype == np.float64
    if not (batch and d <= _COLUMN_SUM_MAX):
        c_delta = _f("c_Delta")(_col(a_s), b_s, _col(a_t), b_t, m)
        return np.sum(c_delta * c_delta, axis=-1)
    c_delta = _f("c_Delta")
    total = None
    for j in range(d):
        c = c_delta(a_s, b_s[..., j], a_t, b_t[..., j], m[..., j])
        c = c * c
        total = c if total is None else np.add(total, c, out=total)
    return total


def _divergence_parts(m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t):
    """``K_n`` parts (THEORY §6.2; formulas ``offset``, ``estimation``, ``spread``): offset in
    ``||c_Delta||^2`` with ``c_Delta = (a_S - a_T) m + (b_S - b_T)`` per coordinate, estimation
    in ``a_S - a_T`` and ``v = s^2/n``, spread in ``tau_S^2/tau_T^2`` (stable ``phi``)."""
    d = np.shape(m)[-1]
    return {
        "offset": _f("offset")(_squared_offset(m, a_s, b_s, a_t, b_t), tau_t),
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
    """Tempered Bayes inverse temperature ``gamma = n / (2 s^2 T)`` (THEORY §6; formula
    ``bayes_gamma``, a definition)."""
    return _f("bayes_gamma")(temperature, n, s)


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


# -- batch validation --------------------------------------------------------------------------------
def _num(name, value, domain=REAL):
    """``value`` validated as a float array; a valid float64 array is not copied (the batch
    functions only read their inputs, and no result aliases one: see :func:`tilt_student`)."""
    return np.asarray(check_in(name, value, domain, copy=False), dtype=float)


def _batch_vec(name, value):
    arr = _num(name, value)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of shape (..., d), got a scalar {float(arr)!r}")
    return arr


def _model(m, n, s):
    m = _batch_vec("m", m)
    n = _num("n", n, POSITIVE_INTEGER)
    s = _num("s", s, POSITIVE)
    return m, n, s


def _kernel(prefix, a, b, tau, d):
    a = _num(f"{prefix}a", a)
    b = _batch_vec(f"{prefix}b", b)
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


# -- the batch API, validated -------------------------------------------------------------------------
def gen(a, n, s, d):
    """``gen = 2 a d s^2 / n`` (THEORY §6.1), elementwise."""
    return _gen(_num("a", a), _num("n", n, POSITIVE_INTEGER), _num("s", s, POSITIVE), _dim(d))


def offset(a, b, m):
    """``c_K = (a - 1) m + b`` of shape ``(..., d)`` (THEORY §6)."""
    m = _batch_vec("m", m)
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
    return _gibbs(_num("gamma", gamma, POSITIVE), _num("lam", lam, NONNEG), _batch_vec("m0", m0))


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
    m0 = _batch_vec("m0", m0)
    a_t, b_t, tau_t = _kernel("teacher ", a_t, b_t, tau_t, m0.shape[-1])
    return _kd_student(
        a_t,
        b_t,
        tau_t,
        _num("alpha", alpha, UNIT_CLOSED),
        _num("gamma", gamma, POSITIVE),
        _num("lam", lam, NONNEG),
        m0,
        np.asarray(teacher_sample, dtype=bool),
    )


def tilt_student(a_t, b_t, tau_t, kappa, m):
    """Tilt students ``mu_S = mu_T + kappa (Zbar - m)``, ``tau_S = tau_T`` (THEORY §6)."""
    m = _batch_vec("m", m)
    a_t, b_t, tau_t = _kernel("teacher ", a_t, b_t, tau_t, m.shape[-1])
    a_s, b_s, tau_s = _tilt_student(a_t, b_t, tau_t, _num("kappa", kappa), m)
    return a_s, b_s, np.array(tau_s)  # tau_S = tau_T: a copy, never the caller's array


# -- one case, numeric or symbolic ---------------------------------------------------------------
def _out(x):
    """A method's result: a float for numbers (as the one-case API always returned), the sympy
    expression itself on the symbolic path."""
    return x if isinstance(x, sp.Basic) else float(x)


def _sym_vec(x) -> np.ndarray:
    """A ``dtype=object`` vector of sympy objects (numbers as exact binary ``sympy.Float``)."""
    out = np.empty(np.shape(x), dtype=object)
    out[...] = [sp.sympify(v) for v in np.ravel(np.asarray(x, dtype=object))]
    return out


@dataclass(frozen=True, eq=False)
class GaussianKernel:
    """``W | D ~ N(a Zbar + b, tau^2 I_d)`` (THEORY §6); build it with :meth:`GaussianMeanModel.kernel`.

    Numeric (``a``, ``tau`` floats, ``b`` a float vector) or symbolic (:attr:`symbolic`: ``a``,
    ``tau`` sympy expressions and ``b`` a ``dtype=object`` vector of them) -- a kernel with any
    symbolic parameter is symbolic in all three."""

    a: float
    b: np.ndarray
    tau: float

    def __post_init__(self):
        if _any_symbolic(self.a, self.b, self.tau):
            self._symbolic_post_init()
            return
        # finiteness and types only: a derived kernel may leave the models' supported range
        a = check_scalar("a", self.a, _FINITE)
        b = real_array("b", self.b, "a 1-d vector of finite reals")
        if b.ndim != 1 or b.size == 0 or not np.all(np.isfinite(b)):
            raise ValueError(
                f"b must be a non-empty 1-d vector of finite reals, got {short_repr(self.b)}"
            )
        tau = check_scalar("tau", self.tau, _POSITIVE_FINITE)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "tau", tau)

    def _symbolic_post_init(self):
        a = _symbolic_scalar("a", self.a, _FINITE)
        b = np.asarray(self.b, dtype=object)
        if b.ndim != 1 or b.size == 0:
            raise ValueError(f"b must be a non-empty 1-d vector, got {short_repr(self.b)}")
        b = _sym_vec([_symbolic_scalar("b", x, _FINITE) for x in b])
        tau = _symbolic_scalar("tau", self.tau, _POSITIVE_FINITE)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "tau", tau)

    @property
    def d(self) -> int:
        return self.b.shape[0]

    @property
    def symbolic(self) -> bool:
        """``True`` if the parameters are sympy expressions (:meth:`GaussianMeanModel.kd_student`
        with ``alpha=sympy.Symbol("alpha")``, ...)."""
        return isinstance(self.a, sp.Basic)

    def __repr__(self) -> str:
        return f"GaussianKernel(a={self.a!r}, b={self.b.tolist()!r}, tau={self.tau!r})"


def _any_symbolic(*values) -> bool:
    """Whether any value is symbolic: a sympy expression with free symbols, or a list, tuple or
    ``dtype=object`` array holding one (float arrays are never inspected: no cost to numbers)."""
    for v in values:
        if isinstance(v, (list, tuple)) or (isinstance(v, np.ndarray) and v.dtype == object):
            if any(is_symbolic(x) for x in np.ravel(np.asarray(v, dtype=object))):
                return True
        elif is_symbolic(v):
            return True
    return False


def _symbolic_scalar(name: str, value, domain: Domain) -> sp.Expr:
    """One parameter on the symbolic path: an expression checked by
    :func:`kdtheory.symbols.check_symbolic`, or a number checked by
    :func:`~kdtheory.symbols.check_scalar` and kept as an exact binary ``sympy.Float``."""
    if is_symbolic(value):
        return check_symbolic(name, value, domain)
    if isinstance(value, sp.Basic) and value.is_number:  # keep an exact sympy number exact
        check_scalar(name, value, domain)
        return value
    return sp.Float(check_scalar(name, value, domain))


def _vec(
    name: str, value, d: int, domain: Domain = MODEL_REAL, symbolic: bool = False
) -> np.ndarray:
    """A scalar (broadcast to ``d``) or a length-``d`` vector of reals in ``domain`` (the supported
    range by default); errors name ``name`` (types as in :func:`kdtheory.symbols.real_array`).
    With ``symbolic=True`` a value holding sympy expressions gives a ``dtype=object`` vector of
    sympy objects (entries checked against ``domain`` by :func:`_symbolic_scalar`)."""
    if symbolic and _any_symbolic(value):
        arr = np.asarray(value, dtype=object)
        if arr.ndim == 0:
            arr = np.full(d, arr[()], dtype=object)
        if arr.shape != (d,):
            raise ValueError(f"{name} must be a scalar or have shape ({d},), got shape {arr.shape}")
        return _sym_vec([_symbolic_scalar(name, x, domain) for x in arr])
    what = f"a real scalar or a length-{d} vector with entries in {domain.describe()}"
    arr = real_array(name, value, what)
    if arr.ndim == 0:
        arr = np.full(d, float(arr))
    if arr.shape != (d,):
        raise ValueError(f"{name} must be a scalar or have shape ({d},), got shape {arr.shape}")
    ok = domain.contains(arr)
    if not np.all(ok):
        raise ValueError(
            f"{name} must have entries in {domain.describe()}, got {short_repr(arr.tolist())}"
        )
    return arr


def _derived_kernel(a, b, tau, blame: str) -> GaussianKernel:
    """A kernel computed from validated inputs: only finiteness is checked (a derived value may
    leave the supported range by a small factor), and a failure names the user's parameters.
    Symbolic parameters give a symbolic kernel (its own checks)."""
    if isinstance(a, sp.Basic) or isinstance(tau, sp.Basic) or _any_symbolic(b):
        return GaussianKernel(a=sp.sympify(a), b=_sym_vec(b), tau=sp.sympify(tau))
    a, tau = float(a), float(tau)
    b = np.asarray(b, dtype=float)
    if not (math.isfinite(a) and np.all(np.isfinite(b)) and math.isfinite(tau) and tau > 0):
        raise ValueError(
            f"{blame} give a kernel outside double range (a = {a!r}, tau = {tau!r}); "
            f"keep them in {MODEL_SCALE.describe()}"
        )
    return GaussianKernel(a=a, b=b, tau=tau)


def _mc_size(size, per_draw: int, minimum: int = 2) -> int:
    """Monte Carlo ``size``: an integer ``>= minimum`` (2 where a standard error is returned) with
    ``size * per_draw <= MC_BUDGET`` random numbers."""
    return check_size("size", size, minimum, max(minimum, MC_BUDGET // max(per_draw, 1)))


def _flag(name: str, value) -> bool:
    """A boolean option: ``True``/``False`` (numpy bools included) only."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {short_repr(value)}")
    return bool(value)


class GaussianMeanModel(GaussianMeanCGF, GaussianMeanSmoothing):
    """Model A of THEORY §6: ``GaussianMeanModel(d, n, s, m)`` with ``m`` a scalar or a d-vector.

    >>> model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    >>> teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    >>> round(model.gen(teacher), 12)
    1.23282674772

    **Symbolic in, symbolic out** (issue 11 item 3).  Every parameter but ``d`` may be a sympy
    expression: ``n``, ``s``, the entries of ``m`` here, and the parameters of :meth:`kernel`,
    :meth:`gibbs`, :meth:`tempered_bayes`, :meth:`kd_student` (``alpha``, ``gamma``, ``lam``,
    ``m0``) and :meth:`tilt_student`.  A kernel built from symbolic input is symbolic
    (:attr:`GaussianKernel.symbolic`) unless the symbols cancel (``alpha`` for a teacher with
    ``a_T = 1, b_T = 0``: the student is then numeric); a sympy *number* (``Rational(3, 10)``)
    is a number.  For a symbolic kernel or model, :meth:`offset`, :meth:`gen`, :meth:`dgen`,
    :meth:`divergence_parts`, :meth:`distillation_divergence`, :meth:`conditional_proxy`,
    :meth:`information_ratio`, the three informations and :meth:`theorem_values` then return
    sympy expressions: the formulas of :mod:`kdtheory.formulas.gaussian_mean` with the arguments
    substituted (never a second copy of a formula).  Numbers mixed in become exact binary
    ``sympy.Float``; the registered stable functions stay as sympy functions (``phi``,
    ``log1p``: :func:`kdtheory.formulas.compile.definition` expands them; ``evalf`` works).

    >>> import sympy
    >>> alpha = sympy.Symbol("alpha", real=True)
    >>> student = model.kd_student(teacher, alpha=alpha, gamma=1.0, lam=2.0)
    >>> model.gen(student).subs(alpha, 0.3)  # equals the numeric path
    0.648775075987842

    *Which symbols.*  Real ones: declared ``real=True`` (or ``positive=True``, ``integer=True``,
    ...) or plain (``Symbol("alpha")``, taken as real).  Declaring the domain helps sympy
    simplify (``positive=True`` for ``s``, ``gamma``; ``integer=True, positive=True`` for
    ``n``).  Refused: strings, ``nan``, complex symbols or expressions (``TypeError``), numbers
    outside a parameter's domain and expressions sympy proves to lie outside it (``ValueError``,
    e.g. ``alpha = 1 + Symbol("x", positive=True)``); what sympy cannot decide is accepted, and the
    result holds where the symbols take valid values (the numeric range checks of the supported
    magnitudes apply to numbers only).  Methods that need numbers (the CGF and smoothing
    quantities, :meth:`kl_given_data`, :meth:`expectation_over_data`, simulation) raise
    ``TypeError`` for a symbolic kernel or model.
    """

    def __init__(self, d: int, n: int, s: float, m=0.0):
        self.d = check_int("d", d, MODEL_DIM)
        self.n = (
            check_symbolic("n", n, MODEL_COUNT)
            if is_symbolic(n)
            else check_int("n", n, MODEL_COUNT)
        )
        self.s = check_real("s", s, MODEL_SCALE)
        self.m = _vec("m", m, self.d, symbolic=True)
        self.v = self.s * self.s / self.n
        #: ``True`` if ``n``, ``s`` or ``m`` is symbolic (then every kernel's quantities are)
        self.symbolic = _any_symbolic(self.n, self.s, self.m)

    def __repr__(self) -> str:
        return f"GaussianMeanModel(d={self.d}, n={self.n}, s={self.s!r}, m={self.m.tolist()!r})"

    # -- kernels ------------------------------------------------------------------------------
    def kernel(self, a: float, b=0.0, tau: float = 1.0) -> GaussianKernel:
        """The kernel ``W | D ~ N(a Zbar + b, tau^2 I)`` (``b`` scalar or d-vector, ``tau > 0``;
        ``a``, ``b`` and ``tau`` in the supported range, :data:`kdtheory.symbols.MODEL_SCALE`)."""
        return GaussianKernel(
            a=check_real("a", a, MODEL_REAL),
            b=_vec("b", b, self.d, symbolic=True),
            tau=check_real("tau", tau, MODEL_SCALE),
        )

    def gibbs(self, gamma: float, lam: float, m0=0.0) -> GaussianKernel:
        """Gibbs kernel ``P(w|D) ∝ N(w; m0, I/lam) exp(-gamma L_D(w))`` (THEORY §6, constructors):
        ``a = 2 gamma/(lam + 2 gamma)``, ``b = lam m0/(lam + 2 gamma)``, ``tau^2 = 1/(lam + 2 gamma)``.
        ``lam = 0`` is the flat prior."""
        gamma = check_real("gamma", gamma, MODEL_SCALE)
        lam = check_real("lam", lam, MODEL_SCALE_OR_ZERO)
        a, b, tau = _gibbs(gamma, lam, _vec("m0", m0, self.d, symbolic=True))
        return _derived_kernel(a, b, tau, f"gamma = {gamma!r}, lam = {lam!r}")

    def tempered_bayes(self, temperature: float = 1.0, lam: float = 0.0, m0=0.0) -> GaussianKernel:
        """Tempered Bayes posterior: Gibbs with ``gamma = n / (2 s^2 T)`` (THEORY §6)."""
        t = check_real("temperature", temperature, MODEL_SCALE)
        if _any_symbolic(t, self.n, self.s):
            return self.gibbs(gamma=_bayes_gamma(t, self.n, self.s), lam=lam, m0=m0)
        gamma = float(_bayes_gamma(t, self.n, self.s))
        if not MODEL_SCALE.contains(gamma):
            # gamma T = n/(2 s^2) is symmetric in gamma and T: the bounds on T are bayes_gamma
            # at the bounds on gamma
            lo = max(MODEL_SCALE.low, float(_bayes_gamma(MODEL_SCALE.high, self.n, self.s)))
            hi = min(MODEL_SCALE.high, float(_bayes_gamma(MODEL_SCALE.low, self.n, self.s)))
            raise ValueError(
                f"temperature must lie in [{lo:g}, {hi:g}] for this model (s = {self.s!r}, "
                f"n = {self.n}: gamma = n/(2 s^2 T) must lie in {MODEL_SCALE.describe()}), "
                f"got {short_repr(temperature)}"
            )
        return self.gibbs(gamma=gamma, lam=lam, m0=m0)

    def kd_student(
        self,
        teacher: GaussianKernel,
        alpha: float,
        gamma: float,
        lam: float,
        m0=0.0,
        teacher_sample: bool = False,
    ) -> GaussianKernel:
        """KD student: Gibbs on ``alpha L_D(w) + (1 - alpha) ||w - mu_T(D)||^2`` (THEORY §6):
        ``a_S = k_S (alpha + (1-alpha) a_T)``, ``b_S = k_S (1-alpha) b_T + lam m0/(lam + 2 gamma)``,
        ``tau_S^2 = 1/(lam + 2 gamma)`` (``+ (k_S (1-alpha) tau_T)^2`` for a sampled soft label),
        ``k_S = 2 gamma/(lam + 2 gamma)``."""
        self._check_kernel("teacher", teacher, symbolic=True)
        alpha = check_real("alpha", alpha, UNIT_CLOSED)
        gamma = check_real("gamma", gamma, MODEL_SCALE)
        lam = check_real("lam", lam, MODEL_SCALE_OR_ZERO)
        m0 = _vec("m0", m0, self.d, symbolic=True)
        a, b, tau = _kd_student(
            teacher.a,
            teacher.b,
            teacher.tau,
            alpha,
            gamma,
            lam,
            m0,
            _flag("teacher_sample", teacher_sample),
        )
        return _derived_kernel(a, b, tau, f"alpha = {alpha!r}, gamma = {gamma!r}, lam = {lam!r}")

    def tilt_student(self, teacher: GaussianKernel, kappa: float) -> GaussianKernel:
        """Tilt student ``mu_S = mu_T + kappa (Zbar - m)``, ``tau_S = tau_T`` (THEORY §6): the
        equality witness of Theorem U1 (``kappa > 0`` upper side, ``kappa < 0`` lower side)."""
        self._check_kernel("teacher", teacher, symbolic=True)
        kappa = check_real("kappa", kappa, MODEL_REAL)
        a, b, tau = _tilt_student(teacher.a, teacher.b, teacher.tau, kappa, self.m)
        return _derived_kernel(a, b, tau, f"kappa = {kappa!r}")

    def _check_kernel(self, name: str, k, symbolic: bool = False) -> None:
        """``k`` a kernel of this model's dimension; unless ``symbolic``, the caller needs numbers
        (``TypeError`` for a symbolic kernel or model)."""
        if not isinstance(k, GaussianKernel):
            raise TypeError(f"{name} must be a GaussianKernel, got {type(k).__name__}")
        if k.d != self.d:
            raise ValueError(f"{name} has dimension {k.d}, the model has d = {self.d}")
        if not symbolic and (k.symbolic or self.symbolic):
            what = f"{name} {k!r}" if k.symbolic else f"the model {self!r}"
            raise TypeError(
                f"this quantity is computed numerically only, but {what} has symbolic "
                "parameters (symbolic: the kernel maps, gen, dgen, K_n and its parts, the "
                "proxy, the informations, theorem_values)"
            )

    # -- exact quantities ---------------------------------------------------------------------
    def offset(self, k: GaussianKernel) -> np.ndarray:
        """``c_K = (a - 1) m + b``, so ``W - m = a delta + c_K + tau xi`` (THEORY §6)."""
        self._check_kernel("kernel", k, symbolic=True)
        return _offset(k.a, k.b, self.m)

    def gen(self, k: GaussianKernel) -> float:
        """Expected generalization gap ``gen = 2 a d s^2 / n`` (THEORY §6.1)."""
        self._check_kernel("kernel", k, symbolic=True)
        return _out(_gen(k.a, self.n, self.s, self.d))

    def dgen(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """``gen_S - gen_T = 2 (a_S - a_T) d s^2 / n`` (THEORY §6.1), computed from the difference of
        the slopes so that a student close to its teacher loses no digits to cancellation."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        return _out(_gen(student.a - teacher.a, self.n, self.s, self.d))

    def divergence_parts(self, student: GaussianKernel, teacher: GaussianKernel) -> dict:
        """``K_n`` split into offset, estimation and spread (THEORY §6.2):
        ``||c_Delta||^2/(2 tau_T^2)``, ``da^2 d v/(2 tau_T^2)``, ``(d/2) phi(tau_S^2/tau_T^2)``."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        parts = _divergence_parts(self.m, self.n, self.s, *self._abt(student), *self._abt(teacher))
        return {k: _out(v) for k, v in parts.items()}

    @staticmethod
    def _abt(k: GaussianKernel) -> tuple:
        return k.a, k.b, k.tau

    def distillation_divergence(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """``K_n = E_D KL(P_{W_S|D} || P_{W_T|D})`` (THEORY §1, §6.2)."""
        return _out(sum(self.divergence_parts(student, teacher).values()))

    def kl_given_data(self, student: GaussianKernel, teacher: GaussianKernel, zbar) -> float:
        """Per-dataset ``KL_D`` at sample mean ``zbar``, from the closed-form KL registry."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        zbar = _vec("zbar", zbar, self.d)
        return float(
            kl(
                IsotropicGaussian(student.a * zbar + student.b, student.tau**2),
                IsotropicGaussian(teacher.a * zbar + teacher.b, teacher.tau**2),
            )
        )

    def conditional_proxy(self, teacher: GaussianKernel) -> float:
        """``E_D sigma_D^2 = 4 tau_T^2 d s^2 / n``; given D, ``g(W_T, D)`` is Gaussian with variance
        ``sigma_D^2 = 4 tau_T^2 ||delta||^2`` (THEORY §6.4)."""
        self._check_kernel("teacher", teacher, symbolic=True)
        return _out(_conditional_proxy(teacher.tau, self.n, self.s, self.d))

    def information_ratio(self, k: GaussianKernel) -> float:
        """``q = a^2 v / tau^2`` (THEORY §6.3)."""
        self._check_kernel("kernel", k, symbolic=True)
        return _out(_information_ratio(k.a, k.tau, self.n, self.s))

    def _information(self, kind: str, k: GaussianKernel) -> float:
        self._check_kernel("kernel", k, symbolic=True)
        return _out(_information(kind, k.a, k.tau, self.n, self.s, self.d))

    def mutual_information(self, k: GaussianKernel) -> float:
        """``I(W; D) = (d/2) log(1 + q)`` (THEORY §6.3)."""
        return self._information("mutual", k)

    def lautum_information(self, k: GaussianKernel) -> float:
        """Lautum information ``d q - (d/2) log(1 + q)`` (THEORY §6.3)."""
        return self._information("lautum", k)

    def symmetrized_information(self, k: GaussianKernel) -> float:
        """``I_SKL = I + lautum = d q`` (THEORY §6.3); a Gibbs kernel has ``gen = I_SKL/gamma``."""
        return self._information("symmetrized", k)

    def closed_form(self, name: str):
        """The closed form of the Model A quantity ``name`` (e.g. ``"K_n"``, ``"gen"``,
        ``"kd_a_S"``) as a :class:`~kdtheory.formulas.gaussian_mean.Formula`: its sympy
        expression (``.expr``), its symbols with LaTeX, domain and meaning (``.symbols``) and
        its THEORY reference (``.ref``).  The same for every instance: the expression is in
        symbols (``d``, ``n``, ``s``, kernel parameters), not in this model's numbers.  The
        numbers of the methods above come from these expressions (and, for symbolic arguments,
        the methods return these expressions with the arguments substituted)."""
        from ..formulas.gaussian_mean import closed_form

        return closed_form(name)

    def theorem_values(self, student: GaussianKernel, teacher: GaussianKernel) -> dict:
        """Exact values of the symbols of the upper bounds (``dgen``, ``K_n``, ``Esigma2``,
        ``gen_S``, ``gen_T``, ``sigma_bar = inf``; ``sympy.oo`` on the symbolic path)."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        vals = _theorem_values(self.m, self.n, self.s, *self._abt(student), *self._abt(teacher))
        out = {k: _out(v) for k, v in vals.items()}
        symbolic = any(isinstance(v, sp.Basic) for v in out.values())
        return {**out, "sigma_bar": sp.oo if symbolic else math.inf}

    # -- the per-dataset expectation of Theorem U0 --------------------------------------------
    def expectation_over_data(
        self, integrand, student: GaussianKernel, teacher: GaussianKernel, epsrel: float = 1e-13
    ):
        """``E_D integrand(sigma_D, KL_D)`` by adaptive quadrature in polar coordinates about
        ``c_Delta`` (THEORY §6.4): ``||delta|| = sqrt(v) R`` with ``R ~ chi_d`` and ``psi`` the angle
        between ``delta`` and ``c_Delta`` (density ∝ ``sin^(d-2) psi``; for d = 1, psi in {0, pi}).

        ``integrand`` takes keyword arguments ``sigma_D`` and ``KL_D`` (e.g. a theorem's
        :attr:`~kdtheory.theorems.Theorem.integrand_function`).  Relative accuracy ~1e-13
        (:func:`kdtheory.models.gaussian_mean_quadrature.adaptive_expectation`; a batch of cases:
        :func:`~kdtheory.models.gaussian_mean_quadrature.expectation_over_data`).
        """
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        if not callable(integrand):
            raise TypeError(f"integrand must be callable, got {type(integrand).__name__}")
        epsrel = check_scalar("epsrel", epsrel, _EPSREL)
        from .gaussian_mean_quadrature import adaptive_expectation, reduced_parameters

        p = reduced_parameters(self.m, self.n, self.s, self._abt(student), self._abt(teacher))
        return adaptive_expectation(
            integrand, self.d, *(float(p[k]) for k in ("v", "tau_t", "da", "cn", "spread")),
            epsrel=epsrel,
        )  # fmt: skip

    # -- simulation (the Monte Carlo twin) ----------------------------------------------------
    def simulate(self, kernel: GaussianKernel, size: int, rng: np.random.Generator):
        """Draw ``size`` datasets and one weight per dataset: returns ``(Z, W)`` with
        ``Z.shape == (size, n, d)`` and ``W.shape == (size, d)``."""
        self._check_kernel("kernel", kernel)
        size = _mc_size(size, self.n * self.d, minimum=1)
        check_rng("rng", rng)
        z = self.m + self.s * rng.standard_normal((size, self.n, self.d))
        zbar = z.mean(axis=1)
        w = kernel.a * zbar + kernel.b + kernel.tau * rng.standard_normal((size, self.d))
        return z, w

    def gap(self, w: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``g(w, D) = L_mu(w) - L_D(w)`` evaluated from its definition (THEORY §1, §6):
        ``L_mu(w) = ||w - m||^2 + d s^2``, ``L_D(w) = mean_i ||w - Z_i||^2``."""
        pop = np.sum((w - self.m) ** 2, axis=-1) + self.d * self.s**2
        emp = np.mean(np.sum((w[..., None, :] - z) ** 2, axis=-1), axis=-1)
        return pop - emp

    def monte_carlo_gen(self, kernel: GaussianKernel, size: int, rng: np.random.Generator):
        """``(estimate, standard error)`` of ``gen`` from simulated datasets and weights
        (``size >= 2``: the standard error needs two draws)."""
        size = _mc_size(size, self.n * self.d)
        z, w = self.simulate(kernel, size, rng)
        g = self.gap(w, z)
        return float(g.mean()), float(g.std(ddof=1) / math.sqrt(size))

    def monte_carlo_divergence(
        self, student: GaussianKernel, teacher: GaussianKernel, size: int, rng: np.random.Generator
    ):
        """``(estimate, standard error)`` of ``K_n``: the average over simulated datasets of the
        log-density ratio ``log p_S(W|D) - log p_T(W|D)`` at ``W ~ P_{W_S|D}`` (``size >= 2``)."""
        self._check_kernel("teacher", teacher)
        size = _mc_size(size, self.n * self.d)
        z, w = self.simulate(student, size, rng)
        zbar = z.mean(axis=1)
        mu_s, mu_t = student.a * zbar + student.b, teacher.a * zbar + teacher.b
        ts2, tt2 = student.tau**2, teacher.tau**2
        lr = (
            -np.sum((w - mu_s) ** 2, axis=1) / (2 * ts2)
            + np.sum((w - mu_t) ** 2, axis=1) / (2 * tt2)
            - 0.5 * self.d * math.log(ts2 / tt2)
        )
        return float(lr.mean()), float(lr.std(ddof=1) / math.sqrt(size))
