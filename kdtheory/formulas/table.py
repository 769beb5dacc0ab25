"""A model's formulas as a table (STYLE.md "Model formulas as data"; issue 11): the shared
machinery of the formula modules of the simpler models (:mod:`.memoriser`, :mod:`.scalar_laws`,
:mod:`.bump`, :mod:`.gaussian_pair`).

A :class:`FormulaTable` holds the model's symbol table (name -> :class:`~kdtheory.symbols.Param`:
LaTeX, domain, meaning) and a function that derives every :class:`Formula` from the definitions.
Nothing is derived when the table is made: :meth:`FormulaTable.formulas` runs the derivation once,
on first use (cached), and :meth:`FormulaTable.compiled` compiles one formula once
(:func:`kdtheory.formulas.compile.compile_expr`), so ``import kdtheory`` stays as fast as it was.
The same names as :mod:`kdtheory.formulas.gaussian_mean` (``formulas``, ``formula``,
``compiled``, ``closed_form``, ``expression``) are exported by each formula module, which is what
``kdtheory derive --model NAME`` looks up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from ..symbols import Param
from .cache import derivation
from .compile import Compiled, compile_expr, definition

__all__ = ["Formula", "FormulaTable", "proved"]


@dataclass(frozen=True, eq=False)
class Formula:
    """One model quantity: ``expr`` in the symbols named ``args`` (the compiled functions'
    positional arguments, in this order), what it means, where it is specified, and how it was
    obtained (``how``: what was derived, and what is a closed form taken from THEORY and checked
    against its definition)."""

    name: str
    expr: sp.Expr
    args: tuple[str, ...]
    meaning: str
    ref: str
    how: str
    table: dict[str, Param]
    #: a per-coordinate formula (Model A): apply it to each coordinate of the vectors
    coordinate: bool = False
    #: compile with common-subexpression elimination (False: every operation as written, e.g.
    #: an unevaluated ``x/y`` that ``cse`` would turn into ``x * (1/y)``)
    cse: bool = True

    @property
    def symbols(self) -> dict[str, Param]:
        """The formula's symbols with their LaTeX, domain and meaning, in argument order."""
        return {k: self.table[k] for k in self.args}

    def latex(self) -> str:
        """LaTeX of the expression with the symbols' LaTeX names."""
        names = {p.symbol: p.latex for p in self.table.values()}
        return sp.latex(self.expr, symbol_names=names)

    def describe(self) -> str:
        """``name = expr`` and one line per symbol (name, meaning, domain)."""
        lines = [f"{self.name} = {sp.sstr(self.expr)}    ({self.meaning}; {self.ref})"]
        for k, p in self.symbols.items():
            lines.append(f"  {k}: {p.meaning}, in {p.domain.describe()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Formula({self.name!r}, {sp.sstr(self.expr)})"


def proved(derived: sp.Expr, form: sp.Expr, positive: bool = False) -> sp.Expr:
    """``form`` (a stable or readable shape) after checking ``simplify(derived - form) == 0``
    with the registered overrides expanded into their definitions -- or, for ``positive``
    expressions, that their logarithms agree; ``ArithmeticError`` otherwise."""
    diff = sp.simplify(sp.expand_log(definition(derived) - definition(form), force=True))
    if diff != 0:
        diff = sp.simplify(sp.powsimp(sp.expand(diff), force=True))
    if diff != 0 and positive:
        # equal logarithms (expand_log with force: valid as both sides are positive)
        logs = sp.log(definition(derived)) - sp.log(definition(form))
        diff = sp.simplify(sp.expand_log(logs, force=True))
    if diff != 0:
        raise ArithmeticError(f"{form} differs from the derived {derived} by {diff}")
    return form


class FormulaTable:
    """The formulas of one model: ``symbols`` (name -> Param) and ``derive(add, S)``, which calls
    ``add(name, expr, args, meaning, ref, how[, cse])`` once per quantity (``S(name)`` is the sympy
    symbol of a table entry)."""

    def __init__(self, model: str, symbols: dict[str, Param], derive: Callable):
        self.model = model
        self.symbols = symbols
        self._derive = derive
        #: the derivation, shipped when current (:mod:`kdtheory.formulas.cache`)
        self.derivation = derivation(f"table:{model}")(self._derive_all)

    def symbol(self, name: str) -> sp.Symbol:
        return self.symbols[name].symbol

    @property
    def _table(self) -> dict[str, Formula]:
        return self.derivation()

    def _derive_all(self) -> dict[str, Formula]:
        out: dict[str, Formula] = {}

        def add(name, expr, args, meaning, ref, how, cse=True):
            expr = sp.sympify(expr)
            if name in out:
                raise ValueError(f"{self.model}: formula {name!r} is derived twice")
            extra = {str(x) for x in expr.free_symbols} - set(args)
            if extra:
                raise ArithmeticError(f"{self.model} {name}: unexpected symbols {sorted(extra)}")
            out[name] = Formula(name, expr, tuple(args), meaning, ref, how, self.symbols, cse=cse)

        self._derive(add, self.symbol)
        return out

    def formulas(self) -> dict[str, Formula]:
        """Every formula of the model by name, derived once (on first use)."""
        return self._table

    def formula(self, name: str) -> Formula:
        """The formula called ``name``; ``KeyError`` lists the known names."""
        table = self._table
        try:
            return table[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.model} quantity {name!r}; known: {', '.join(table)}"
            ) from None

    @functools.cache  # noqa: B019 - one table per model, alive for the whole process
    def compiled(self, name: str) -> Compiled:
        """``formula(name)`` compiled once to numpy / mpmath / arb (positional args:
        ``Formula.args``)."""
        f = self.formula(name)
        return compile_expr(f.expr, [self.symbols[k].symbol for k in f.args], cse=f.cse)

    def api(self):
        """``(formulas, formula, compiled, expression, closed_form)``: the names a formula module
        exports (``closed_form`` is ``formula``), as bound methods of this table."""
        return self.formulas, self.formula, self.compiled, self.expression, self.formula

    def expression(self, quantity: str) -> tuple[sp.Expr, str]:
        """``(expr, meaning)`` of the formula ``quantity`` (what ``kdtheory derive`` prints)."""
        f = self.formula(quantity)
        return f.expr, f"{f.meaning} ({f.ref}; {f.how})"


def closed_form_method(module: str, model: str):
    """A model class's ``closed_form(name)`` method: the :class:`Formula` called ``name`` in
    :mod:`kdtheory.formulas.<module>` (its expression, symbols with LaTeX, domain and meaning,
    THEORY reference); ``KeyError`` lists the known names."""

    def closed_form(self, name: str) -> Formula:
        from importlib import import_module

        return import_module(f"kdtheory.formulas.{module}").closed_form(name)

    closed_form.__doc__ = (
        f"The closed form of the {model} quantity ``name`` as a "
        f":class:`~kdtheory.formulas.table.Formula` (``.expr``, ``.symbols``, ``.ref``), from "
        f":mod:`kdtheory.formulas.{module}`: the expression the numbers of this class come from."
    )
    return closed_form
