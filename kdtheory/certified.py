"""Certified evaluation of a theorem's statement in arb ball arithmetic (extra ``rigorous``).

A statement ``lhs <= rhs`` (or ``>=``) is translated from its sympy expression (the single
source of truth, STYLE.md) into python-flint ``arb`` balls by a small recursive translator
(:func:`to_arb`) and evaluated at ball inputs.  Every arb operation returns a ball that
*contains* the exact real result, so the ball of the slack ``rhs - lhs`` (``lhs - rhs`` for a
lower bound) decides the case rigorously for the given inputs:

* ``certified`` -- the slack ball lies in ``[0, inf)``: the inequality holds (strictly, unless
  the slack is exactly 0) for every input in the given balls;
* ``violated`` -- the slack ball lies in ``(-inf, 0)``: the inequality fails for every input in
  the given balls;
* ``equal within the ball`` -- the ball contains 0 and is tiny (radius ``<= EQUAL_RTOL = 1e-12``
  times the largest magnitude among the sides and the inputs): the case is an equality witness
  up to the inputs' precision, consistent with the statement and not a violation;
* ``undecided`` -- the ball contains 0 but is wide (uncertain inputs), or is not finite.

These verdicts are rigorous *relative to the input balls*: they certify the case only when the
balls enclose the exact inputs (exact points, or values recomputed in ball arithmetic).  A ball
that is a recorded double with an allowance does not; :func:`kdtheory.audit.certify.certify_case`
then labels the verdict ``holds beyond the input allowance`` / ``fails beyond the input
allowance`` instead of ``certified`` / ``violated``.

The precision is raised (``prec``, ``2 prec``, ... up to ``max_prec`` bits) until the case is
decided.  Each input ball is intersected with its parameter's domain where that is a
half-line ``[0, inf)`` or ``(0, inf)`` (:data:`kdtheory.symbols.PARAMS`; e.g. ``K_n >= 0``), which
is rigorous and keeps ``sqrt`` of a ball around 0 defined.  Inputs are exact floats (taken as points), arb balls, ``(mid, rad)`` pairs, or a
callable ``prec -> dict`` that recomputes them at each precision (see
:mod:`kdtheory.audit.certify`, which recomputes Model A's values from a case's parameters).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import sympy as sp

from .symbols import PARAMS
from .theorems.base import Theorem

__all__ = [
    "CERTIFIED",
    "VIOLATED",
    "EQUAL",
    "UNDECIDED",
    "EQUAL_RTOL",
    "CertifiedCase",
    "flint_available",
    "require_flint",
    "to_arb",
    "ball",
    "certify",
]

#: a slack ball around 0 no wider than this (relative to the sides and inputs) is an equality
#: (far below the audit's tolerance RTOL = 1e-9, far above double rounding)
EQUAL_RTOL = 1e-12

CERTIFIED, VIOLATED, EQUAL, UNDECIDED = (
    "certified",
    "violated",
    "equal within the ball",
    "undecided",
)

_MISSING = (
    "certified evaluation needs python-flint (arb ball arithmetic): "
    "pip install 'kdtheory[rigorous]'  (or: pip install python-flint)"
)


def flint_available() -> bool:
    """Whether python-flint can be imported."""
    try:
        import flint  # noqa: F401
    except ImportError:
        return False
    return True


def require_flint():
    """The ``flint`` module; ``ImportError`` with install instructions if it is missing."""
    try:
        import flint
    except ImportError:
        raise ImportError(_MISSING) from None
    return flint


@dataclass(frozen=True)
class CertifiedCase:
    """The outcome of :func:`certify`: the verdict and the balls (as arb strings) it rests on."""

    verdict: str
    prec: int
    lhs: str
    rhs: str
    slack: str
    slack_mid: float
    slack_rad: float

    def to_json(self) -> dict:
        out = asdict(self)
        for k in ("slack_mid", "slack_rad"):
            x = out[k]
            out[k] = x if math.isfinite(x) else str(x)
        return out


def ball(value):
    """An arb ball from a float/int (exact point), an arb, or a ``(mid, rad)`` pair."""
    flint = require_flint()
    if isinstance(value, flint.arb):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return flint.arb(float(value[0]), float(value[1]))
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise TypeError(f"cannot make a ball from {value!r}")
    x = float(value)
    if math.isnan(x):
        raise ValueError("cannot make a ball from NaN")
    if math.isinf(x):
        return flint.arb.pos_inf() if x > 0 else flint.arb.neg_inf()
    return flint.arb(x)


def to_arb(expr: sp.Expr, values: dict):
    """Evaluate the sympy expression ``expr`` in ball arithmetic; ``values`` maps symbol names to
    arb balls.  Supported: numbers, ``pi``, ``E``, ``oo``, ``+``, ``*``, powers, ``Abs``,
    ``log``, ``exp``, ``Max``, ``Min``, ``LambertW`` (principal branch); anything else raises
    ``NotImplementedError`` naming it."""
    flint = require_flint()
    arb = flint.arb
    e = expr
    if isinstance(e, sp.Symbol):
        try:
            return values[e.name]
        except KeyError:
            raise ValueError(f"missing value for {e.name!r}") from None
    if e is sp.oo:
        return arb.pos_inf()
    if e is -sp.oo:
        return arb.neg_inf()
    if e is sp.pi:
        return arb.pi()
    if e is sp.E:
        return arb(1).exp()
    if isinstance(e, sp.Integer):
        return arb(int(e))
    if isinstance(e, (sp.Rational, sp.Float)):
        q = sp.Rational(e)  # a Float converts exactly (binary value)
        return arb(int(q.p)) / arb(int(q.q))
    args = [to_arb(a, values) for a in e.args]
    if isinstance(e, sp.Add):
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if isinstance(e, sp.Mul):
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if isinstance(e, sp.Pow):
        base, ex = e.args
        if ex == sp.Rational(1, 2):
            return args[0].sqrt()
        if ex == -sp.Rational(1, 2):
            return args[0].rsqrt()
        if isinstance(ex, sp.Integer):
            return _int_pow(args[0], int(ex))
        return args[0] ** args[1]
    if isinstance(e, sp.Abs):
        return abs(args[0])
    if isinstance(e, sp.log):
        if len(args) != 1:
            raise NotImplementedError("log with a base")
        return args[0].log()
    if isinstance(e, sp.exp):
        return args[0].exp()
    if isinstance(e, (sp.Max, sp.Min)):
        out = args[0]
        for a in args[1:]:
            out = out.max(a) if isinstance(e, sp.Max) else out.min(a)
        return out
    if isinstance(e, sp.LambertW) and len(args) == 1:
        return args[0].lambertw()
    raise NotImplementedError(
        f"no ball-arithmetic translation for {type(e).__name__} (in {sp.sstr(expr)})"
    )


def _int_pow(x, k: int):
    """``x**k`` by repeated squaring (arb's ``**`` of a ball around 0 is NaN); an even power is
    intersected with ``[0, inf)`` (rigorous: the exact value is nonnegative)."""
    if k < 0:
        return 1 / _int_pow(x, -k)
    even = k % 2 == 0
    out, base = x * 0 + 1, x
    while k:
        if k & 1:
            out = out * base
        k >>= 1
        if k:
            base = base * base
    return out.nonnegative_part() if even else out


def _statement_exprs(theorem: Theorem):
    """lhs, rhs of the statement with ``E_D(...)`` replaced by the symbol ``E_D`` (as in
    :meth:`Theorem.evaluate`)."""
    return theorem._numeric(theorem.lhs), theorem._numeric(theorem.rhs)


def certify(
    theorem: Theorem,
    values: dict | Callable[[int], dict],
    prec: int = 128,
    max_prec: int = 1024,
) -> CertifiedCase:
    """Decide ``theorem``'s statement at ``values`` in ball arithmetic (see the module doc).

    ``values`` maps symbol names to floats/balls/``(mid, rad)``, or is a callable returning such
    a dict at a given precision (so inputs are recomputed as the precision rises).
    """
    flint = require_flint()
    if prec < 16 or max_prec < prec:
        raise ValueError(f"need 16 <= prec <= max_prec, got prec={prec}, max_prec={max_prec}")
    lhs_e, rhs_e = _statement_exprs(theorem)
    names = sorted({s.name for s in lhs_e.free_symbols | rhs_e.free_symbols})
    old = flint.ctx.prec
    p = prec
    try:
        while True:
            flint.ctx.prec = p
            raw = values(p) if callable(values) else values
            vals = {k: _in_domain(k, ball(raw[k])) for k in names if k in raw}
            lhs, rhs = to_arb(lhs_e, vals), to_arb(rhs_e, vals)
            slack = rhs - lhs if theorem.is_upper else lhs - rhs
            verdict = _decide(slack, [lhs, rhs, *vals.values()])
            if verdict not in (UNDECIDED, EQUAL) or p * 2 > max_prec:
                return CertifiedCase(
                    verdict=verdict,
                    prec=p,
                    lhs=lhs.str(20, radius=True),
                    rhs=rhs.str(20, radius=True),
                    slack=slack.str(20, radius=True),
                    slack_mid=float(slack.mid()),
                    slack_rad=float(slack.rad()),
                )
            p *= 2
    finally:
        flint.ctx.prec = old


def _in_domain(name: str, b):
    """``b`` intersected with ``[0, inf)`` when the parameter's domain is nonnegative."""
    dom = PARAMS[name].domain if name in PARAMS else None
    if dom is not None and dom.low == 0 and math.isinf(dom.high) and not dom.integer:
        return b.nonnegative_part()
    return b


def _decide(slack, magnitudes) -> str:
    if slack.is_nan():
        return UNDECIDED
    if slack >= 0:
        # includes an exact zero slack (both sides the same exact number): equality
        return EQUAL if slack.is_zero() else CERTIFIED
    if slack < 0:
        return VIOLATED
    if not slack.is_finite():
        return UNDECIDED
    scale = max((float(abs(x).upper()) for x in magnitudes if x.is_finite()), default=0.0)
    if float(slack.rad()) <= EQUAL_RTOL * scale:
        return EQUAL
    return UNDECIDED
