"""The one place where kdtheory's sympy symbols are made (THEORY §1).

Every symbol is created from a :class:`Param`: a name, a LaTeX rendering, a :class:`Domain`
and a one-line meaning.  The domain is the single definition behind three uses (the
scipy.stats "parameter knows its domain" idea, see STYLE.md):

* the sympy assumptions of the symbol (``positive=True`` and so on),
* the validation error raised on bad numeric input (:meth:`Param.validate`),
* the hypothesis strategy that draws valid values (:func:`kdtheory.strategies.values`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

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
    "check_in",
]


@dataclass(frozen=True)
class Domain:
    """A real interval (optionally restricted to integers) with open or closed ends."""

    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False
    integer: bool = False

    def contains(self, x) -> np.ndarray | bool:
        """Elementwise membership; NaN is never a member."""
        x = np.asarray(x, dtype=float)
        ok = np.isfinite(x) | (np.isinf(x) & self._allows_inf(x))
        ok &= (x >= self.low) if self.low_closed else (x > self.low)
        ok &= (x <= self.high) if self.high_closed else (x < self.high)
        if self.integer:
            ok &= np.isfinite(x) & (np.floor(x) == x)
        return ok if ok.ndim else bool(ok)

    def _allows_inf(self, x):
        return ((x == math.inf) & (self.high == math.inf) & self.high_closed) | (
            (x == -math.inf) & (self.low == -math.inf) & self.low_closed
        )

    def describe(self, kind: bool = True) -> str:
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        kind = "integers in " if (self.integer and kind) else ""
        return f"{kind}{left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

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

    def validate(self, value, *, name: str | None = None):
        """Return ``value`` as float (or float array); raise ValueError naming the parameter.

        Raises ``TypeError`` for non-numeric input and ``ValueError`` for values outside the
        domain (NaN included), with the parameter name, the value and the valid domain.
        """
        label = name or self.name
        return check_in(label, value, self.domain)


def check_in(label: str, value, domain: Domain):
    """Validate ``value`` against ``domain``; the error names ``label``, the value and the domain."""
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, complex):
        raise TypeError(f"{label} must be a real number, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{label} must be a real number, got {value!r}") from None
    ok = domain.contains(arr)
    if not np.all(ok):
        bad = value if arr.ndim == 0 else arr[~np.asarray(ok)].ravel()[0]
        what = (
            f"be an integer in {domain.describe(kind=False)}"
            if domain.integer
            else (f"lie in {domain.describe()}")
        )
        raise ValueError(f"{label} must {what}, got {bad!r}")
    return float(arr) if arr.ndim == 0 else arr


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


def to_latex(expr) -> str:
    """LaTeX of a sympy expression with the project's symbol names (THEORY notation)."""
    return sp.latex(expr, symbol_names=latex_names())
