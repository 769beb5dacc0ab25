"""The Gaussian pairs of Lemma DV (THEORY §2) as data, in one dimension: the three quantities of
the lemma for a quadratic test function, and the equality case, as sympy expressions derived
from the definitions.

``Q = N(mu_Q, var_Q)``, ``P = N(mu_P, var_P)``, ``f(x) = a x + B x^2/2``:

* ``E_Q_f`` -- **derived** by the exact Gaussian-moment engine (``x = mu_Q + sqrt(var_Q) xi``):
  ``a mu_Q + B (var_Q + mu_Q^2)/2``.
* ``KL`` -- ``KL(Q || P) = E_Q[log q - log p]`` **derived** by the engine; written as
  ``(phi(var_Q/var_P) + (mu_Q - mu_P)^2/var_P)/2`` with the registered ``phi`` override, proved
  equal.
* ``logE_P_expf`` -- **derived** by sympy integration of ``e^f`` against the density of ``P``
  (with ``1/var_P - B > 0``, the condition for it to be finite); written as THEORY's
  ``a mu + B mu^2/2 + b^2/(2 (1/var_P - B)) - log(1 - var_P B)/2``, ``b = a + B mu_P``, with
  ``log1p(-var_P B)``, proved equal.
* ``dv_a``, ``dv_B`` -- **derived**: the coefficients of ``x`` and ``x^2/2`` of
  ``log q(x) - log p(x)`` (the equality case of Lemma DV, ``f = log dQ/dP + const``).

The stacked ``d``-dimensional code of :mod:`kdtheory.models.gaussian_pair_arrays` **stays
numeric** (LAPACK inverses, Cholesky factors, eigenvalues, log-determinants): these 1-d
expressions are its ``d = 1`` case and the tests check it against them at ``d = 1`` and against
50-digit mpmath matrix versions of the textbook formulas for ``d = 2..4``.
"""

from __future__ import annotations

import sympy as sp

from ..symbols import POSITIVE, REAL, Param
from .compile import log1p, phi
from .engine import gaussian_expectation
from .table import FormulaTable, proved

__all__ = ["SYMBOLS", "TABLE", "formulas", "formula", "compiled", "closed_form", "expression"]

#: The symbols of the Gaussian pairs' formulas: name -> Param (LaTeX, domain, meaning).
SYMBOLS: dict[str, Param] = {
    p.name: p
    for p in [
        Param("a", "a", REAL, r"linear coefficient of $f(x) = a x + B x^2/2$"),
        Param("B", "B", REAL, r"quadratic coefficient of $f(x) = a x + B x^2/2$"),
        Param("mu_Q", r"\mu_Q", REAL, "mean of Q"),
        Param("var_Q", r"\sigma_Q^2", POSITIVE, "variance of Q"),
        Param("mu_P", r"\mu_P", REAL, "mean of P"),
        Param("var_P", r"\sigma_P^2", POSITIVE, "variance of P"),
    ]
}

_REF = "THEORY §2 (Lemma DV)"


def _derive(add, S) -> None:
    a, B, mu_q, var_q, mu_p, var_p = (S(k) for k in ("a", "B", "mu_Q", "var_Q", "mu_P", "var_P"))
    xi = sp.Symbol("xi", real=True)
    x = sp.Symbol("x", real=True)

    def f(v):
        return a * v + B * v**2 / 2

    def log_density(v, mu, var):
        return -((v - mu) ** 2) / (2 * var) - sp.log(2 * sp.pi * var) / 2

    x_q = mu_q + sp.sqrt(var_q) * xi
    engine = "derived: exact Gaussian-moment engine"
    add("E_Q_f", gaussian_expectation(sp.expand(f(x_q)), [xi]), ("a", "B", "mu_Q", "var_Q"),
        "E_Q f", _REF, engine)  # fmt: skip

    kl = gaussian_expectation(
        sp.expand(log_density(x_q, mu_q, var_q) - log_density(x_q, mu_p, var_p)), [xi]
    )
    kl_form = proved(kl, (phi(var_q / var_p) + (mu_q - mu_p) ** 2 / var_p) / 2)
    add("KL", kl_form, ("mu_Q", "var_Q", "mu_P", "var_P"), "KL(Q || P)", _REF,
        engine + " of E_Q[log q - log p]; stable override phi")  # fmt: skip

    h = sp.Symbol("h", positive=True)  # 1/var_P - B > 0
    integrand = sp.exp(f(x) + log_density(x, mu_p, var_p)).subs(B, 1 / var_p - h)
    mgf = sp.integrate(sp.expand(integrand), (x, -sp.oo, sp.oo), conds="none")
    log_mgf = sp.expand_log(sp.log(sp.simplify(mgf)), force=True).subs(h, 1 / var_p - B)
    b = a + B * mu_p
    form = a * mu_p + B * mu_p**2 / 2 + b**2 / (2 * (1 / var_p - B)) - log1p(-var_p * B) / 2
    add("logE_P_expf", proved(log_mgf, form), ("a", "B", "mu_P", "var_P"),
        "log E_P exp f (finite iff B < 1/var_P)", _REF,
        "derived: sympy integration against the density of P")  # fmt: skip

    ratio = sp.Poly(sp.expand(log_density(x, mu_q, var_q) - log_density(x, mu_p, var_p)), x)
    how = "derived: coefficients of log q(x) - log p(x)"
    add("dv_a", sp.factor(ratio.coeff_monomial(x)), ("mu_Q", "var_Q", "mu_P", "var_P"),
        "a of f = log dQ/dP + const (DV equality)", _REF, how)  # fmt: skip
    add("dv_B", sp.factor(2 * ratio.coeff_monomial(x**2)), ("var_Q", "var_P"),
        "B of f = log dQ/dP + const (DV equality)", _REF, how)  # fmt: skip


TABLE = FormulaTable("gaussian-pair", SYMBOLS, _derive)
formulas, formula, compiled, expression, closed_form = TABLE.api()
