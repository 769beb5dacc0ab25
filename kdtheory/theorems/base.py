"""Theorem objects: a stable id, a status label, explicit assumptions, a sympy statement.

The statement is the single source of truth (STYLE.md): numeric values come from
``sympy.lambdify`` of its two sides (compiled once per theorem), LaTeX from the sympy printer.
Status labels follow THEORY §0: ``paper``, ``reconstructed``, ``extension``, ``false``.

Numeric tolerance (documented once, used everywhere): an inequality ``lhs <= rhs`` counts as
holding when ``lhs <= rhs + RTOL * max(|lhs|, |rhs|) + ATOL``; this absorbs double-precision
rounding of the closed forms (~1e-15 relative) and quadrature error (~1e-13 relative), so an
equality witness (ratio 1) is never reported as a violation, while a refutation needs a margin
far above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import numpy as np
import sympy as sp

from ..assumptions import Assumption
from ..symbols import PARAMS, check_in, real_array, short_repr, to_latex
from ..tex import tex_escape

__all__ = ["Status", "Theorem", "Evaluation", "RTOL", "ATOL", "E_D", "EXPECTATION_KEY"]

RTOL = 1e-9
ATOL = 1e-12

#: Expectation over the dataset D.  A statement containing ``E_D(expr)`` is evaluated with the
#: numeric value of that expectation passed as ``E_D=...`` (the model integrates ``expr``).
E_D = sp.Function(r"\mathbb{E}_D")
EXPECTATION_KEY = "E_D"
_E_SYMBOL = sp.Symbol(EXPECTATION_KEY)


class Status(str, Enum):
    """THEORY §0 status labels."""

    PAPER = "paper"
    RECONSTRUCTED = "reconstructed"
    EXTENSION = "extension"
    FALSE = "false"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Evaluation:
    """Both sides of a statement at given values (arrays broadcast)."""

    lhs: np.ndarray
    rhs: np.ndarray
    slack: np.ndarray
    ratio: np.ndarray
    holds: np.ndarray

    @property
    def all_hold(self) -> bool:
        return bool(np.all(self.holds))


@dataclass(frozen=True, eq=False)
class Theorem:
    """A registered result.

    ``statement`` is ``sympy.Le(lhs, rhs)`` (an upper bound) or ``sympy.Ge(lhs, rhs)`` (a lower
    bound).  ``reference`` fixes the ratio reported by :meth:`evaluate`:
    ``ratio = (lhs - reference) / (rhs - reference)``, which is ``<= 1`` exactly when the
    statement holds (for a lower bound use e.g. ``reference = gen_T``).
    """

    id: str
    name: str
    status: Status
    ref: str
    statement: sp.Rel
    assumptions: tuple[Assumption, ...] = ()
    reference: sp.Expr = sp.Integer(0)
    proof_sketch: str = ""
    notes: str = ""
    proof: str | None = None
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "status", Status(self.status))
        if not isinstance(self.statement, (sp.LessThan, sp.GreaterThan)):
            raise TypeError(
                f"statement of {self.id!r} must be sympy.Le or sympy.Ge, got {type(self.statement)}"
            )

    # -- structure ----------------------------------------------------------------------------
    @property
    def lhs(self) -> sp.Expr:
        return self.statement.lhs

    @property
    def rhs(self) -> sp.Expr:
        return self.statement.rhs

    @property
    def is_upper(self) -> bool:
        return isinstance(self.statement, sp.LessThan)

    @property
    def integrand(self) -> sp.Expr | None:
        """The argument of ``E_D(...)`` in the statement, if there is one."""
        apps = self.statement.atoms(E_D)
        if len(apps) > 1:
            raise ValueError(f"{self.id}: more than one E_D(...) term is not supported")
        return next(iter(apps)).args[0] if apps else None

    @cached_property
    def integrand_function(self):
        """``lambdify`` of :attr:`integrand`, taking keyword arguments by symbol name."""
        return _Compiled(self.integrand)

    def _numeric(self, expr: sp.Expr) -> sp.Expr:
        return expr.replace(lambda e: isinstance(e, E_D), lambda e: _E_SYMBOL)

    @cached_property
    def _compiled(self):
        return tuple(
            _Compiled(self._numeric(e)) for e in (self.lhs, self.rhs, sp.sympify(self.reference))
        )

    @property
    def symbols(self) -> list[str]:
        """Names of the values :meth:`evaluate` needs."""
        names: set[str] = set()
        for c in self._compiled:
            names.update(c.names)
        return sorted(names)

    # -- numbers ------------------------------------------------------------------------------
    def evaluate(self, **values) -> Evaluation:
        """Evaluate both sides at ``values`` (floats or broadcastable arrays).

        Each value is validated against its parameter's domain (``ValueError`` naming it;
        ``TypeError`` for bool, complex, string or masked input) and the arrays must broadcast
        together (``ValueError`` naming them); names the statement does not use are ignored.
        Where an intermediate of the double-precision evaluation overflows although the result
        may be representable (``sqrt(2 Esigma2 K_n)`` at ``1e200``), that element is re-evaluated
        from the same sympy statement in 50-digit mpmath, so ``inf`` is returned only when the
        value itself exceeds double range.
        """
        lhs_f, rhs_f, ref_f = self._compiled
        values = self._validated(values)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lhs, rhs, ref = (self._side(f, values) for f in (lhs_f, rhs_f, ref_f))
            if np.any(np.isnan(lhs)) or np.any(np.isnan(rhs)):
                raise ValueError(f"{self.id}: evaluation produced NaN at {values!r}")
            tol = RTOL * np.maximum(np.abs(lhs), np.abs(rhs)) + ATOL
            tol = np.where(np.isfinite(tol), tol, 0.0)
            if self.is_upper:
                slack = rhs - lhs
            else:
                slack = lhs - rhs
            holds = slack >= -tol
            num, den = lhs - ref, rhs - ref
            ratio = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.sign(num) * np.inf)
            ratio = np.where((den == 0) & (num == 0), 1.0, ratio)
            ratio = np.where(np.isinf(rhs) & np.isfinite(lhs), 0.0, ratio)
        return Evaluation(lhs=lhs, rhs=rhs, slack=slack, ratio=ratio, holds=holds)

    def _validated(self, values: dict) -> dict:
        """The values the statement uses, validated once, with a broadcast check naming them."""
        out = dict(values)
        for k in self.symbols:
            if k in values:
                v = values[k]
                out[k] = check_in(k, v, PARAMS[k].domain) if k in PARAMS else _real(k, v)
        shapes = {k: np.shape(out[k]) for k in self.symbols if k in out}
        try:
            np.broadcast_shapes(*shapes.values())
        except ValueError:
            raise ValueError(
                f"{self.id}: values must broadcast together, got shapes {shapes}"
            ) from None
        return out

    def _side(self, compiled: _Compiled, values: dict) -> np.ndarray:
        """One side in double precision; elements whose evaluation overflowed are redone in
        mpmath (:meth:`_Compiled.mp`)."""
        with np.errstate(over="raise"):
            try:
                return np.asarray(compiled(values), dtype=float)
            except (FloatingPointError, OverflowError):
                pass
        return compiled.mp(values)

    def rhs_value(self, **values):
        """The bound's value (the right-hand side) at ``values``."""
        return self.evaluate(**values).rhs

    # -- text ---------------------------------------------------------------------------------
    def statement_latex(self) -> str:
        return to_latex(self.statement)

    def latex(self, proof: bool = True) -> str:
        r"""The full statement as LaTeX (THEORY §0 status labels): a ``theorem`` environment
        (``claim`` for a ``false`` negative control) titled with the name, id, status and THEORY
        reference; the assumptions as numbered hypotheses; the inequality from the sympy printer
        with the project's symbol names (:func:`kdtheory.symbols.to_latex`); the notes; and, if
        ``proof``, the proof sketch in a ``proof`` environment.

        ``name`` and ``notes`` are plain text (``$...$`` segments are kept as math), the proof
        sketch is LaTeX.  The environments are defined by :func:`kdtheory.latex.preamble`.
        """
        env = "claim" if self.status is Status.FALSE else "theorem"
        status = "false --- a negative control" if self.status is Status.FALSE else str(self.status)
        lines = [
            rf"\begin{{{env}}}[{{{tex_escape(self.name)}}}]\label{{thm:{self.id}}}",
            rf"\textnormal{{(\texttt{{{tex_escape(self.id)}}}; \emph{{{status}}}; "
            rf"{tex_escape(self.ref)})}}\par",
        ]
        if self.assumptions:
            lines.append(r"\noindent Assume")
            lines.append(r"\begin{enumerate}")
            lines += [rf"\item {a.latex()}" for a in self.assumptions]
            lines.append(r"\end{enumerate}")
            lines.append("Then")
        lines.append(r"\[ " + self.statement_latex() + r" \]")
        legend = self.symbol_legend()
        if legend:
            lines.append(legend)
        if self.notes:
            lines.append(r"\par " + tex_escape(self.notes))
        lines.append(rf"\end{{{env}}}")
        if proof and self.proof_sketch:
            lines.append(r"\begin{proof}[Proof sketch]")
            lines.append(self.proof_sketch)
            lines.append(r"\end{proof}")
        return "\n".join(lines)

    def symbol_legend(self) -> str:
        """``where $K_n$ is the distillation divergence ...``: the meaning of every theory
        parameter in the statement (from :data:`kdtheory.symbols.PARAMS`), as LaTeX text."""
        items = [
            rf"${PARAMS[x.name].latex}$: {tex_escape(PARAMS[x.name].meaning)}"
            for x in sorted(self.statement.free_symbols, key=lambda x: x.name)
            if x.name in PARAMS and PARAMS[x.name].symbol == x
        ]
        if self.statement.atoms(E_D):
            items.append(r"$\mathbb{E}_D$: expectation over the dataset $D$")
        return (r"Here " + "; ".join(items) + ".") if items else ""

    def _repr_latex_(self) -> str:
        """Notebook display: name, id, status, the hypotheses (their predicates) and the
        inequality, as one display-math block valid in both MathJax and LaTeX."""
        rows = [
            rf"\textbf{{{tex_escape(self.name)}}}\ (\texttt{{{tex_escape(self.id)}}},\ "
            rf"\text{{{tex_escape(str(self.status))}, {tex_escape(self.ref)}}})"
        ]
        conds = [to_latex(c) for a in self.assumptions for c in a.conditions()]
        if conds:
            rows.append(r"\text{assume } " + r",\quad ".join(conds))
        rows.append(self.statement_latex())
        return r"$\displaystyle \begin{array}{l}" + r" \\ ".join(rows) + r"\end{array}$"

    def __repr__(self) -> str:
        return f"Theorem({self.id!r}, status={self.status.value!r}, {self.statement})"


class _Compiled:
    """``lambdify`` of one expression with arguments passed by symbol name, validated."""

    def __init__(self, expr: sp.Expr):
        syms = sorted(expr.free_symbols, key=lambda s: s.name)
        self.names = [s.name for s in syms]
        self.fn = sp.lambdify(syms, expr, modules="numpy")
        self.expr = expr
        self.syms = syms

    @cached_property
    def fn_mp(self):
        return sp.lambdify(self.syms, self.expr, modules="mpmath")

    def mp(self, values: dict) -> np.ndarray:
        """The expression elementwise in 50-digit mpmath (values already validated), rounded to
        double: ``inf`` only if the exact value is beyond double range."""
        import mpmath

        args = np.broadcast_arrays(*[np.asarray(values[k], dtype=float) for k in self.names])
        shape = args[0].shape if args else ()
        out = np.empty(shape, dtype=float)
        with mpmath.workdps(50):
            for idx in np.ndindex(shape):
                val = self.fn_mp(*[mpmath.mpf(float(a[idx])) for a in args])
                if isinstance(val, mpmath.mpc):  # a real statement: complex only via NaN inputs
                    out[idx] = float(val.real) if val.imag == 0 else math.nan
                else:
                    out[idx] = float(val)
        return out

    def unchecked(self, values: dict):
        """The expression at ``values`` without validation: for callers whose values are
        computed from already validated quantities in a hot loop (e.g. the nodes of a
        quadrature, :meth:`GaussianMeanModel.expectation_over_data`)."""
        return self.fn(*(values[k] for k in self.names))

    def __call__(self, values: dict):
        missing = [k for k in self.names if k not in values]
        if missing:
            raise ValueError(f"missing values for {missing}")
        args = []
        for k in self.names:
            v = values[k]
            args.append(check_in(k, v, PARAMS[k].domain) if k in PARAMS else _real(k, v))
        return self.fn(*args)


def _real(name, v):
    arr = real_array(name, v)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not be NaN, got {short_repr(v)}")
    return arr if arr.ndim else float(arr)


#: kept for backwards compatibility; use :func:`kdtheory.tex.tex_escape`
_tex_escape = tex_escape
