"""The scalar laws of Lemma SG (THEORY §2) as data: CGFs, means and proxies as sympy expressions
derived from the definitions.

* ``gaussian_cgf`` -- **derived**: ``log E e^{tX}``, ``X = mean + sd xi``, by sympy integration of
  ``e^{t sd x}`` against the standard normal density: ``t mean + t^2 sd^2/2``.
  ``gaussian_mean`` -- **derived** by the exact Gaussian-moment engine.  ``gaussian_sigma`` --
  **derived**: the CGF is exactly ``t mean + t^2 sigma^2/2`` with ``sigma = sd``, so ``sd`` is a
  proxy with equality (solved from the CGF by sympy).
* ``bernoulli_cgf`` -- **derived**: ``X = lo + width B``, ``B ~ Bernoulli(p)``, ``E e^{tX}`` by
  sympy summation over ``B in {0, 1}``; written as ``t lo + bernoulli_log_mgf(t width, p)``, the
  registered override (``log1p(p expm1(u))`` for ``|u| < 1``, ``logaddexp`` otherwise), proved
  equal.  ``bernoulli_mean`` -- **derived** by the same summation.
* ``uniform_cgf`` -- **derived**: uniform on ``[lo, lo + width]``, ``E e^{tX}`` by sympy
  integration (its ``t width != 0`` branch); written as ``t lo + uniform_log_mgf(t width)``, the
  registered override (a series near 0, ``expm1`` elsewhere; ``0`` at ``t = 0``, the other
  branch), proved equal.  ``uniform_mean`` -- **derived** by integration.
* ``bernoulli_sigma``, ``uniform_sigma`` -- **closed forms taken from THEORY** (§2, §3: Hoeffding's
  lemma, a law on an interval of length ``width`` is ``(width/2)``-sub-Gaussian); the test
  checks Lemma SG's inequality for them against the derived CGFs.

Nothing is derived at import (:class:`~kdtheory.formulas.table.FormulaTable`);
:mod:`kdtheory.models.scalar_laws` evaluates the compiled functions (on floats, arrays, and on
arb balls for the equality witnesses of :mod:`kdtheory.audit.witness_balls`).
"""

from __future__ import annotations

import sympy as sp

from ..symbols import PARAMS, POSITIVE, REAL, UNIT_CLOSED, Param
from .compile import bernoulli_log_mgf, uniform_log_mgf
from .engine import gaussian_expectation
from .table import FormulaTable, proved

__all__ = ["SYMBOLS", "TABLE", "formulas", "formula", "compiled", "closed_form", "expression"]

#: The symbols of the scalar laws' formulas: name -> Param (LaTeX, domain, meaning).
SYMBOLS: dict[str, Param] = {
    p.name: p
    for p in [
        PARAMS["t"],
        PARAMS["mean"],
        Param("sd", r"\mathrm{sd}", POSITIVE, "standard deviation of a Gaussian law"),
        Param("lo", r"\mathrm{lo}", REAL, "lower end of the law's support"),
        Param("width", "w", POSITIVE, "length of the law's support"),
        Param("p", "p", UNIT_CLOSED, "success probability of the Bernoulli variable"),
    ]
}

_REF = "THEORY §2 (Lemma SG)"


def _derive(add, S) -> None:
    t, mean, sd, lo, width, p = (S(k) for k in ("t", "mean", "sd", "lo", "width", "p"))
    x = sp.Symbol("x", real=True)
    xi = sp.Symbol("xi", real=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)

    # Gaussian N(mean, sd^2)
    density = sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)
    mgf = sp.exp(t * mean) * sp.integrate(sp.exp(t * sd * x) * density, (x, -sp.oo, sp.oo))
    cgf = sp.expand(sp.expand_log(sp.log(mgf), force=True))
    add("gaussian_cgf", cgf, ("t", "mean", "sd"), "log E exp(tX), X ~ N(mean, sd^2)", _REF,
        "derived: sympy integration against the normal density")  # fmt: skip
    add("gaussian_mean", gaussian_expectation(mean + sd * xi, [xi]), ("mean",), "E X", _REF,
        "derived: exact Gaussian-moment engine")  # fmt: skip
    sig = sp.Symbol("sigma", positive=True)
    (sigma,) = sp.solve(sp.Eq(cgf, t * mean + t**2 * sig**2 / 2), sig)
    add("gaussian_sigma", sigma, ("sd",), "sub-Gaussian proxy (equality in Lemma SG)", _REF,
        "derived: the CGF is exactly t mean + t^2 sigma^2/2, solved for sigma")  # fmt: skip

    # scaled Bernoulli lo + width B
    def bernoulli_e(f):
        return sp.summation(p**k * (1 - p) ** (1 - k) * f(lo + width * k), (k, 0, 1))

    b_mgf = bernoulli_e(lambda xv: sp.exp(t * xv))
    b_cgf = proved(sp.log(b_mgf), t * lo + bernoulli_log_mgf(t * width, p))
    add("bernoulli_cgf", b_cgf, ("t", "lo", "width", "p"),
        "log E exp(tX), X = lo + width Bernoulli(p)", _REF,
        "derived: sympy summation over B in {0, 1}; stable override bernoulli_log_mgf")  # fmt: skip
    add("bernoulli_mean", sp.expand(bernoulli_e(lambda xv: xv)), ("lo", "width", "p"), "E X",
        _REF, "derived: sympy summation over B in {0, 1}")  # fmt: skip
    hoeffding = "closed form from THEORY (§2-3, Hoeffding: width/2 on an interval of length width)"
    add("bernoulli_sigma", width / 2, ("width",), "Hoeffding proxy", "THEORY §2, §3", hoeffding)

    # uniform on [lo, lo + width]
    u_mgf = sp.integrate(sp.exp(t * x) / width, (x, lo, lo + width))
    if isinstance(u_mgf, sp.Piecewise):  # the branch t width != 0 (t = 0: the CGF is 0)
        u_mgf = u_mgf.args[0][0]
    u_mgf = sp.factor(sp.expand(u_mgf))
    u_cgf = proved(sp.log(u_mgf), t * lo + uniform_log_mgf(t * width))
    add("uniform_cgf", u_cgf, ("t", "lo", "width"), "log E exp(tX), X ~ Unif[lo, lo + width]",
        _REF, "derived: sympy integration; stable override uniform_log_mgf")  # fmt: skip
    u_mean = sp.simplify(sp.integrate(x / width, (x, lo, lo + width)))
    add("uniform_mean", u_mean, ("lo", "width"), "E X", _REF, "derived: sympy integration")
    add("uniform_sigma", width / 2, ("width",), "Hoeffding proxy", "THEORY §2, §3", hoeffding)


TABLE = FormulaTable("scalar-laws", SYMBOLS, _derive)
formulas, formula, compiled, expression, closed_form = TABLE.api()
