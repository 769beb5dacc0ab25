"""The one place where kdtheory's sympy symbols are made (THEORY §1).

Every symbol is created from a :class:`Param`: a name, a LaTeX rendering, a :class:`Domain`
and a one-line meaning.  The domain is the single definition behind three uses (the
scipy.stats "parameter knows its domain" idea, see STYLE.md):

* the sympy assumptions of the symbol (``positive=True`` and so on),
* the validation error raised on bad numeric input (:meth:`Param.validate`),
* the hypothesis strategy that draws valid values (:func:`kdtheory.strategies.values`).
"""

from __future__ import annotations

import decimal
import math
import numbers
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ._lazy import lazy_module

np = lazy_module("numpy", globals())  # numpy on first use: kdtheory list needs none

__all__ = [
    "Domain",
    "Param",
    "REAL",
    "POSITIVE",
    "NONNEGATIVE",
    "UNIT_CLOSED",
    "UNIT_HALF_OPEN",
    "POSITIVE_INTEGER",
    "PARAMS",
    "param",
    "symbol",
    "latex_names",
    "aux_symbol",
    "to_latex",
    "upright_spacing",
    "check_in",
    "check_scalar",
    "check_int",
    "check_size",
    "check_rng",
    "is_symbolic",
    "check_symbolic",
    "check_real",
    "numeric_only",
    "real_scalar",
    "real_array",
    "FLOAT_MAX",
    "short_repr",
    "MODEL_BOUND",
    "MODEL_SCALE",
    "MODEL_SCALE_OR_ZERO",
    "MODEL_REAL",
    "MODEL_DIM",
    "MODEL_COUNT",
]


@dataclass(frozen=True)
class Domain:
    """A real interval (optionally restricted to integers) with open or closed ends."""

    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False
    integer: bool = False
    #: why the interval is what it is (shown by :meth:`describe`), e.g. "supported range"
    note: str = field(default="", compare=False)
    #: the mathematical domain this (narrower, supported) range lies in: a value outside it is
    #: reported against it, a valid but unsupported value against this range
    math: Domain | None = field(default=None, compare=False, repr=False)

    def contains(self, x) -> np.ndarray | bool:
        """Elementwise membership; NaN is never a member."""
        x = np.asarray(x, dtype=float)
        ok = np.isfinite(x)
        if not ok.all():  # the infinite entries (rare) are members only at a closed infinite end
            ok |= np.isinf(x) & self._allows_inf(x)
        ok &= (x >= self.low) if self.low_closed else (x > self.low)
        ok &= (x <= self.high) if self.high_closed else (x < self.high)
        if self.integer:
            ok &= np.isfinite(x) & (np.floor(x) == x)
        return ok if ok.ndim else bool(ok)

    def contains_number(self, x: float) -> bool:
        """:meth:`contains` for one Python float (no array machinery: the fast path of
        :func:`check_in` asks it about an array's minimum and maximum)."""
        if math.isnan(x):
            return False
        if math.isinf(x):
            end_ok = (x > 0 and self.high == math.inf and self.high_closed) or (
                x < 0 and self.low == -math.inf and self.low_closed
            )
            if not end_ok:
                return False
        if not ((x >= self.low) if self.low_closed else (x > self.low)):
            return False
        if not ((x <= self.high) if self.high_closed else (x < self.high)):
            return False
        return not self.integer or (math.isfinite(x) and math.floor(x) == x)

    def _allows_inf(self, x):
        return ((x == math.inf) & (self.high == math.inf) & self.high_closed) | (
            (x == -math.inf) & (self.low == -math.inf) & self.low_closed
        )

    def describe(self, kind: bool = True) -> str:
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        kind = "integers in " if (self.integer and kind) else ""
        note = f" ({self.note})" if self.note else ""
        return f"{kind}{left}{_fmt(self.low)}, {_fmt(self.high)}{right}{note}"

    def sympy_assumptions(self) -> dict[str, bool]:
        """Sympy assumptions implied by the domain (the strongest of a few standard ones)."""
        out: dict[str, bool] = {"real": True}
        if self.integer:
            out["integer"] = True
        if self.low > 0 or (self.low == 0 and not self.low_closed):
            out["positive"] = True
        elif self.low >= 0:
            out["nonnegative"] = True
        if self.high < 0 or (self.high == 0 and not self.high_closed):
            out["negative"] = True
        elif self.high <= 0:
            out["nonpositive"] = True
        if math.isfinite(self.low) and math.isfinite(self.high):
            out["finite"] = True
        return out


def _fmt(x: float) -> str:
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return f"{x:g}"


REAL = Domain()
POSITIVE = Domain(low=0.0)
NONNEGATIVE = Domain(low=0.0, low_closed=True, high=math.inf, high_closed=True)
UNIT_CLOSED = Domain(0.0, 1.0, True, True)
UNIT_HALF_OPEN = Domain(0.0, 1.0, True, False)
POSITIVE_INTEGER = Domain(low=1.0, low_closed=True, integer=True)
POSITIVE_OR_INF = Domain(low=0.0, high=math.inf, high_closed=True)

#: The supported magnitudes of the toy models' parameters (THEORY §6-§8).  The closed forms
#: multiply up to about six of them (e.g. ``||c_K||^2 v / tau^2``), so scales in
#: ``[1e-30, 1e30]`` and locations in ``[-1e30, 1e30]`` keep every exact quantity inside double
#: range; outside it a model raises ``ValueError`` naming the parameter and this range instead of
#: overflowing.  ``d`` is bounded by memory, counts (``n``, ``M``) by exact integer doubles.
MODEL_BOUND = 1e30
_SUPPORTED = "the supported range of model parameters"
MODEL_SCALE = Domain(1 / MODEL_BOUND, MODEL_BOUND, True, True, note=_SUPPORTED, math=POSITIVE)
MODEL_SCALE_OR_ZERO = Domain(
    0.0, MODEL_BOUND, True, True, note=_SUPPORTED, math=Domain(0.0, math.inf, True, False)
)
MODEL_REAL = Domain(-MODEL_BOUND, MODEL_BOUND, True, True, note=_SUPPORTED, math=REAL)
MODEL_DIM = Domain(
    1.0, 1e6, True, True, integer=True, note="the supported dimensions", math=POSITIVE_INTEGER
)
MODEL_COUNT = Domain(
    1.0,
    2.0**53,
    True,
    True,
    integer=True,
    note="the supported range: exact integer doubles",
    math=POSITIVE_INTEGER,
)


@dataclass(frozen=True)
class Param:
    """A named theory parameter: its symbol, LaTeX, domain and meaning."""

    name: str
    latex: str
    domain: Domain
    meaning: str
    extra_assumptions: dict = field(default_factory=dict, hash=False, compare=False)

    @cached_property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, **{**self.domain.sympy_assumptions(), **self.extra_assumptions})

    def validate(self, value, *, name: str | None = None, scalar: bool = True):
        """Return ``value`` as float (a float array if ``scalar=False``); raise naming the parameter.

        Raises ``TypeError`` for non-numeric input and ``ValueError`` for values outside the
        domain (NaN included), with the parameter name, the value and the valid domain.
        """
        label = name or self.name
        return check_in(label, value, self.domain, scalar=scalar)


#: the largest magnitude a float can hold (values beyond it are refused, never rounded to inf)
FLOAT_MAX = sys.float_info.max


def short_repr(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 400-digit integer stays readable)."""
    r = repr(value)
    return r if len(r) <= limit else f"{r[: limit - 20]}...{r[-12:]} ({len(r)} characters)"


def _type_error(label: str, value, what: str) -> TypeError:
    return TypeError(
        f"{label} must be {what}, got {short_repr(value)} of type {type(value).__name__}"
    )


def real_scalar(label: str, value, what: str = "a real number") -> float:
    """``value`` as a Python float, from any *real* number type; errors name ``label``.

    Accepted: ``int`` (also one too large for ``float``'s exponent is refused with ``ValueError``,
    never ``OverflowError``), ``float`` and numpy real scalars (any width), 0-d real arrays,
    ``decimal.Decimal``, ``fractions.Fraction`` and sympy real numbers (``sp.Rational(3, 2)``,
    ``sp.sqrt(2)``, ``sp.oo``).  Refused with ``TypeError``: ``bool`` (a flag is not a number),
    complex types (even with a zero imaginary part), strings, ``None``, masked arrays, sympy
    symbols, non-real sympy numbers and anything without a real value.  NaN and inf pass through
    (the domain check decides)."""
    if isinstance(value, np.ndarray):
        if isinstance(value, np.ma.MaskedArray):
            raise _type_error(label, value, f"{what} (masked arrays are refused)")
        if value.ndim != 0:
            raise _type_error(label, value, f"{what}, not an array of shape {value.shape}")
        value = value[()]
    if isinstance(value, (bool, np.bool_)):
        raise _type_error(label, value, f"{what} (bool is refused)")
    if value is None or isinstance(value, (str, bytes, complex, np.complexfloating)):
        raise _type_error(label, value, what)
    if isinstance(value, sp.Basic):
        if not (value.is_number and value.is_extended_real):
            raise _type_error(label, value, f"{what} (a sympy real number, not symbolic/complex)")
        finite = bool(value.is_finite)
    elif isinstance(value, decimal.Decimal):
        finite = value.is_finite()
    elif isinstance(value, (float, np.floating)):
        finite = bool(np.isfinite(value))  # np.longdouble can exceed a double's range
    elif isinstance(value, (numbers.Rational, np.integer)):
        finite = True  # int, Fraction: exact and finite, however large
    elif hasattr(value, "__float__") and not isinstance(value, numbers.Complex):
        finite = False  # an unknown real type (mpmath, ...): trust its float
    else:
        raise _type_error(label, value, what)
    try:
        with np.errstate(over="ignore"):
            out = float(value)
    except OverflowError:
        out = math.inf
    except (TypeError, ValueError, ArithmeticError):
        raise _type_error(label, value, what) from None
    if finite and math.isinf(out):
        raise ValueError(
            f"{label} = {short_repr(value)} is too large for a double (|x| <= {FLOAT_MAX:.4g})"
        )
    return out


def real_array(label: str, value, what: str = "a real number or array of real numbers"):
    """``value`` as a float ndarray (0-d for a scalar) from real input of any type accepted by
    :func:`real_scalar`, elementwise; bool, complex, string, datetime and masked arrays are refused
    with ``TypeError``, ragged nesting with ``ValueError``; errors name ``label``."""
    if isinstance(value, np.ma.MaskedArray):
        raise _type_error(label, value, f"{what} (masked arrays are refused)")
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind in "fiu":
            with np.errstate(over="ignore"):
                arr = value.astype(float)  # a copy: the caller's array is never aliased
            if (
                kind == "f"
                and value.dtype.itemsize > 8
                and np.any(np.isinf(arr) & np.isfinite(value))
            ):
                raise ValueError(
                    f"{label} has an entry too large for a double (|x| <= {FLOAT_MAX:.4g})"
                )
            return arr
        if kind != "O":
            raise _type_error(label, value, f"{what}, not an array of dtype {value.dtype}")
        raw = value
    elif isinstance(value, (list, tuple)):
        try:
            raw = np.empty(np.shape(np.asarray(value, dtype=object)), dtype=object)
            raw[...] = np.asarray(value, dtype=object)
        except ValueError:
            raise ValueError(
                f"{label} must be a regular (non-ragged) array of real numbers, got {short_repr(value)}"
            ) from None
    else:
        return np.asarray(real_scalar(label, value, what))
    out = np.empty(raw.shape, dtype=float)
    for idx, x in np.ndenumerate(raw):
        if isinstance(x, (list, tuple)):
            raise ValueError(
                f"{label} must be a regular (non-ragged) array of real numbers, got {short_repr(value)}"
            )
        out[idx] = real_scalar(label, x, what)
    return out


def _within(value, domain: Domain) -> bool:
    """Whether ``value``, a non-empty float64 or integer ndarray (exactly ``numpy.ndarray``), lies
    in ``domain`` (and ``domain.math``), decided from its minimum and maximum: an interval holds
    every number between two of its members, and a NaN makes both NaN.  Integrality costs one
    more pass (integer dtypes are integral).  ``False`` for anything else: the caller then runs
    the full check, which also finds the first bad entry for the error message."""
    if type(value) is not np.ndarray or value.ndim == 0 or value.size == 0:
        return False
    kind = value.dtype.kind
    if not (value.dtype == np.float64 or kind in "iu"):
        return False
    doms = (domain.math, domain) if domain.math is not None else (domain,)
    if all(d == REAL for d in doms):
        # finite reals: one pass, the sum (finite iff no entry is inf or NaN, unless a sum of
        # huge finite entries overflows -- then the elementwise path decides)
        with np.errstate(over="ignore", invalid="ignore"):
            return kind in "iu" or math.isfinite(float(np.add.reduce(value, axis=None)))
    lo, hi = float(value.min()), float(value.max())
    for dom in doms:
        ends = Domain(dom.low, dom.high, dom.low_closed, dom.high_closed)  # integrality below
        if not (ends.contains_number(lo) and ends.contains_number(hi)):
            return False
    integer = domain.integer or (domain.math is not None and domain.math.integer)
    if integer and kind == "f":
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return False
        with np.errstate(invalid="ignore"):
            return bool(np.all(np.floor(value) == value))
    return True


def check_in(label: str, value, domain: Domain, *, scalar: bool = False, copy: bool = True):
    """Validate ``value`` against ``domain``; the error names ``label``, the value and the domain.

    Returns a float for scalar input (0-d arrays included) and a float array otherwise;
    ``scalar=True`` refuses arrays and sequences (``TypeError``).  Types are checked by
    :func:`real_array` (bool, complex, strings, masked arrays refused; Decimal, Fraction, sympy
    reals and huge ints accepted when they fit a double).

    A float64 or integer array is accepted from its minimum and maximum (:func:`_within`: two
    fast reductions instead of a dozen elementwise passes; one for a real domain); anything
    else, and every array that fails, takes the elementwise path, so the errors are the same.
    A plain ``float`` or ``int`` in the domain is accepted by :meth:`Domain.contains_number`.
    The array returned is a copy, never the caller's array, unless ``copy=False`` (for callers
    that only read it and return nothing that aliases it: a float64 array is then returned as
    is, which spares a batch a pass over memory)."""
    if type(value) in (float, int):  # a plain number (not bool): no array machinery, no numpy
        try:
            x = float(value)
        except OverflowError:  # an int beyond double range: the general path says so
            x = math.nan
        if all(d.contains_number(x) for d in (domain.math, domain) if d is not None):
            return x
    if not scalar and _within(value, domain):
        if not copy and value.dtype == np.float64:
            return value
        with np.errstate(over="ignore"):
            return value.astype(float)  # a copy, as real_array makes: never the caller's array
    what = f"a real {'scalar' if scalar else 'number or array'} in {domain.describe()}"
    arr = np.asarray(real_scalar(label, value, what)) if scalar else real_array(label, value, what)
    for dom in (domain.math, domain) if domain.math is not None else (domain,):
        ok = dom.contains(arr)
        if not np.all(ok):
            bad = value if arr.ndim == 0 else arr[~np.asarray(ok)].ravel()[0]
            what = (
                f"be an integer in {dom.describe(kind=False)}"
                if dom.integer
                else (f"lie in {dom.describe()}")
            )
            raise ValueError(f"{label} must {what}, got {short_repr(bad)}")
    return float(arr) if arr.ndim == 0 else arr


def check_scalar(label: str, value, domain: Domain) -> float:
    """:func:`check_in` for a parameter that must be one real number (never an array)."""
    return check_in(label, value, domain, scalar=True)


def is_symbolic(value) -> bool:
    """``True`` for a sympy object with free symbols (``Symbol("alpha")``, ``2 * gamma``): the
    input that takes the symbolic path of the model API.  A sympy *number* (``Rational(3, 2)``,
    ``sqrt(2)``) is not symbolic: it is validated and used as a float."""
    return isinstance(value, sp.Basic) and bool(value.free_symbols)


def _plain(sym) -> bool:
    """A symbol made without assumptions (``Symbol("x")``), which the model API takes as real."""
    return isinstance(sym, sp.Symbol) and sym.assumptions0 == {"commutative": True}


def check_symbolic(label: str, value, domain: Domain) -> sp.Expr:
    """A symbolic real parameter: ``value`` (a sympy expression with free symbols) checked and
    returned unchanged; errors name ``label``.

    The symbols must be real: declared ``real=True`` (or anything implying it: ``positive=True``,
    ``integer=True``, ...) or *plain* (``Symbol("x")``, no assumptions: taken as real, as every
    kdtheory parameter is).  Refused with ``TypeError``: a non-expression (a relation, a matrix,
    a boolean), a symbol declared otherwise (``complex=True``, ``imaginary=True``, ``real=False``,
    non-commutative) and an expression with an imaginary part (``I``); with ``ValueError``:
    ``nan``, ``oo``, ``zoo`` inside it, and an expression that sympy *proves* to lie outside the
    mathematical domain of the parameter (``domain.math``, else ``domain``: e.g.
    ``-Symbol("x", positive=True)`` for a positive parameter, ``1 + Symbol("x", positive=True)``
    for ``alpha in [0, 1]``).  What sympy cannot decide is accepted: the result is then valid for
    the values of the symbols that lie in the domain."""
    if not isinstance(value, sp.Expr) or isinstance(value, sp.MatrixBase):
        raise _type_error(label, value, "a real number or a real sympy expression")
    for sym in sorted(value.free_symbols, key=str):
        if not (sym.is_real or _plain(sym)):
            raise TypeError(
                f"{label}: the symbol {sym} is not real (assumptions {sym.assumptions0}); "
                f"declare it real (sympy.Symbol({str(sym)!r}, real=True) or positive=True) "
                "or make it without assumptions (taken as real)"
            )
    if value.has(sp.I) or value.is_extended_real is False:
        raise TypeError(f"{label} must be real, got the complex expression {short_repr(value)}")
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{label} must be finite, got {short_repr(value)}")
    dom = domain.math if domain.math is not None else domain
    outside = dom.integer and value.is_integer is False
    if math.isfinite(dom.low):
        below = value - sp.Float(dom.low) if dom.low else value
        outside |= bool(below.is_negative if dom.low_closed else below.is_nonpositive)
    if math.isfinite(dom.high):
        above = value - sp.Float(dom.high) if dom.high else value
        outside |= bool(above.is_positive if dom.high_closed else above.is_nonnegative)
    if outside:
        where = (
            f"be an integer in {dom.describe(kind=False)}"
            if dom.integer
            else f"lie in {dom.describe()}"
        )
        raise ValueError(
            f"{label} must {where}, got {short_repr(value)}, which is not for any value of its "
            "symbols"
        )
    return value


def check_real(label: str, value, domain: Domain):
    """One real parameter, numeric or symbolic: a float by :func:`check_scalar` for a number
    (sympy numbers included), the expression by :func:`check_symbolic` for a sympy expression
    with free symbols (:func:`is_symbolic`)."""
    if is_symbolic(value):
        return check_symbolic(label, value, domain)
    return check_scalar(label, value, domain)


def numeric_only(what: str, symbolic: str) -> TypeError:
    """The error of a model method that needs numbers, called with a symbolic kernel or model
    (``what``: which one, e.g. ``"the model MemoriserModel(M=M, n=10)"``; ``symbolic``: the
    model's methods that do take symbols)."""
    return TypeError(
        f"this quantity is computed numerically only, but {what} has symbolic parameters "
        f"(symbolic: {symbolic})"
    )


def check_int(label: str, value, domain: Domain) -> int:
    """A scalar integer in ``domain`` (``2.0`` and ``np.int64(2)`` accepted, ``2.5`` refused), as an
    ``int``.  Python ints are taken exactly (no rounding through a double)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        v = int(value)
        for dom in (domain.math, domain) if domain.math is not None else (domain,):
            lo_ok = v > dom.low or (dom.low_closed and v == dom.low)
            hi_ok = v < dom.high or (dom.high_closed and v == dom.high)
            if not (lo_ok and hi_ok):
                raise ValueError(
                    f"{label} must be an integer in {dom.describe(kind=False)}, "
                    f"got {short_repr(value)}"
                )
        return v
    return int(check_scalar(label, value, domain))


def check_size(label: str, size, minimum: int = 1, maximum: int = 10**8) -> int:
    """A Monte Carlo sample size: an integer in ``[minimum, maximum]`` (``minimum = 2`` where a
    standard error with ``ddof = 1`` is returned; ``maximum`` bounds memory)."""
    dom = Domain(float(minimum), float(maximum), True, True, integer=True)
    return check_int(label, size, dom)


def check_rng(label: str, rng) -> np.random.Generator:
    """``rng`` must be a ``numpy.random.Generator`` (``TypeError`` naming ``label`` otherwise)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{label} must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _p(name, latex, domain, meaning, **extra) -> Param:
    return Param(name, latex, domain, meaning, extra)


#: Every parameter of the theory, by name (THEORY §1-§7).
PARAMS: dict[str, Param] = {
    p.name: p
    for p in [
        _p("n", "n", POSITIVE_INTEGER, "sample size"),
        _p("d", "d", POSITIVE_INTEGER, "dimension"),
        _p(
            "K_n",
            "K_n",
            NONNEGATIVE,
            r"distillation divergence $\mathbb{E}_D\,\mathrm{KL}(P_{W_S|D}\,\|\,P_{W_T|D})$",
        ),
        _p(
            "KL",
            r"\mathrm{KL}",
            NONNEGATIVE,
            r"a Kullback-Leibler divergence $\mathrm{KL}(Q\,\|\,P)$",
        ),
        _p(
            "KL_D",
            r"\mathrm{KL}_D",
            NONNEGATIVE,
            r"per-dataset divergence $\mathrm{KL}(P_{W_S|D}\,\|\,P_{W_T|D})$",
        ),
        _p("sigma", r"\sigma", POSITIVE, r"sub-Gaussian parameter (proxy $\sigma^2$)"),
        _p("sigma_D", r"\sigma_D", POSITIVE, "conditional sub-Gaussian parameter given $D$"),
        _p(
            "sigma_bar",
            r"\bar{\sigma}",
            POSITIVE_OR_INF,
            r"uniform bound $\operatorname{ess\,sup}_D \sigma_D$",
        ),
        _p("Esigma2", r"\mathbb{E}_D\sigma_D^2", POSITIVE, "mean conditional proxy"),
        _p("gen_S", r"\mathrm{gen}_S", REAL, "student's expected generalization gap"),
        _p("gen_T", r"\mathrm{gen}_T", REAL, "teacher's expected generalization gap"),
        _p("dgen", r"\Delta\mathrm{gen}", REAL, r"$\mathrm{gen}_S - \mathrm{gen}_T$"),
        _p("lam", r"\lambda", POSITIVE, "free parameter of the Donsker-Varadhan step"),
        _p("theta", r"\theta", POSITIVE, "CGF argument"),
        _p("mean", r"\mathbb{E}X", REAL, "mean of a random variable $X$"),
        _p("t", "t", REAL, "real argument of a cumulant generating function"),
        _p("cgf", r"\log\mathbb{E}\,e^{tX}", REAL, "cumulant generating function of $X$ at $t$"),
        _p("E_Q_f", r"\mathbb{E}_Q f", REAL, "mean of $f$ under $Q$"),
        _p("logE_P_expf", r"\log\mathbb{E}_P e^{f}", REAL, "log-moment of $f$ under $P$"),
        _p("l_min", r"\ell_{\min}", REAL, "lower end of the loss range"),
        _p("l_max", r"\ell_{\max}", REAL, "upper end of the loss range"),
        _p("eta", r"\eta", POSITIVE, "central-condition constant"),
        _p("c", "c", UNIT_HALF_OPEN, "central-condition slack"),
        _p("V_g", "V_g", POSITIVE, "sub-gamma variance factor"),
        _p("b_g", "b_g", NONNEGATIVE, "sub-gamma scale factor"),
        _p("rho", r"\rho", NONNEGATIVE, "radius (ball or smoothing)"),
        _p("rho_0", r"\rho_0", NONNEGATIVE, "tightness radius"),
        _p("beta", r"\beta", NONNEGATIVE, "sharpness: Hessian bound of the gap on the ball"),
        _p("G1", "G_1", NONNEGATIVE, "gradient bound of the gap at the teacher centre"),
        _p("s", "s", POSITIVE, "data standard deviation per coordinate"),
        _p(
            "Lambda_T",
            r"\Lambda(\theta)",
            REAL,
            r"teacher CGF $\log\mathbb{E}\,e^{\theta(g-\mathrm{gen}_T)}\ge 0$",
        ),
        _p(
            "Lambda_T_neg",
            r"\Lambda(-\theta)",
            REAL,
            r"teacher CGF at $-\theta$ ($\ge 0$ by Jensen)",
        ),
        _p(
            "K_rev",
            r"K_n^{\leftarrow}",
            NONNEGATIVE,
            r"reversed divergence $\mathbb{E}_D\,\mathrm{KL}(P_{W_T|D}\,\|\,P_{W_S|D})$",
        ),
        _p(
            "Esigma2_S",
            r"\mathbb{E}_D\sigma_{D,S}^2",
            POSITIVE,
            "mean conditional proxy under the student",
        ),
        _p("var_f", r"\mathrm{Var}_P f", POSITIVE, "variance of $f$ under $P$"),
        _p(
            "Sh_rho",
            r"\mathrm{Sh}_\rho",
            REAL,
            r"teacher's expected-sharpness gap $\mathrm{gen}(T^\rho)-\mathrm{gen}(T)$",
        ),
        _p(
            "Esigma2_rho",
            r"\mathbb{E}_D\sigma_{\rho,D}^2",
            POSITIVE,
            r"mean conditional proxy under the smoothed teacher $T^\rho$",
        ),
        _p(
            "K_n_rho",
            r"K_n(\rho)",
            NONNEGATIVE,
            r"divergence $\mathbb{E}_D\,\mathrm{KL}(P_{W_S|D}\,\|\,T^\rho_D)$ to the smoothed teacher",
        ),
    ]
}


#: the names of the toolkit's own parameters (:func:`define` never replaces one of these)
_BUILTIN = frozenset(PARAMS)


def define(name: str, latex: str, domain, meaning: str) -> sp.Symbol:
    """Declare a quantity of your own and return its sympy symbol.

    ``name`` is a Python identifier (the keyword you pass to :meth:`Theorem.evaluate` and the
    coordinate a model family's search may vary); ``latex`` its math-mode LaTeX; ``domain`` a
    :class:`Domain` or ``(low, high)`` (open ends; ``math.inf`` allowed); ``meaning`` the text
    of its LaTeX legend entry.  Values are validated against the domain like the toolkit's own
    parameters.  Defining the same name again with the same LaTeX and domain returns the same
    symbol (a re-run notebook cell); anything else that clashes is a ``ValueError``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got {short_repr(name)}")
    for label, text in (("latex", latex), ("meaning", meaning)):
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"{label} must be a non-empty string, got {short_repr(text)}")
    if isinstance(domain, (tuple, list)) and len(domain) == 2:
        low, high = (real_scalar("domain", v, "a number") for v in domain)
        if not low < high:
            raise ValueError(f"domain needs low < high, got ({low}, {high})")
        domain = Domain(low, high)
    if not isinstance(domain, Domain):
        raise TypeError(f"domain must be a Domain or (low, high), got {short_repr(domain)}")
    new = Param(name, latex, domain, meaning)
    old = PARAMS.get(name)
    if old is not None:
        if name in _BUILTIN:
            raise ValueError(f"{name!r} is one of the toolkit's parameters: {old.meaning}")
        if (old.latex, old.domain) != (latex, domain):
            raise ValueError(
                f"{name!r} is already defined as ${old.latex}$ on {old.domain.describe()}"
            )
        return old.symbol
    PARAMS[name] = new
    return new.symbol


def param(name: str) -> Param:
    """The :class:`Param` called ``name``; ``KeyError`` lists the known names."""
    try:
        return PARAMS[name]
    except KeyError:
        raise KeyError(f"unknown parameter {name!r}; known: {sorted(PARAMS)}") from None


def symbol(name: str) -> sp.Symbol:
    """The sympy symbol of parameter ``name`` (same object on every call)."""
    return param(name).symbol


#: LaTeX of auxiliary symbols (not theory parameters) that appear inside predicates.
AUX_LATEX: dict[sp.Symbol, str] = {}


def aux_symbol(name: str, latex: str, **assumptions) -> sp.Symbol:
    """A symbol used only inside statements (never evaluated), printed as ``latex``."""
    s = sp.Symbol(name, **assumptions)
    AUX_LATEX[s] = latex
    return s


def latex_names() -> dict[sp.Symbol, str]:
    """Mapping symbol -> LaTeX for ``sympy.latex(..., symbol_names=...)``."""
    return {**{p.symbol: p.latex for p in PARAMS.values()}, **AUX_LATEX}


class _Printer(LatexPrinter):
    """sympy's LaTeX printer with one rule of paper style: a product of square roots (and
    reciprocal square roots) of nonnegative factors is one root, ``sqrt(2) sqrt(E sigma^2) sqrt(K_n)`` ->
    ``\\sqrt{2 \\mathbb{E}_D\\sigma_D^2 K_n}`` (sympy splits ``sqrt(2 E K_n)`` into three roots
    because its symbols are positive; ``sqrt(a) sqrt(b) = sqrt(a b)`` for ``a, b >= 0``)."""

    def _print_Mul(self, expr):
        roots = [f for f in expr.args if _is_root(f)]
        if len(roots) < 2:
            return super()._print_Mul(expr)
        rest = sp.Mul(*[f for f in expr.args if not _is_root(f)])
        root = rf"\sqrt{{{self._print(sp.Mul(*[f.base ** (2 * f.exp) for f in roots]))}}}"
        if rest == 1:
            return root
        if rest == -1:
            return "- " + root
        if rest.could_extract_minus_sign():
            return "- " + self.parenthesize(-rest, PRECEDENCE["Mul"], strict=True) + " " + root
        return self.parenthesize(rest, PRECEDENCE["Mul"], strict=True) + " " + root

    def doprint(self, expr):
        return upright_spacing(super().doprint(expr))


_UPRIGHT_FACTOR = re.compile(r"(?<=[A-Za-z}]) (?=\\math(?:rm|bb)\{)")


def upright_spacing(latex: str) -> str:
    """A thin space ``\\,`` before an upright multi-letter factor (``c \\mathrm{gen}_T`` would
    read as the word "cgen"): ``c\\,\\mathrm{gen}_T``, ``\\mathrm{KL}\\,\\mathrm{Var}_P f``; not after a
    number (``2 \\mathrm{KL}`` reads as it should) or a command (``\\leq \\mathbb{E}``)."""

    def space(m: re.Match) -> str:
        after_command = re.search(r"\\[A-Za-z]+$", latex[: m.start()]) is not None
        return " " if after_command else r"\,"  # ``\leq \mathbb{E}`` is spaced already

    return _UPRIGHT_FACTOR.sub(space, latex)


def _is_root(f) -> bool:
    return f.is_Pow and abs(f.exp) == sp.S.Half and bool(f.base.is_nonnegative)


def to_latex(expr, symbol_names: dict | None = None) -> str:
    """LaTeX of a sympy expression with the project's symbol names (THEORY notation), or with
    ``symbol_names`` when given; products of square roots print as one root (:class:`_Printer`)."""
    names = latex_names() if symbol_names is None else symbol_names
    return _Printer({"symbol_names": names}).doprint(expr)
