"""Theorem objects: a stable id, a status label, explicit assumptions, a sympy statement.

The statement is the single source of truth (STYLE.md): numeric values come from
``sympy.lambdify`` of its two sides (compiled once per theorem), LaTeX from the sympy printer.
Status labels follow THEORY §0: ``paper``, ``reconstructed``, ``extension``, ``false``, and
``conjecture`` for a user's statement whose truth is unknown (the audit reports it neutrally).

A statement is ``sympy.Le`` (upper bound), ``sympy.Ge`` (lower bound) or ``sympy.Eq`` (an
identity, checked to the same tolerance); either side may contain :class:`Inf`, an infimum over a
free parameter evaluated by numeric minimisation.

Numeric tolerance (documented once, used everywhere): an inequality ``lhs <= rhs`` counts as
holding when ``lhs <= rhs + RTOL * max(|lhs|, |rhs|) + ATOL``; this absorbs double-precision
rounding of the closed forms (~1e-15 relative) and quadrature error (~1e-13 relative), so an
equality witness (ratio 1) is never reported as a violation, while a refutation needs a margin
far above it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import sympy as sp

from .._lazy import lazy_module
from ..assumptions import Assumption
from ..symbols import PARAMS, check_in, real_array, short_repr, to_latex
from ..tex import latex_to_text, tex_escape

np = lazy_module("numpy", globals())  # numpy on first use: kdtheory list needs none

__all__ = [
    "Status",
    "Theorem",
    "Evaluation",
    "Inf",
    "RTOL",
    "ATOL",
    "E_D",
    "EXPECTATION_KEY",
]

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
    #: a statement whose truth is unknown (a researcher's own): refuted or not, never a failure
    CONJECTURE = "conjecture"

    def __str__(self) -> str:
        return self.value


class Inf(sp.Function):
    r"""``Inf(expr, lam, low, high)``: :math:`\inf_{lam \in (low, high)} expr` in a statement.

    Evaluated by numeric minimisation over ``lam`` (scipy's bounded Brent search, on a log scale
    when ``low >= 0`` and ``high = oo``), element by element.  The value found is ``expr`` at
    some ``lam``, so it is *at least* the infimum: for an upper bound ``lhs <= Inf(...)`` a
    violation found with it is a genuine violation, while "holds" means "holds at the ``lam``
    found" (:attr:`Evaluation.argmin` says which).  ``low``/``high`` default to ``0`` and ``oo``.
    """

    nargs = (2, 4)

    @classmethod
    def eval(cls, expr, lam, low=None, high=None):
        if not isinstance(lam, sp.Symbol):
            raise TypeError(f"Inf: the variable must be a sympy Symbol, got {lam!r}")
        return None

    @property
    def bounds(self) -> tuple[sp.Expr, sp.Expr]:
        args = self.args
        return (args[2], args[3]) if len(args) == 4 else (sp.Integer(0), sp.oo)

    @property
    def free_symbols(self):
        return self.args[0].free_symbols - {self.args[1]}

    def _latex(self, printer, exp=None):
        low, high = self.bounds
        lam = printer._print(self.args[1])
        dom = (
            rf"{lam}>{printer._print(low)}"
            if high == sp.oo
            else rf"{lam}\in({printer._print(low)},{printer._print(high)})"
        )
        body = rf"\inf_{{{dom}}}\left[{printer._print(self.args[0])}\right]"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


@dataclass(frozen=True)
class Evaluation:
    """Both sides of a statement at given values (arrays broadcast).  ``vacuous`` (``None`` when
    the assumptions imply no trivial bound) marks where the bound is at or past the trivial one
    (:meth:`Theorem.trivial_bound`); ``argmin`` maps each :class:`Inf` variable to the values at
    which the infimum was evaluated."""

    lhs: np.ndarray
    rhs: np.ndarray
    slack: np.ndarray
    ratio: np.ndarray
    holds: np.ndarray
    vacuous: np.ndarray | None = None
    argmin: dict | None = None

    @property
    def all_hold(self) -> bool:
        return bool(np.all(self.holds))

    def __repr__(self) -> str:
        """Python numbers for scalar inputs (``lhs=0.5``, ``holds=True``); for arrays the
        shape, how many hold and the worst ratio first (:func:`kdtheory.display.evaluation_repr`)."""
        from .. import display

        return display.evaluation_repr(self)

    def _repr_html_(self) -> str:
        """Notebook display: a table lhs / rhs / slack / ratio / holds for scalar inputs, a
        summary (shape, how many hold, the worst ratio) for arrays."""
        from .. import display

        return display.evaluation_html(self)


@dataclass(frozen=True, eq=False)
class Theorem:
    """A registered result.

    ``statement`` is ``sympy.Le(lhs, rhs)`` (an upper bound), ``sympy.Ge(lhs, rhs)`` (a lower
    bound) or ``sympy.Eq(lhs, rhs)`` (an identity).  ``reference`` fixes the ratio reported by
    :meth:`evaluate`: ``ratio = (lhs - reference) / (rhs - reference)``, which is ``<= 1``
    exactly when an inequality holds (for a lower bound use e.g. ``reference = gen_T``) and 1 for
    an identity.  ``source`` is the file and line where the theorem was constructed (recorded
    automatically); ``tests`` names the test files that check it (for ``kdtheory show``).
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
    tests: tuple[str, ...] = field(default=())
    source: str = field(default="", compare=False)

    def __post_init__(self):
        if not isinstance(self.id, str) or not self.id.strip() or any(c.isspace() for c in self.id):
            raise ValueError(
                f"a theorem id must be a non-empty string without spaces, got {self.id!r}"
            )
        try:
            object.__setattr__(self, "status", Status(self.status))
        except ValueError:
            known = ", ".join(s.value for s in Status)
            raise ValueError(
                f"status of {self.id!r} must be one of {known}, got {self.status!r}"
            ) from None
        if not isinstance(self.statement, (sp.LessThan, sp.GreaterThan, sp.Equality)):
            raise TypeError(
                f"statement of {self.id!r} must be sympy.Le, sympy.Ge or sympy.Eq, "
                f"got {type(self.statement).__name__}"
            )
        from ..assumptions import Assumption

        bad = [a for a in self.assumptions if not isinstance(a, Assumption)]
        if bad:
            raise TypeError(f"assumptions of {self.id!r} must be Assumption objects, got {bad!r}")
        object.__setattr__(self, "assumptions", tuple(self.assumptions))
        object.__setattr__(self, "tests", tuple(self.tests))
        if not self.source:
            object.__setattr__(self, "source", _caller_location())

    # -- structure ----------------------------------------------------------------------------
    @property
    def lhs(self) -> sp.Expr:
        return self.statement.lhs

    @property
    def rhs(self) -> sp.Expr:
        return self.statement.rhs

    @property
    def is_upper(self) -> bool:
        """An upper bound (``Le``); an identity counts as upper for the ratio's orientation."""
        return isinstance(self.statement, (sp.LessThan, sp.Equality))

    @property
    def is_identity(self) -> bool:
        return isinstance(self.statement, sp.Equality)

    @property
    def kind(self) -> str:
        """``"upper bound"``, ``"lower bound"`` or ``"identity"``."""
        if self.is_identity:
            return "identity"
        return "upper bound" if self.is_upper else "lower bound"

    def trivial_bound(self) -> sp.Expr | None:
        """The bound the assumptions give for free, if any: with a :class:`BoundedLoss` of width
        ``w = l_max - l_min`` every expected gap lies in ``[-w, w]``, so ``|gen_S|``,
        ``|gen_T|`` are at most ``w`` and ``|dgen|`` at most ``2 w`` (THEORY §3).  ``None`` when
        the left side is none of these or no bounded loss is assumed."""
        from ..assumptions import BoundedLoss

        widths = [a.sigma() for a in self.assumptions if isinstance(a, BoundedLoss)]
        if not widths or self.is_identity:
            return None
        lhs = self.lhs.args[0] if isinstance(self.lhs, sp.Abs) else self.lhs
        factor = {"dgen": 2, "gen_S": 1, "gen_T": 1}.get(getattr(lhs, "name", ""), None)
        if factor is None or not isinstance(lhs, sp.Symbol) or lhs != PARAMS[lhs.name].symbol:
            return None
        w = sp.Min(*widths) if len(widths) > 1 else widths[0]
        return factor * w if self.is_upper else -factor * w

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

    @cached_property
    def _trivial(self):
        t = self.trivial_bound()
        return None if t is None else _Compiled(t)

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
        argmin: dict = {}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lhs, rhs, ref = (self._side(f, values, argmin) for f in (lhs_f, rhs_f, ref_f))
            if np.isnan(lhs).any() or np.isnan(rhs).any():
                raise ValueError(f"{self.id}: evaluation produced NaN at {values!r}")
            tol = RTOL * np.maximum(np.abs(lhs), np.abs(rhs)) + ATOL
            finite = np.isfinite(tol)
            if not finite.all():  # each np.where below only where some entry needs it
                tol = np.where(finite, tol, 0.0)
            if self.is_identity:
                slack = -np.abs(lhs - rhs)
            elif self.is_upper:
                slack = rhs - lhs
            else:
                slack = lhs - rhs
            holds = slack >= -tol
            # x - 0 is x exactly (-0.0, inf, NaN included): no subtraction for a zero reference
            num, den = (lhs, rhs) if _is_zero(ref) else (lhs - ref, rhs - ref)
            nonzero = den != 0
            if nonzero.all():
                ratio = np.asarray(num / den)  # an array, as np.where gives, also for 0-d input
            else:
                ratio = np.where(nonzero, num / np.where(nonzero, den, 1.0), np.sign(num) * np.inf)
                ratio = np.where(~nonzero & (num == 0), 1.0, ratio)
            infinite = np.isinf(rhs)
            if infinite.any():
                ratio = np.where(infinite & np.isfinite(lhs), 0.0, ratio)
        return Evaluation(
            lhs=lhs,
            rhs=rhs,
            slack=slack,
            ratio=ratio,
            holds=holds,
            vacuous=self._vacuous(rhs, values),
            argmin=argmin or None,
        )

    def evaluate_interval(self, prec: int = 128, **values):
        """Both sides over input *intervals*, in arb ball arithmetic (:mod:`kdtheory.certified`).

        Each value is a scalar number (an exact point), a ``(lo, hi)`` pair, or a
        :class:`kdtheory.estimate.Estimate` (its interval); an interval of a nonnegative
        parameter is intersected with ``[0, inf)`` (a CLT interval of a small ``K_n`` may reach
        below 0), as in :func:`kdtheory.certified.certify`.  Returns a
        :class:`kdtheory.estimate.IntervalEvaluation`: an interval for each side, the verdict
        ``holds`` / ``violated`` / ``undecided`` (holds or fails for *every* input in the
        intervals, or neither), and ``vacuous`` where the right side is at or past
        :meth:`trivial_bound` (given ``l_min``, ``l_max``).  Built on an estimate, the result is
        labelled "estimated, not certified": the verdict is only as good as the intervals."""
        from ..estimate import evaluate_interval

        return evaluate_interval(self, prec=prec, **values)

    def _vacuous(self, rhs, values: dict):
        """Where the bound is at or past :meth:`trivial_bound` (``None`` if there is none or
        its values were not given)."""
        if self._trivial is None or any(k not in values for k in self._trivial.names):
            return None
        triv = np.asarray(self._trivial(values), dtype=float)
        return rhs >= triv if self.is_upper else rhs <= triv

    def _validated(self, values: dict) -> dict:
        """The values the statement uses, validated once, with a broadcast check naming them."""
        out = dict(values)
        for k in self.symbols:
            if k in values:  # read only (nothing returned aliases them): valid arrays not copied
                v = values[k]
                out[k] = (
                    check_in(k, v, PARAMS[k].domain, copy=False) if k in PARAMS else _real(k, v)
                )
        shapes = {k: np.shape(out[k]) for k in self.symbols if k in out}
        try:
            np.broadcast_shapes(*shapes.values())
        except ValueError:
            raise ValueError(
                f"{self.id}: values must broadcast together, got shapes {shapes}"
            ) from None
        return out

    def _side(self, compiled: _Compiled, values: dict, argmin: dict) -> np.ndarray:
        """One side in double precision; elements whose evaluation overflowed are redone in
        mpmath (:meth:`_Compiled.mp`).  Infima (:class:`Inf`) are minimised first."""
        if compiled.infima:
            values = compiled.minimise(values, argmin)
        with np.errstate(over="raise"):
            try:
                return np.asarray(compiled(values, validated=True), dtype=float)
            except (FloatingPointError, OverflowError):
                pass
        return compiled.mp(values)

    def rhs_value(self, **values):
        """The bound's value (the right-hand side) at ``values``."""
        return self.evaluate(**values).rhs

    # -- text ---------------------------------------------------------------------------------
    def statement_latex(self) -> str:
        """The statement from the project's printer (:func:`kdtheory.symbols.to_latex`)."""
        return to_latex(self.statement)

    @property
    def environment(self) -> str:
        """The LaTeX environment of :meth:`latex` in paper mode: ``lemma`` (tag ``"lemma"``),
        ``conjecture``, ``remark`` for a negative control (a false statement is not a result;
        see :meth:`latex`) or ``theorem``."""
        if self.status is Status.FALSE:
            return "remark"
        if self.status is Status.CONJECTURE:
            return "conjecture"
        return "lemma" if "lemma" in self.tags else "theorem"

    @property
    def notes_text(self) -> str:
        """:attr:`notes` as plain text for the terminal (:func:`kdtheory.tex.latex_to_text`)."""
        return latex_to_text(self.notes)

    def latex(
        self, proof: bool = True, paper: bool = False, proof_sketch: str | None = None
    ) -> str:
        r"""The full statement as LaTeX: an ``amsthm`` environment titled with the name, the
        assumptions as numbered hypotheses, the statement from the project's printer
        (:func:`kdtheory.symbols.to_latex`) with an upright symbol legend, the notes, and, if
        ``proof``, the proof sketch in a ``proof`` environment (``proof_sketch`` replaces the
        theorem's own, e.g. by a reference to a sketch printed earlier).

        Typing: ``name`` is plain text (escaped; ``$...$`` segments kept as math); ``notes`` and
        ``proof_sketch`` are LaTeX text, math in ``$...$`` (:attr:`notes_text` is the plain-text
        reading).

        Default (provenance) mode: the environment is ``theorem`` (``lemma`` for a lemma,
        ``claim`` for a ``false`` negative control, ``conjecture`` for a conjecture) and a first
        line gives the id, the THEORY §0 status label and the THEORY reference.  ``paper=True``:
        no id, status or THEORY reference (parenthesised ``(THEORY ...)`` notes are dropped) and
        the environments of :func:`kdtheory.latex.theorem_preamble` (``theorem``, ``lemma``,
        ``conjecture``; a negative control becomes an unnumbered ``remark`` that says the
        statement is false, with its notes as the reason).  The label ``thm:ID`` is kept in both
        modes so that ``\ref`` works.
        """
        if paper:
            env = self.environment
        else:
            env = {Status.FALSE: "claim", Status.CONJECTURE: "conjecture"}.get(
                self.status, "lemma" if "lemma" in self.tags else "theorem"
            )
        lines = [rf"\begin{{{env}}}[{{{tex_escape(self.name)}}}]\label{{thm:{self.id}}}"]
        if not paper:
            status = (
                "false --- a negative control" if self.status is Status.FALSE else str(self.status)
            )
            lines.append(
                rf"\textnormal{{(\texttt{{{tex_escape(self.id)}}}; \emph{{{status}}}; "
                rf"{tex_escape(self.ref)})}}\par"
            )
        elif self.status is Status.FALSE:
            lines.append(r"The following plausible statement is \emph{false} in general.")
        if self.assumptions:
            lines.append(r"\noindent Assume")
            lines.append(r"\begin{enumerate}\sloppy")
            lines += [rf"\item {a.latex()}" for a in self.assumptions]
            lines.append(r"\end{enumerate}")
            lines.append("Then" if self.status is not Status.FALSE or not paper else "Claim:")
        lines.append(_display(self.statement_latex()))
        legend = self.symbol_legend()
        if legend:
            lines.append(legend)
        notes = _paper_text(self.notes) if paper else self.notes
        if notes:
            lines.append(r"\par{\upshape\sloppy\noindent " + notes + r"\par}")
        lines.append(rf"\end{{{env}}}")
        sketch = self.proof_sketch if proof_sketch is None else proof_sketch
        if proof and sketch:
            lines.append(r"\begin{proof}[Proof sketch]\sloppy")
            lines.append(_paper_text(sketch) if paper else sketch)
            lines.append(r"\end{proof}")
        return "\n".join(lines)

    def symbol_legend(self) -> str:
        r"""``Here $K_n$: distillation divergence ...``: the meaning of every theory parameter in
        the statement (from :data:`kdtheory.symbols.PARAMS`), as LaTeX text set upright (it is a
        gloss, not part of the statement) and ``\\sloppy`` (the meanings hold unbreakable
        formulas: a loose line is better than one running into the margin)."""
        items = [
            rf"${PARAMS[x.name].latex}$: {tex_escape(PARAMS[x.name].meaning)}"
            for x in sorted(self.statement.free_symbols, key=lambda x: x.name)
            if x.name in PARAMS and PARAMS[x.name].symbol == x
        ]
        if self.statement.atoms(E_D):
            items.append(r"$\mathbb{E}_D$: expectation over the dataset $D$")
        if not items:
            return ""
        items = "; ".join(items)
        return r"\par{\upshape\sloppy\noindent Here " + items + r".\par}"

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
    """``lambdify`` of one expression with arguments passed by symbol name, validated.  Each
    :class:`Inf` in it becomes a placeholder argument, computed by :meth:`minimise`."""

    def __init__(self, expr: sp.Expr):
        self.infima = []
        for k, node in enumerate(sorted(expr.atoms(Inf), key=sp.default_sort_key)):
            inner, lam = node.args[0], node.args[1]
            low, high = (float(b) for b in node.bounds)
            if not low < high:
                raise ValueError(f"Inf over {lam}: need low < high, got ({low}, {high})")
            place = sp.Symbol(f"_inf{k}")
            rest = sorted(inner.free_symbols - {lam}, key=lambda s: s.name)
            fn = sp.lambdify([lam, *rest], inner, modules="numpy")
            self.infima.append((place, lam.name, [s.name for s in rest], fn, low, high))
            expr = expr.xreplace({node: place})
        places = {p for p, *_ in self.infima}
        syms = sorted(expr.free_symbols - places, key=lambda s: s.name)
        for _, _, rest, *_ in self.infima:
            syms += [sp.Symbol(n) for n in rest if n not in {s.name for s in syms}]
        syms = sorted(set(syms), key=lambda s: s.name)
        self.names = [s.name for s in syms]
        self.fn = sp.lambdify([*syms, *places], expr, modules="numpy")
        self.expr = expr
        self.syms = [*syms, *places]

    def minimise(self, values: dict, argmin: dict) -> dict:
        """``values`` with each infimum's placeholder set to the minimum found (elementwise) and
        the minimising variable recorded in ``argmin``."""
        out = dict(values)
        for place, lam, rest, fn, low, high in self.infima:
            args = np.broadcast_arrays(*[np.asarray(values[k], dtype=float) for k in rest])
            shape = args[0].shape if args else ()
            best, where = np.empty(shape), np.empty(shape)
            log = low >= 0 and math.isinf(high)
            lo, hi = (math.log(max(low, 1e-300)), math.log(1e300)) if log else (low, high)
            if log:
                lo = max(lo, -700.0)
                hi = min(hi, 700.0)
            for idx in np.ndindex(shape):
                best[idx], where[idx] = _minimise_1d(fn, [float(a[idx]) for a in args], log, lo, hi)
            out[place.name] = best if shape else float(best)
            argmin[lam] = where if shape else float(where)
        return out

    @cached_property
    def fn_mp(self):
        return sp.lambdify(self.syms, self.expr, modules="mpmath")

    def mp(self, values: dict) -> np.ndarray:
        """The expression elementwise in 50-digit mpmath (values already validated), rounded to
        double: ``inf`` only if the exact value is beyond double range."""
        import mpmath

        names = [s.name for s in self.syms]
        args = np.broadcast_arrays(*[np.asarray(values[k], dtype=float) for k in names])
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

    def __call__(self, values: dict, validated: bool = False):
        """The expression at ``values`` (by symbol name), each validated against its domain
        unless ``validated`` (:meth:`Theorem.evaluate` validates every value once, before
        evaluating the sides); a missing value is a ``ValueError`` either way."""
        missing = [k for k in self.names if k not in values]
        if missing:
            raise ValueError(f"missing values for {missing}")
        if validated:
            args = [values[k] for k in self.names]
        else:
            args = [
                check_in(k, values[k], PARAMS[k].domain) if k in PARAMS else _real(k, values[k])
                for k in self.names
            ]
        args += [values[p.name] for p, *_ in self.infima]
        return self.fn(*args)


def _minimise_1d(fn, point: list, log: bool, lo: float, hi: float) -> tuple[float, float]:
    """``(min, argmin)`` of ``fn(lam, *point)`` for ``lam`` in ``(lo, hi)`` (``log``: ``lam =
    exp(x)``, ``x`` in ``(lo, hi)``): a 241-point scan brackets the global minimum, bounded Brent
    refines it.  The value returned is ``fn`` at the argmin returned (never below the infimum)."""
    from scipy.optimize import minimize_scalar

    def f(x):
        lam = math.exp(x) if log else x
        with np.errstate(all="ignore"):
            v = float(fn(lam, *point))
        return v if math.isfinite(v) else math.inf

    grid = np.linspace(lo, hi, 241)
    vals = np.array([f(x) for x in grid])
    j = int(np.argmin(vals))
    a, b = grid[max(j - 1, 0)], grid[min(j + 1, len(grid) - 1)]
    res = minimize_scalar(f, bounds=(a, b), method="bounded", options={"xatol": 1e-12})
    x, v = (res.x, float(res.fun)) if res.fun <= vals[j] else (grid[j], float(vals[j]))
    return v, math.exp(x) if log else x


#: a statement whose LaTeX is longer than this many characters is set with ``multline``
_LONG_STATEMENT = 110
_REL = re.compile(r" (\\leq|\\geq|=) ")


def _display(stmt: str) -> str:
    """Display math for a statement: ``\\[...\\]``, or for a long one a ``multline*`` broken
    after its relation (the only place a break is always correct)."""
    m = _REL.search(stmt)
    if len(stmt) <= _LONG_STATEMENT or m is None:
        return r"\[ " + stmt + r" \]"
    return (
        "\\begin{multline*}\n"
        + stmt[: m.end()].rstrip()
        + "\\\\\n"
        + stmt[m.end() :]
        + "\n\\end{multline*}"
    )


_THEORY_REF = re.compile(r"\s*\(THEORY[^()]*\)")


def _paper_text(text: str) -> str:
    """LaTeX text without its parenthesised ``(THEORY ...)`` citations (paper mode)."""
    return _THEORY_REF.sub("", text)


def _caller_location() -> str:
    """``file:line`` of the code that constructed a theorem (the first frame outside this
    module and the dataclass machinery)."""
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != __file__ and not name.startswith("<"):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def _is_zero(x) -> bool:
    """``x`` is the number 0 (a scalar, not an array): a statement's reference ``0``."""
    return isinstance(x, (int, float, np.integer, np.floating)) and x == 0


def _real(name, v):
    arr = real_array(name, v)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not be NaN, got {short_repr(v)}")
    return arr if arr.ndim else float(arr)


#: kept for backwards compatibility; use :func:`kdtheory.tex.tex_escape`
_tex_escape = tex_escape
