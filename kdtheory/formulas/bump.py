"""Model A-bump (THEORY §6 A-bump) as data: the bump loss's quantities as sympy expressions
derived from the definitions.

Data and kernels are Model A's (``Z_i ~ N(m, s^2 I_d)``, ``W | D ~ N(a Zbar + b, tau^2 I_d)``),
the loss ``l(w, z) = 1 - exp(-||w - z||^2 / (2 omega^2))``.

* ``Phi`` -- **derived**: ``E exp(-||Y||^2/(2 omega^2))`` for ``Y ~ N(c, x I_d)`` by sympy
  integration of one coordinate against its normal density (``omega/sqrt(omega^2 + x)
  exp(-c_j^2/(2 (omega^2 + x)))``), multiplied over the ``d`` independent coordinates (the
  exponents add up to ``||c||^2 = ck2``): THEORY's ``(omega^2/(omega^2 + x))^(d/2)
  exp(-ck2/(2 (omega^2 + x)))``, proved equal.
* ``v_tr``, ``v_te`` -- **derived** by the exact Gaussian-moment engine: the per-coordinate
  variance of ``W - Z_1`` (``Zbar - m = (s/n)(eps_1 + sqrt(n - 1) zeta)``, ``Z_1 - m = s eps_1``)
  and of ``W - Z'`` (a fresh ``Z'``); both are Gaussian with mean ``c_K = (a - 1) m + b``.
* ``gen`` -- **derived**: ``E l(W, Z') - E L_D(W) = E l(W, Z') - E l(W, Z_1)`` (exchangeability
  of the ``Z_i``) ``= (1 - Phi(v_te)) - (1 - Phi(v_tr))``; written in the stable form
  ``Phi(v_te) expm1((d/2) log1p(delta/q_tr) - ck2 delta/(2 q_tr q_te))`` with the exact
  ``delta = v_te - v_tr = 2 a s^2/n`` (registered ``log1p``/``expm1`` overrides), proved equal
  (the plain difference of the two ``Phi`` cancels when ``a s^2/n`` is small).
* ``gap_floor`` -- **derived**: ``L_mu(w) = 1 - Phi`` at ``x = s^2``, ``ck2 = ||w - m||^2``, at
  least ``1 - C`` with ``C`` its value at ``ck2 = 0``; with ``L_D in [0, 1)`` the gap lies in
  ``(-C, 1]``.
* ``hoeffding_proxy`` -- a **closed form taken from THEORY** (§3, §6 A-bump): Hoeffding's lemma on
  the range ``(-C, 1]``, ``(1 + C)^2/4``.

The ball kernel's average (THEORY §5 with the bump loss) is a formula of
:mod:`kdtheory.formulas.ball`, derived from ``Phi`` here.

Nothing is derived at import (:class:`~kdtheory.formulas.table.FormulaTable`); the batch
functions of :mod:`kdtheory.models.bump` evaluate the compiled functions.
"""

from __future__ import annotations

import sympy as sp

from ..symbols import PARAMS, POSITIVE, REAL, Domain, Param
from .compile import definition, expm1, log1p
from .engine import gaussian_expectation
from .table import FormulaTable, proved

__all__ = [
    "SYMBOLS",
    "TABLE",
    "formulas",
    "formula",
    "compiled",
    "closed_form",
    "expression",
]

_NONNEG = Domain(0.0, float("inf"), True, False)

#: The symbols of Model A-bump's formulas: name -> Param (LaTeX, domain, meaning).
SYMBOLS: dict[str, Param] = {
    p.name: p
    for p in [
        PARAMS["d"],
        PARAMS["n"],
        PARAMS["s"],
        Param("omega", r"\omega", POSITIVE, "width of the bump loss"),
        Param("ck2", r"\|c_K\|^2", _NONNEG, "squared norm of the kernel offset (a - 1) m + b"),
        Param("x", "x", _NONNEG, "per-coordinate variance of the Gaussian argument of Phi"),
        Param("a", "a", REAL, r"slope of a kernel $W \mid D \sim N(a\bar Z + b, \tau^2 I)$"),
        Param("tau", r"\tau", _NONNEG, "kernel standard deviation"),
    ]
}

_REF = "THEORY §6 A-bump"


def _derive(add, S) -> None:
    d, n, s, omega, ck2, x, a, tau = (
        S(k) for k in ("d", "n", "s", "omega", "ck2", "x", "a", "tau")
    )
    y, c = sp.symbols("y c", real=True)
    eps, eps2, zeta, xi = sp.symbols("epsilon epsilon2 zeta xi", real=True)
    # one coordinate: E exp(-Y^2/(2 omega^2)), Y ~ N(c, x)
    one = sp.integrate(
        sp.exp(-(y**2) / (2 * omega**2))
        * sp.exp(-((y - c) ** 2) / (2 * x))
        / sp.sqrt(2 * sp.pi * x),
        (y, -sp.oo, sp.oo),
        conds="none",
    )
    log_one = sp.Poly(sp.expand(sp.expand_log(sp.log(sp.simplify(one)), force=True)), c)
    if log_one.degree() != 2 or log_one.coeff_monomial(c) != 0:
        raise ArithmeticError(f"log of the coordinate integral is not even quadratic in c: {one}")
    # d independent coordinates: the constants add d times, the c_j^2 terms add up to ck2
    phi_derived = sp.exp(d * log_one.coeff_monomial(1) + log_one.coeff_monomial(c**2) * ck2)
    q = omega**2 + x
    phi_x = proved(phi_derived, (omega**2 / q) ** (d / 2) * sp.exp(-ck2 / (2 * q)), positive=True)
    add("Phi", phi_x, ("ck2", "omega", "x", "d"),
        "E exp(-||Y||^2/(2 omega^2)), Y ~ N(c_K, x I_d)", _REF,
        "derived: sympy integration per coordinate, product over coordinates")  # fmt: skip

    zbar = a * (s / n) * (eps + sp.sqrt(n - 1) * zeta) + tau * xi  # W - c_K - m (centred)
    v_tr = sp.factor(gaussian_expectation(sp.expand((zbar - s * eps) ** 2), [eps, zeta, xi]))
    v_te = sp.factor(gaussian_expectation(sp.expand((zbar - s * eps2) ** 2), [eps, eps2, zeta, xi]))
    v_tr = proved(v_tr, s**2 * (1 - 2 * a / n + a**2 / n) + tau**2)
    v_te = proved(v_te, s**2 * (1 + a**2 / n) + tau**2)
    engine = "derived: exact Gaussian-moment engine"
    add("v_tr", v_tr, ("a", "tau", "n", "s"), "per-coordinate variance of W - Z_i", _REF, engine)
    add("v_te", v_te, ("a", "tau", "n", "s"), "per-coordinate variance of W - Z'", _REF, engine)
    gen = (1 - phi_x.subs(x, v_te)) - (1 - phi_x.subs(x, v_tr))
    # stable form: Phi(q1) - Phi(q2) = Phi(q2) expm1(log Phi(q1) - log Phi(q2)), the log-ratio
    # from the exact difference v_te - v_tr = 2 a s^2/n (no cancellation of the two Phi's);
    # proved in generic variances, then the derived difference substituted
    x1, x2, gap = sp.symbols("x1 x2 delta", positive=True)
    q1, q2 = omega**2 + x1, omega**2 + x2
    log_ratio = d / 2 * log1p(gap / q1) - ck2 * gap / (2 * q1 * q2)
    generic = expm1(log_ratio) * phi_x.subs(x, x2)
    # Phi1 - Phi2 = Phi2 (exp(log Phi1 - log Phi2) - 1): prove log_ratio = log Phi1 - log Phi2
    logs = sp.log(phi_x.subs(x, x1)) - sp.log(phi_x.subs(x, x2))
    check = sp.expand_log(logs - definition(log_ratio.subs(gap, x2 - x1)), force=True)
    if sp.simplify(sp.expand_log(sp.simplify(check), force=True)) != 0:
        raise ArithmeticError("the stable form of gen is not the log-ratio of the two Phi")
    delta = sp.factor(v_te - v_tr)  # 2 a s^2/n: substituting it for x2 - x1 is exact
    stable = generic.subs({gap: delta, x1: v_tr, x2: v_te}, simultaneous=True)
    # the generic identity at x1 = v_tr, x2 = v_te, with x2 - x1 = delta exactly
    if (
        sp.simplify(delta - (v_te - v_tr)) != 0
        or sp.expand(gen - (phi_x.subs(x, v_tr) - phi_x.subs(x, v_te))) != 0
    ):
        raise ArithmeticError("gen is not Phi(v_tr) - Phi(v_te) with v_te - v_tr = delta")
    add("gen", stable, ("a", "tau", "ck2", "n", "s", "omega", "d"),
        "gen of a Gaussian kernel", _REF,
        "derived: E l(W, Z') - E l(W, Z_1) from Phi, v_tr, v_te; stable form Phi(v_te) "
        "expm1(log Phi(v_tr) - log Phi(v_te)) with v_te - v_tr = 2 a s^2/n exact")  # fmt: skip
    floor = phi_x.subs({x: s**2, ck2: 0})
    if sp.simplify(sp.diff(phi_x, ck2) / phi_x + 1 / (2 * q)) != 0:  # Phi decreases in ck2
        raise ArithmeticError("Phi is not decreasing in ck2")
    add("gap_floor", floor, ("d", "s", "omega"), "C: the gap lies in (-C, 1]", _REF,
        "derived: sup_w (1 - L_mu(w)) = Phi at x = s^2, ck2 = 0")  # fmt: skip
    g_lo, g_hi = -floor, sp.Integer(1)  # the range (-C, 1] of the gap
    add("hoeffding_proxy", (g_hi - g_lo) ** 2 / 4, ("d", "s", "omega"),
        "Hoeffding proxy (range of g)^2/4 under any law", "THEORY §3, §6 A-bump",
        "closed form from THEORY (Hoeffding's lemma on the range (-C, 1])")  # fmt: skip


TABLE = FormulaTable("bump", SYMBOLS, _derive)
formulas, formula, compiled, expression, closed_form = TABLE.api()
