"""One compile step: a sympy expression becomes a numpy, an mpmath and an arb function
(STYLE.md, "Model formulas as data"; issue 11).

:func:`compile_expr` turns ``expr`` (in the symbols ``args``) into a :class:`Compiled` with

* ``numpy`` -- ``sympy.lambdify(..., "numpy", cse=True)``: vectorised over broadcastable float
  arrays; the functions of :data:`OVERRIDES` are evaluated by their registered numerically
  stable implementations (``phi`` by :func:`kdtheory.divergences.phi`, ``log1p`` by
  ``numpy.log1p``, ``expm1`` by ``numpy.expm1``, the Bernoulli KL ``binary_kl`` as a sum of two
  nonnegative terms, the Bernoulli and uniform log-MGFs of Lemma SG by ``log1p``/``expm1``/
  ``logaddexp`` and a series, ``log1pmx`` and ``tightness_ratio`` by
  :mod:`kdtheory.formulas.stable`, the ball kernel's ``ball_average`` in log space by
  :mod:`kdtheory.formulas.ncx2`);
* ``mpmath`` -- ``lambdify`` to mpmath of the expression with every override replaced by its
  *definition* (``phi(x) -> x - 1 - log x``; an ``Integral`` in a definition becomes
  ``mpmath.quad``): the reference the stable forms are tested against at 50 digits
  (``tests/test_formulas.py``);
* ``arb`` -- a python-flint ball function (printed by :class:`ArbPrinter`: integer powers by
  repeated multiplication, rationals as exact quotients, as in :func:`kdtheory.certified.to_arb`),
  so that the ball encloses the exact value of the expression at the input balls.

Calling a :class:`Compiled` dispatches on its arguments: sympy objects (or ``dtype=object``
arrays of them) are substituted into the expression (:meth:`Compiled.symbolic`: symbolic in,
symbolic out, issue 11 item 3); other ``dtype=object`` arrays or arb scalars (the audit's
ball-arithmetic path, :mod:`kdtheory.audit.certify`) go elementwise through the arb function;
everything else through the numpy one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.printing.lambdarepr import LambdaPrinter

__all__ = [
    "phi",
    "log1p",
    "expm1",
    "binary_kl",
    "bernoulli_log_mgf",
    "uniform_log_mgf",
    "log1pmx",
    "tightness_ratio",
    "ball_average",
    "Override",
    "OVERRIDES",
    "register_override",
    "definition",
    "Compiled",
    "compile_expr",
    "ArbPrinter",
]


class _StableFunction(sp.Function):
    """A function with a registered stable numeric form (:class:`Override`).  Its definition is
    its own rewrite as :attr:`_definition` (``_eval_rewrite_as_log`` etc.), and ``evalf`` goes
    through that definition (sympy would otherwise look up an unrelated mpmath function of the
    same name, e.g. ``mpmath.phi``, the golden ratio).  :attr:`_zero_at`: the argument of a
    one-argument function at which it is exactly 0, returned without evaluation."""

    _definition = sp.log
    _zero_at = None

    @classmethod
    def eval(cls, *args):
        if cls._zero_at is not None and len(args) == 1 and args[0] is cls._zero_at:
            return sp.S.Zero
        return None

    def _eval_evalf(self, prec):
        return self.rewrite(self._definition)._eval_evalf(prec)


class phi(_StableFunction):  # noqa: N801 - the name of THEORY §1
    """``phi(x) = x - 1 - log x`` (THEORY §1): ``>= 0`` for ``x > 0``, zero iff ``x = 1``.  A sympy
    function (not its expansion) so that the compiled code can use the cancellation-free form."""

    nargs = 1
    _zero_at = sp.S.One

    def fdiff(self, argindex=1):
        return 1 - 1 / self.args[0]

    def _eval_rewrite_as_log(self, x, **kwargs):
        return x - 1 - sp.log(x)

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_positive else None

    def _latex(self, printer, exp=None):
        tex = rf"\phi\left({printer._print(self.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


def _rewritten(function, how):
    """The definition of a stable function class: its own ``rewrite(how)`` (the class writes
    its definition once, in its ``_eval_rewrite_as_...`` method)."""
    return lambda *xs: function(*xs).rewrite(how)


@dataclass(frozen=True)
class Override:
    """A registered numerically stable evaluation of the sympy function ``function``:
    ``numpy`` implements it on float arrays, ``arb`` on balls, and ``definition`` gives the
    expression it must equal (the mpmath reference is compiled from the definition)."""

    function: type
    numpy: Callable
    arb: Callable
    definition: Callable[..., sp.Expr]
    why: str


#: Stable forms by sympy function name; each is tested against its definition at 50 digits.
OVERRIDES: dict[str, Override] = {}


def register_override(override: Override) -> None:
    """Add ``override`` to :data:`OVERRIDES`; a second registration of a name is refused."""
    name = override.function.__name__
    if name in OVERRIDES:
        raise ValueError(f"a stable form for {name!r} is already registered")
    OVERRIDES[name] = override


def _phi_numpy(x):
    from ..divergences import phi as stable_phi

    return stable_phi(x)


register_override(
    Override(
        phi,
        numpy=_phi_numpy,
        arb=lambda x: x - 1 - x.log(),
        definition=_rewritten(phi, sp.log),
        why="x - 1 - log x cancels for x near 1: kdtheory.divergences.phi (series / log1p)",
    )
)
register_override(
    Override(
        log1p,
        numpy=np.log1p,
        arb=lambda x: x.log1p(),
        definition=lambda x: sp.log(1 + x),
        why="log(1 + x) loses the digits of small x",
    )
)

register_override(
    Override(
        expm1,
        numpy=np.expm1,
        arb=lambda x: x.expm1(),
        definition=lambda x: sp.exp(x) - 1,
        why="exp(x) - 1 loses the digits of small x",
    )
)


class binary_kl(_StableFunction):  # noqa: N801 - the kl of THEORY §8 N2
    """``kl(p || q) = p log(p/q) + (1 - p) log((1 - p)/(1 - q))``, the KL divergence between
    Bernoulli laws (THEORY §8 N2); a sympy function so that the compiled code can use the
    cancellation-free form with the ``0 log 0 = 0`` convention."""

    nargs = 2

    def fdiff(self, argindex=1):
        p, q = self.args
        if argindex == 1:
            return sp.log(p / q) - sp.log((1 - p) / (1 - q))
        return (1 - p) / (1 - q) - p / q

    def _eval_rewrite_as_log(self, p, q, **kwargs):
        return p * sp.log(p / q) + (1 - p) * sp.log((1 - p) / (1 - q))

    def _latex(self, printer, exp=None):
        p, q = (printer._print(a) for a in self.args)
        tex = rf"\operatorname{{kl}}\left({p} \,\middle\|\, {q}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


def _kl_term(x, y, diff):
    """``e(x, y) = x log(x/y) - (x - y) >= 0`` with ``diff = x - y`` given exactly: for
    ``|diff| < y/2`` as ``y psi(1 + u)``, ``u = diff/y``, ``psi(1 + u) = u log1p(u) - phi(1 + u)``
    (:func:`kdtheory.divergences._phi1p`; where the direct form cancels to ``y u^2/2`` this loses
    one bit at most); elsewhere directly, ``log(x/y)`` from the ratio (or from ``log x - log y``
    where the ratio overflows or underflows); ``y`` at ``x = 0`` (``0 log 0 = 0``), ``inf`` at
    ``y = 0 < x``."""
    from ..divergences import _phi1p

    x, y, diff = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, y, diff)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        small = np.abs(diff) < y / 2
        u = np.where(small, diff / np.where(small, y, 1.0), 0.0)
        near = y * (u * np.log1p(u) - _phi1p(u))
        ratio = x / y
        ok = np.isfinite(ratio) & (ratio > 1e-300)
        log_ratio = np.where(ok, np.log(np.where(ok, ratio, 1.0)), np.log(x) - np.log(y))
        far = np.where(x > 0, x * log_ratio, 0.0) - diff
    out = np.where(small, near, far)
    return np.where(y > 0, out, np.where(x > 0, np.inf, 0.0))


def _binary_kl_numpy(p, q):
    """``kl(p || q) = e(p, q) + e(1 - p, 1 - q)`` with ``e(x, y) = x log(x/y) - (x - y) >= 0``
    (:func:`_kl_term`; the ``-(x - y)`` parts sum to 0): two nonnegative terms, each from the
    exact difference ``p - q`` (never from the rounded ``1 - p``, ``1 - q``), so no cancellation
    between or within them; ``0 log 0 = 0``; ``inf`` where ``q in {0, 1}`` puts zero mass where
    ``p`` does not."""
    p, q = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(q, dtype=float))
    return _kl_term(p, q, p - q) + _kl_term(1 - p, 1 - q, q - p)


def _binary_kl_arb(p, q):
    def term(x, y):  # x log(x/y), 0 at x = 0 exactly
        return x * 0 if x == 0 else x * (x / y).log()

    return term(p, q) + term(1 - p, 1 - q)


register_override(
    Override(
        binary_kl,
        numpy=_binary_kl_numpy,
        arb=_binary_kl_arb,
        definition=_rewritten(binary_kl, sp.log),
        why="rel_entr(p, q) + rel_entr(1 - p, 1 - q) cancels to ~ (p - q)^2 near p = q; 0 log 0 = 0",
    )
)


class bernoulli_log_mgf(_StableFunction):  # noqa: N801 - Lemma SG's Bernoulli CGF (THEORY §2)
    """``log(1 - p + p e^u) = log E e^{u B}`` for ``B ~ Bernoulli(p)`` (THEORY §2, Lemma SG); a
    sympy function so that the compiled code can use the cancellation-free ``log1p``/``expm1``
    and ``logaddexp`` forms."""

    nargs = 2

    def fdiff(self, argindex=1):
        u, p = self.args
        if argindex == 1:
            return p * sp.exp(u) / (1 - p + p * sp.exp(u))
        return (sp.exp(u) - 1) / (1 - p + p * sp.exp(u))

    def _eval_rewrite_as_log(self, u, p, **kwargs):
        return sp.log(1 - p + p * sp.exp(u))


def _bernoulli_log_mgf_numpy(u, p):
    """``log(1 - p + p e^u)``: ``log1p(p expm1(u))`` for ``|u| < 1`` (exact 0 at ``u = 0``;
    ``1 + p expm1(u) >= 1/e`` there), else ``logaddexp(log1p(-p), log p + u)`` (no cancellation
    in either); ``0`` at ``p = 0`` and ``u`` at ``p = 1``."""
    u, p = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(p, dtype=float))
    interior = (p > 0) & (p < 1)
    ps = np.where(interior, p, 0.5)
    near = np.abs(u) < 1
    mixed = np.where(near, np.log1p(ps * np.expm1(u)), np.logaddexp(np.log1p(-ps), np.log(ps) + u))
    return np.where(interior, mixed, np.where(p == 1, u, 0.0))


register_override(
    Override(
        bernoulli_log_mgf,
        numpy=_bernoulli_log_mgf_numpy,
        arb=lambda u, p: (1 + p * u.expm1()).log(),
        definition=_rewritten(bernoulli_log_mgf, sp.log),
        why="1 - p + p e^u cancels for small u (log1p/expm1) and overflows for large u (logaddexp)",
    )
)


class uniform_log_mgf(_StableFunction):  # noqa: N801 - Lemma SG's uniform CGF (THEORY §2)
    """``log((e^u - 1)/u) = log E e^{u U}`` for ``U ~ Unif[0, 1]`` (``0`` at ``u = 0``; THEORY §2,
    Lemma SG); a sympy function so that the compiled code can use the series near 0 and the
    ``expm1`` form elsewhere."""

    nargs = 1
    _zero_at = sp.S.Zero

    def fdiff(self, argindex=1):
        u = self.args[0]
        return sp.exp(u) / (sp.exp(u) - 1) - 1 / u

    def _eval_rewrite_as_log(self, u, **kwargs):
        return sp.log((sp.exp(u) - 1) / u)


#: below this ``|u|`` the uniform log-MGF's ``log((1 - e^{-|u|})/|u|)`` is taken from its series
UNIFORM_SERIES_U = 1e-2


def _uniform_log_mgf_numpy(u):
    """``log((e^u - 1)/u) = max(u, 0) + T(|u|)`` with ``T(v) = log((1 - e^{-v})/v) =
    -v/2 + log(sinh(v/2)/(v/2))``: by ``expm1`` for ``v >= 1e-2``, else by the series
    ``-x + x^2/6 - x^4/180 + x^6/2835`` in ``x = v/2`` (truncation < 1e-20 relative); 0 at 0."""
    u = np.asarray(u, dtype=float)
    v = np.abs(u)
    small = v < UNIFORM_SERIES_U
    safe = np.where(small, 1.0, v)
    x2 = (v / 2) ** 2
    series = -v / 2 + x2 * (1 / 6 + x2 * (-1 / 180 + x2 / 2835))
    tail = np.where(small, series, np.log(-np.expm1(-safe) / safe))
    return np.where(u > 0, u + tail, np.where(u < 0, tail, 0.0))


def _uniform_log_mgf_arb(u):
    return u * 0 if u == 0 else (u.expm1() / u).log()


register_override(
    Override(
        uniform_log_mgf,
        numpy=_uniform_log_mgf_numpy,
        arb=_uniform_log_mgf_arb,
        definition=_rewritten(uniform_log_mgf, sp.log),
        why="(e^u - 1)/u is 0/0 at u = 0, cancels near 0 and overflows for large u",
    )
)


class log1pmx(_StableFunction):  # noqa: N801 - sympy function naming
    """``log1pmx(x) = log(1 + x) - x`` for ``x > -1`` (THEORY §6.5: the centred joint CGF of
    Model A is a sum of such terms).  A sympy function so that the compiled code can use the
    cancellation-free series near 0 (:func:`kdtheory.formulas.stable.log1pmx_numpy`)."""

    nargs = 1
    _zero_at = sp.S.Zero

    def fdiff(self, argindex=1):
        x = self.args[0]
        return -x / (1 + x)  # = 1/(1 + x) - 1, without cancellation

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + x) - x

    def _latex(self, printer, exp=None):
        x = printer._print(self.args[0])
        tex = rf"\left(\log\left(1 + {x}\right) - {x}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


class tightness_ratio(_StableFunction):  # noqa: N801 - sympy function naming
    """``tightness_ratio(t) = exp(1 + W_0((t log t - t)/e)) - t`` for ``t in (0, 1)``: the
    smoothing tightness radius ``(rho_0^sm)^2 / tau_S^2`` at ``t = tau_T^2/tau_S^2`` (THEORY §6.6;
    ``W_0`` the principal Lambert W).  A sympy function so that the compiled code can use the
    series ``2 delta_t + delta_t^2/3 + delta_t^3/9`` near the branch point ``t -> 1``
    (:func:`kdtheory.formulas.stable.tightness_ratio_numpy`)."""

    nargs = 1
    _definition = sp.LambertW

    def fdiff(self, argindex=1):
        t = sp.Dummy("t", positive=True)
        deriv = sp.diff(self._eval_rewrite_as_LambertW(t), t)
        return deriv.subs(t, self.args[0])

    def _eval_rewrite_as_LambertW(self, t, **kwargs):
        return sp.exp(1 + sp.LambertW((t * sp.log(t) - t) / sp.E)) - t

    def _latex(self, printer, exp=None):
        tex = rf"r_0\left({printer._print(self.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


def _implementation(name: str, module: str = "stable"):
    """``kdtheory.formulas.<module>.<name>``, imported on first call (scipy stays unloaded until a
    compiled function runs)."""

    def call(*xs):
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(*xs)

    return call


register_override(
    Override(
        log1pmx,
        numpy=_implementation("log1pmx_numpy"),
        arb=lambda x: x.log1p() - x,
        definition=_rewritten(log1pmx, sp.log),
        why="log(1 + x) - x cancels for small x: a series in u = x/(2 + x) for |x| <= 1/4",
    )
)
register_override(
    Override(
        tightness_ratio,
        numpy=_implementation("tightness_ratio_numpy"),
        arb=_implementation("tightness_ratio_arb"),
        definition=_rewritten(tightness_ratio, sp.LambertW),
        why="the Lambert-W argument approaches the branch point -1/e as t -> 1 (NaN at "
        "1 - t = 1e-8): the series 2 dt + dt^2/3 + dt^3/9 for dt = 1 - t < 1e-4",
    )
)


class ball_average(sp.Function):  # noqa: N801 - sympy function naming
    """``ball_average(ck2, R, omega, x, d) = Psi``: the bump loss's Gaussian factor
    ``(omega^2/q)^(d/2) exp(-||c + U||^2/(2q))`` (``q = omega^2 + x``, ``||c||^2 = ck2``) averaged
    over ``U ~ Unif(B(0, R))`` in ``R^d`` (THEORY §5, §6 A-bump; the ball kernel's average).  By
    the Gaussian integral over the ball it is
    ``(2 pi omega^2)^(d/2) / vol(B(0, R)) P(chi'^2_d(ck2/q) <= R^2/q)``, the non-central
    chi-square probability written as the integral of its density (the definition, with
    ``0F1``).  A sympy function so that the compiled code can use the log-space evaluation of
    :mod:`kdtheory.formulas.ncx2` (the prefactor ``~R^-d`` overflows where ``P`` underflows)."""

    nargs = 5

    def fdiff(self, argindex=1):
        xs = [sp.Dummy() for _ in self.args]
        deriv = sp.diff(self._eval_rewrite_as_Integral(*xs), xs[argindex - 1])
        return deriv.subs(dict(zip(xs, self.args, strict=True)))

    def _eval_rewrite_as_Integral(self, ck2, radius, omega, x, d, **kwargs):
        t = sp.Dummy("t", positive=True)
        q = omega**2 + x
        nc = ck2 / q
        # the density of chi'^2_d(nc) at t is exp(-nc/2) times this (its Bessel factor as 0F1);
        # exp(-nc/2) stays outside the integral, so that its integrand is not tiny (mpmath's
        # quadrature, the 50-digit reference, stops at an absolute error)
        density = (
            sp.exp(-t / 2) * t ** (d / 2 - 1) / (2 ** (d / 2) * sp.gamma(d / 2))
            * sp.hyper([], [d / 2], nc * t / 4)
        )  # fmt: skip
        volume = sp.pi ** (d / 2) * radius**d / sp.gamma(d / 2 + 1)
        prob = sp.exp(-nc / 2) * sp.Integral(density, (t, 0, radius**2 / q))
        return (2 * sp.pi * omega**2) ** (d / 2) / volume * prob

    def _latex(self, printer, exp=None):
        xs = ", ".join(printer._print(a) for a in self.args)
        tex = rf"\Psi_{{\mathrm{{ball}}}}\left({xs}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


register_override(
    Override(
        ball_average,
        numpy=_implementation("ball_average_numpy", "ncx2"),
        arb=_implementation("ball_average_arb", "ncx2"),
        definition=_rewritten(ball_average, sp.Integral),
        why="the prefactor ~R^-d overflows where the chi-square probability underflows: log "
        "space, a small-ball expansion and an extended-precision far tail (formulas/ncx2.py)",
    )
)


def definition(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every registered override replaced by its definition (plain sympy)."""
    for ov in OVERRIDES.values():
        expr = expr.replace(ov.function, ov.definition)
    return expr


# -- arb ------------------------------------------------------------------------------------------
class ArbPrinter(LambdaPrinter):
    """Prints an expression as python-flint arb code: ``x**k`` (integer k) by repeated
    multiplication (arb's ``**`` of a ball around 0 is NaN), square roots by ``sqrt``/``rsqrt``,
    rationals and floats as exact arb quotients."""

    def _print_Pow(self, expr, rational=False):
        base, ex = expr.args
        b = self._print(base)
        if ex == sp.S.Half:
            return f"_sqrt({b})"
        if ex == -sp.S.Half:
            return f"_rsqrt({b})"
        if ex.is_Integer:
            return f"_ipow({b}, {int(ex)})"
        return f"_pow({b}, {self._print(ex)})"

    def _print_Rational(self, expr):
        return f"_rat({expr.p}, {expr.q})"

    def _print_Function(self, expr):
        return f"{expr.func.__name__}({', '.join(self._print(a) for a in expr.args)})"

    _print_log = _print_exp = _print_Function
    # sympy's codegen functions print as ``math.<name>`` in a LambdaPrinter; here they are the
    # registered overrides of the same name, in the arb namespace
    _print_log1p = _print_expm1 = _print_Function

    def _print_Max(self, expr):
        return f"_max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"_min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Half(self, expr):
        return "_rat(1, 2)"

    def _print_Integer(self, expr):
        return f"_int({expr.p})"

    def _print_Float(self, expr):
        q = sp.Rational(expr)
        return f"_rat({q.p}, {q.q})"

    def _print_Pi(self, expr):
        return "_pi()"

    def _print_Exp1(self, expr):
        return "_e()"


def _arb_namespace() -> dict:
    from ..certified import _int_pow, require_flint

    arb = require_flint().arb

    def conv(x):
        return x if isinstance(x, arb) else arb(x)

    ns = {
        "_sqrt": lambda x: conv(x).sqrt(),
        "_rsqrt": lambda x: conv(x).rsqrt(),
        "_ipow": lambda x, k: _int_pow(conv(x), k),
        "_pow": lambda x, y: conv(x) ** conv(y),
        "_rat": lambda p, q: arb(p) / arb(q),
        "_int": arb,
        "_pi": arb.pi,
        "_e": lambda: arb(1).exp(),
        "log": lambda x: conv(x).log(),
        "exp": lambda x: conv(x).exp(),
        "Abs": abs,
        "abs": abs,
        "_max": lambda *xs: functools.reduce(lambda a, b: conv(a).max(conv(b)), xs),
        "_min": lambda *xs: functools.reduce(lambda a, b: conv(a).min(conv(b)), xs),
    }
    for name, ov in OVERRIDES.items():
        ns[name] = (lambda f: lambda *xs: f(*map(conv, xs)))(ov.arb)
    return ns


def _is_ball(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype == object
    return type(x).__module__.split(".")[0] == "flint"


def _is_sympy(x) -> bool:
    """A sympy object, or a ``dtype=object`` array of them (a symbolic vector): the symbolic path
    of :class:`Compiled` (a symbolic array holds sympy objects only, so its first entry says)."""
    if isinstance(x, np.ndarray):
        return x.dtype == object and x.size > 0 and isinstance(x.flat[0], sp.Basic)
    return isinstance(x, sp.Basic)


@dataclass(frozen=True, eq=False)
class Compiled:
    """``expr`` compiled three ways (see the module doc); call it like ``numpy``/``arb``."""

    expr: sp.Expr
    args: tuple
    numpy: Callable
    mpmath: Callable
    _arb_raw: Callable

    def arb(self, *xs):
        """The arb function: every argument converted to an (exact) arb ball first."""
        from flint import arb

        return self._arb_raw(*(x if isinstance(x, arb) else arb(x) for x in xs))

    def symbolic(self, *xs) -> sp.Expr:
        """``expr`` with its arguments replaced by ``xs`` (sympy expressions or numbers):
        symbolic in, symbolic out, by substitution into the one expression (nothing retyped)."""
        return self.expr.xreplace(dict(zip(self.args, map(sp.sympify, xs), strict=True)))

    def __call__(self, *xs):
        if any(_is_sympy(x) for x in xs):
            if any(isinstance(x, np.ndarray) for x in xs):
                return np.frompyfunc(self.symbolic, len(xs), 1)(*xs)
            return self.symbolic(*xs)
        if any(_is_ball(x) for x in xs):
            return np.frompyfunc(self.arb, len(xs), 1)(*xs)
        return self.numpy(*xs)


def compile_expr(expr: sp.Expr, args: Sequence[sp.Symbol], cse: bool = True) -> Compiled:
    """Compile ``expr`` in the symbols ``args`` (the functions' positional arguments, in this
    order) to numpy, mpmath and arb (see the module doc).  Free symbols of ``expr`` not in
    ``args`` raise ``ValueError``.  ``cse=False`` prints every subexpression as written, so that
    two formulas sharing one (e.g. ``p(theta)``) round it identically (a domain test on one then
    holds for the other)."""
    args = tuple(args)
    extra = expr.free_symbols - set(args)
    if extra:
        raise ValueError(
            f"expression has symbols not among the arguments: {sorted(map(str, extra))}"
        )
    np_mod = {name: ov.numpy for name, ov in OVERRIDES.items()}
    f_np = sp.lambdify(args, expr, modules=[np_mod, "numpy"], cse=cse)
    f_mp = sp.lambdify(args, definition(expr), modules="mpmath")
    try:
        ns = _arb_namespace()
    except ImportError:  # python-flint missing: the arb function says so when called
        from ..certified import require_flint

        def f_arb(*_):
            require_flint()

    else:
        f_arb = sp.lambdify(args, expr, modules=[ns], printer=ArbPrinter, cse=True)
    return Compiled(expr, args, f_np, f_mp, f_arb)
