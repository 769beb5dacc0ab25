"""Assumption objects: the hypotheses a theorem states explicitly (THEORY §1-§5).

An assumption carries its parameters (each a :class:`kdtheory.symbols.Param`, whose domain gives
the sympy assumptions, the validation and the hypothesis strategy), the predicate it asserts as a
sympy expression, and a LaTeX rendering.  A field left at ``None`` stays symbolic; a numeric value
is validated against the parameter's domain on construction, so ``SubGaussian(sigma=-1)`` raises
``ValueError`` naming ``sigma``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import sympy as sp

from .display import math_text
from .symbols import Param, aux_symbol, param, to_latex

__all__ = [
    "Assumption",
    "SubGaussian",
    "BoundedLoss",
    "SubGamma",
    "CentralCondition",
    "Sharpness",
]

# Objects that appear only inside predicates (never evaluated numerically).
_lam = aux_symbol("lambda_any", r"\lambda", real=True)
_theta = aux_symbol("theta_any", r"\theta", positive=True)
_Lambda = sp.Function(r"\Lambda")
_E = sp.Function(r"\mathbb{E}")
_g = aux_symbol("g_T", r"g(W_T, D)", real=True)
_loss = aux_symbol("loss", r"\ell(w, z)", real=True)
_grad = aux_symbol("grad_norm", r"\|\nabla g(w_T)\|", nonnegative=True)
_hess = aux_symbol("hess_norm", r"\sup_{B}\|\nabla^2 g\|_{\mathrm{op}}", nonnegative=True)
_dist = aux_symbol("support_radius", r"\|W_T - w_T(D)\|", nonnegative=True)


@dataclass(frozen=True)
class Assumption:
    """Base class.  Subclasses are frozen dataclasses whose fields are parameter values."""

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    ref: ClassVar[str] = ""
    #: which dataclass field holds which theory parameter (field name -> Param name)
    param_names: ClassVar[dict[str, str]] = {}

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and f.name in self.param_names:
                object.__setattr__(
                    self, f.name, param(self.param_names[f.name]).validate(value, name=f.name)
                )
        self._check()

    def _check(self) -> None:
        """Cross-parameter validation (override)."""

    # -- parameters -------------------------------------------------------------------------
    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(param(p) for p in self.param_names.values())

    def value(self, field_name: str) -> sp.Expr:
        """The field's numeric value as a sympy Float, or its symbol when left symbolic."""
        v = getattr(self, field_name)
        if v is None:
            return param(self.param_names[field_name]).symbol
        return sp.Integer(int(v)) if float(v).is_integer() else sp.Float(v)

    @property
    def is_symbolic(self) -> bool:
        return any(getattr(self, f) is None for f in self.param_names)

    # -- statement --------------------------------------------------------------------------
    def conditions(self) -> list[sp.Basic]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def predicate(self) -> sp.Basic:
        """The asserted predicate as one sympy boolean (the conjunction of the conditions)."""
        c = self.conditions()
        return c[0] if len(c) == 1 else sp.And(*c)

    def quantifier(self) -> str:
        """The quantifier text that goes with the predicate (LaTeX)."""
        return ""

    def latex(self) -> str:
        body = r",\ ".join(to_latex(c) for c in self.conditions())
        q = self.quantifier()
        return rf"\textbf{{{self.title}}}: ${body}$" + (f" {q}" if q else "")

    def _repr_latex_(self) -> str:
        r"""Notebook display: the title, the predicate and its quantifier as one display-math
        block valid in MathJax, KaTeX and LaTeX (``$$ \begin{array}{l} ... \end{array} $$``,
        the quantifier's text in ``\text{...}``, :func:`kdtheory.display.math_text`)."""
        body = r",\quad ".join(to_latex(c) for c in self.conditions())
        rows = [rf"\textbf{{{self.title}}}:\quad {body}"]
        q = self.quantifier()
        if q:
            rows.append(r"\quad " + math_text(q))
        return r"$$\begin{array}{l}" + r" \\ ".join(rows) + r"\end{array}$$"

    def __str__(self) -> str:
        vals = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.param_names)
        return f"{type(self).__name__}({vals})"


@dataclass(frozen=True)
class SubGaussian(Assumption):
    """``X`` is sigma-sub-Gaussian: ``log E exp(lam (X - EX)) <= lam^2 sigma^2 / 2`` (THEORY §1).

    ``of`` is the variable as a LaTeX math fragment (default the teacher gap ``g(W_T, D)``;
    ``None`` for a generic random variable ``X``) and ``under`` its law as LaTeX *text* (math in
    ``$...$``); ``conditional=True`` is the per-dataset proxy ``sigma_D`` of Theorem U
    (THEORY §3).
    """

    sigma: float | None = None
    of: str | None = "g(W_T, D)"
    under: str = "$P_{W_T|D}$"
    conditional: bool = False

    id: ClassVar[str] = "sub-gaussian"
    title: ClassVar[str] = "Sub-Gaussian"
    ref: ClassVar[str] = "THEORY §1"
    param_names: ClassVar[dict[str, str]] = {"sigma": "sigma"}

    @property
    def symbol(self) -> sp.Symbol:
        return param("sigma_D" if self.conditional else "sigma").symbol

    def proxy(self) -> sp.Expr:
        """The proxy sigma^2 (symbolic or numeric)."""
        s = self.symbol if self.sigma is None else sp.Float(self.sigma)
        return s**2

    def conditions(self) -> list[sp.Basic]:
        return [sp.Le(_Lambda(_lam), _lam**2 * self.proxy() / 2)]

    def quantifier(self) -> str:
        cond = ", conditionally on $D$ (for a.e. $D$)" if self.conditional else ""
        var = "a random variable $X$" if self.of is None else f"$X={self.of}$"
        return (
            rf"for all $\lambda\in\mathbb{{R}}${cond}, where $\Lambda(\lambda)=\log\mathbb{{E}}"
            rf"\,e^{{\lambda(X-\mathbb{{E}}X)}}$ for {var} under {self.under}"
        )


@dataclass(frozen=True)
class BoundedLoss(Assumption):
    """``l_min <= l(w, z) <= l_max``; by Hoeffding's lemma the gap is ``(l_max - l_min)``-sub-Gaussian
    under any law (THEORY §3, the bounded-loss sufficient condition)."""

    l_min: float | None = None
    l_max: float | None = None

    id: ClassVar[str] = "bounded-loss"
    title: ClassVar[str] = "Bounded loss"
    ref: ClassVar[str] = "THEORY §3"
    param_names: ClassVar[dict[str, str]] = {"l_min": "l_min", "l_max": "l_max"}

    def _check(self) -> None:
        if self.l_min is not None and self.l_max is not None:
            if not math.isfinite(self.l_min) or not math.isfinite(self.l_max):
                raise ValueError(f"l_min and l_max must be finite, got {self.l_min}, {self.l_max}")
            if not self.l_min < self.l_max:
                raise ValueError(
                    f"l_max must exceed l_min, got l_min={self.l_min!r}, l_max={self.l_max!r}"
                )

    def conditions(self) -> list[sp.Basic]:
        return [sp.Le(self.value("l_min"), _loss), sp.Le(_loss, self.value("l_max"))]

    def quantifier(self) -> str:
        return r"for all $w, z$"

    def sigma(self) -> sp.Expr:
        """Sub-Gaussian parameter of the gap ``g in [l_min - l_max, l_max - l_min]``."""
        return self.value("l_max") - self.value("l_min")

    def implies(self) -> SubGaussian:
        """The sub-Gaussian assumption it implies (Hoeffding's lemma, THEORY §3)."""
        s = self.sigma()
        return SubGaussian(sigma=float(s) if s.is_number else None, under="any law")


@dataclass(frozen=True)
class SubGamma(Assumption):
    """Sub-gamma CGF: ``Lambda(theta) <= V_g theta^2 / (2 (1 - b_g theta))`` on
    ``0 < theta < 1/b_g`` (THEORY §3, Theorem U-gamma)."""

    v: float | None = None
    b: float | None = None
    side: str = "upper"

    id: ClassVar[str] = "sub-gamma"
    title: ClassVar[str] = "Sub-gamma"
    ref: ClassVar[str] = "THEORY §3"
    param_names: ClassVar[dict[str, str]] = {"v": "V_g", "b": "b_g"}

    def _check(self) -> None:
        if self.side not in ("upper", "lower"):
            raise ValueError(f"side must be 'upper' or 'lower', got {self.side!r}")

    def conditions(self) -> list[sp.Basic]:
        arg = _theta if self.side == "upper" else -_theta
        v, b = self.value("v"), self.value("b")
        # 2 (1 - b theta) kept unexpanded: sympy would print the denominator as -2 b theta + 2
        denom = sp.Mul(2, 1 - b * _theta, evaluate=False)
        return [sp.Le(_Lambda(arg), v * _theta**2 / denom)]

    def quantifier(self) -> str:
        return (
            r"for $0<\theta<1/b_g$, where $\Lambda(\theta)=\log\mathbb{E}\,e^{\theta(g-"
            r"\mathrm{gen}_T)}$ under the joint law $P_D\otimes P_{W_T|D}$"
        )


@dataclass(frozen=True)
class CentralCondition(Assumption):
    """(eta, c)-central condition ``E exp(-eta g(W_T, D)) <= exp(-c eta gen_T)`` (THEORY §4)."""

    eta: float | None = None
    c: float | None = None

    id: ClassVar[str] = "central"
    title: ClassVar[str] = "Central condition"
    ref: ClassVar[str] = "THEORY §4"
    param_names: ClassVar[dict[str, str]] = {"eta": "eta", "c": "c"}

    def conditions(self) -> list[sp.Basic]:
        eta, c = self.value("eta"), self.value("c")
        return [sp.Le(_E(sp.exp(-eta * _g)), sp.exp(-c * eta * param("gen_T").symbol))]

    def quantifier(self) -> str:
        return r"under the joint law $P_D\otimes P_{W_T|D}$"


@dataclass(frozen=True)
class Sharpness(Assumption):
    """Local curvature (THEORY §5): the teacher kernel is supported in ``B(w_T(D), rho)``, and on
    that ball ``||grad g(w_T)|| <= G1`` and ``||Hess g||_op <= beta`` (beta is the sharpness)."""

    beta: float | None = None
    rho: float | None = None
    G1: float | None = None

    id: ClassVar[str] = "sharpness"
    title: ClassVar[str] = "Sharpness"
    ref: ClassVar[str] = "THEORY §5"
    param_names: ClassVar[dict[str, str]] = {"beta": "beta", "rho": "rho", "G1": "G1"}

    def conditions(self) -> list[sp.Basic]:
        return [
            sp.Le(_dist, self.value("rho")),
            sp.Le(_grad, self.value("G1")),
            sp.Le(_hess, self.value("beta")),
        ]

    def quantifier(self) -> str:
        return r"for a.e. $D$ (teacher kernel supported in the ball $B(w_T(D),\rho)$)"

    def variation(self) -> sp.Expr:
        """``s_rho = G1 rho + beta rho^2 / 2``: the range of g on the ball (Taylor, THEORY §5)."""
        rho, g1, beta = self.value("rho"), self.value("G1"), self.value("beta")
        return g1 * rho + beta * rho**2 / 2
