"""The ball kernel (THEORY §5, §6 A-bump; :mod:`kdtheory.models.ball_kernel`) as data: its
quantities as sympy expressions derived from the definitions.

Data ``Z_i ~ N(m, s^2 I_d)``, the bump loss ``l(w, z) = 1 - exp(-||w - z||^2/(2 omega^2))`` and
kernels uniform on a ball, ``W | D ~ Uniform(B(a Zbar + b, R))``, i.e. ``W - m = a delta + c_K +
U`` with ``U ~ Unif(B(0, R))``.

* ``v_tr``, ``v_te`` -- **derived**: Model A-bump's variances (:mod:`kdtheory.formulas.bump`,
  from the Gaussian-moment engine) at ``tau = 0``: given ``U``, ``W - Z_i`` and ``W - Z'`` are
  Gaussian with mean ``c_K + U`` and these per-coordinate variances.
* ``Psi`` -- **derived**: ``E_U Phi`` with ``Phi`` the bump formula at the offset ``c_K + U``,
  in polar coordinates (the radius ``r = ||U||`` has density ``d r^(d-1)/R^d``, the uniform
  direction averages ``exp(-c.e r/q)`` to ``0F1(; d/2; ck2 r^2/(4 q^2))``, checked against
  ``cosh`` at ``d = 1`` and ``sinh(z)/z`` at ``d = 3``), then ``t = r^2/q``: sympy proves the
  integrand equal to that of the registered function
  :class:`~kdtheory.formulas.compile.ball_average`, whose definition is
  ``(2 pi omega^2)^(d/2)/vol(B(0, R)) P(chi'^2_d(ck2/q) <= R^2/q)`` with the non-central
  chi-square probability as the integral of its density.  The registered function is the whole
  ball average rather than the bare CDF because its double-precision evaluation needs the
  prefactor (``~R^-d``, overflowing) and the probability (underflowing) together in log space,
  plus a small-ball expansion and an extended-precision far tail (:mod:`kdtheory.formulas.ncx2`):
  these numerics stay numeric, inside the override, tested against the definition at 50 digits.
* ``gen`` -- **derived**: ``E l(W, Z') - E l(W, Z_1) = Psi(v_tr) - Psi(v_te)`` (exchangeability
  of the ``Z_i``, then conditioning on ``U``).
* ``K_n`` -- **derived**: ``KL_D = E_S log(p_S/p_T)`` with the uniform densities ``1/vol(B)``
  (``vol(B(0, R)) = pi^(d/2) R^d/Gamma(d/2 + 1)``) when the student's ball lies in the
  teacher's: ``log(vol_T/vol_S) = d log(R_T/R_S)`` (one log of the ratio).
* ``centre_shift`` -- **derived**: the centres ``a Zbar + b_S`` and ``a Zbar + b_T`` (same ``a``)
  differ by ``b_S - b_T`` for every dataset: ``sqrt(||b_S - b_T||^2)``.
* ``inside`` -- **derived**: the student's ball lies in the teacher's iff its farthest point
  from the teacher's centre, ``max_{|u| <= R_S} (shift + u) = shift + R_S`` (along the centre
  line; Cauchy-Schwarz for the other directions), is within ``R_T`` (a relation; with
  ``a_S != a_T`` the centres differ by ``(a_S - a_T) Zbar + const``, unbounded in ``D``).
* ``G1``, ``beta`` -- **derived**: the bump ``f(r) = exp(-r^2/(2 w^2))`` has ``sup |f'| =
  1/(w sqrt(e))`` (sympy: the critical point ``r = w``) and Hessian eigenvalues ``f''`` (radial)
  and ``f'/r`` (tangential) with ``sup |.| = 1/w^2`` (at ``r = 0``; the other critical point
  ``r = sqrt(3) w`` gives ``2 e^(-3/2)/w^2``); ``L_D`` averages bumps of width ``omega``,
  ``L_mu = 1 - C f`` with width ``sigma2 = omega^2 + s^2`` (the bump ``Phi`` at ``x = s^2``), so
  ``g = L_mu - L_D`` has ``G1 = (1/omega + C/sqrt(sigma2))/sqrt(e)``, ``beta = 1/omega^2 +
  C/sigma2`` at every ``w`` and every dataset (THEORY §5).
* ``sigma_bar`` -- a **closed form taken from THEORY** (§3, §6 A-bump): Hoeffding's scale
  ``(1 + C)/2`` of a gap in ``(-C, 1]``, ``C`` the bump's ``gap_floor``.

Nothing is derived at import (:class:`~kdtheory.formulas.table.FormulaTable`); the batch code of
:mod:`kdtheory.models.ball_kernel` evaluates the compiled functions.
"""

from __future__ import annotations

import sympy as sp

from ..symbols import POSITIVE, Domain, Param
from . import bump as _bump
from .compile import ball_average, definition
from .table import FormulaTable, proved

__all__ = ["SYMBOLS", "TABLE", "formulas", "formula", "compiled", "closed_form", "expression"]

_NONNEG = Domain(0.0, float("inf"), True, False)

#: The symbols of the ball kernel's formulas: name -> Param (LaTeX, domain, meaning); the ones it
#: shares with Model A-bump are the same objects (the same sympy symbols).
SYMBOLS: dict[str, Param] = {
    **{k: _bump.SYMBOLS[k] for k in ("d", "n", "s", "omega", "ck2", "x", "a")},
    **{
        p.name: p
        for p in [
            Param("radius", "R", POSITIVE, "radius of a ball kernel (THEORY §5)"),
            Param("R_S", "R_S", POSITIVE, "radius of the student's ball"),
            Param("R_T", "R_T", POSITIVE, "radius of the teacher's ball"),
            Param("db2", r"\|b_S - b_T\|^2", _NONNEG, "squared distance of the kernels' b"),
            Param("shift", r"\|b_S - b_T\|", _NONNEG, "distance of the two balls' centres"),
        ]
    },
}

_REF = "THEORY §5, §6 A-bump"


def _angular_average(d, z):
    """``E exp(z e_1)`` for ``e`` uniform on the unit sphere of ``R^d``: ``0F1(; d/2; z^2/4)``
    (the von Mises-Fisher normaliser), checked against its elementary forms at ``d = 1``
    (``cosh z``: the two directions ``+-1``) and ``d = 3`` (``sinh(z)/z``: ``e_1`` is uniform on
    ``[-1, 1]`` by Archimedes), by ``hyperexpand`` and ``integrate``."""
    zz, u = sp.Symbol("z", positive=True), sp.Symbol("u", real=True)
    form = sp.hyper([], [d / 2], zz**2 / 4)
    one = (sp.exp(zz) + sp.exp(-zz)) / 2
    three = sp.integrate(sp.exp(zz * u) / 2, (u, -1, 1))
    for dim, want in ((1, one), (3, three)):
        got = sp.hyperexpand(form.subs(d, dim))
        if sp.simplify((got - want).rewrite(sp.exp)) != 0:
            raise ArithmeticError(f"the angular average at d = {dim} is not {want}: {got}")
    return form.subs(zz, z)


def _derive(add, S) -> None:
    d, n, s, omega, ck2, x, a, radius = (
        S(k) for k in ("d", "n", "s", "omega", "ck2", "x", "a", "radius")
    )
    r_s, r_t, db2, shift = S("R_S"), S("R_T"), S("db2"), S("shift")
    tau = _bump.SYMBOLS["tau"].symbol
    bump = _bump.formulas()
    v_tr, v_te = (bump[k].expr.subs(tau, 0) for k in ("v_tr", "v_te"))
    how = "derived: Model A-bump's variance (Gaussian-moment engine) at tau = 0"
    add("v_tr", v_tr, ("a", "n", "s"), "per-coordinate variance of W - Z_i given U", _REF, how)
    add("v_te", v_te, ("a", "n", "s"), "per-coordinate variance of W - Z' given U", _REF, how)

    # -- Psi = E_U Phi(c_K + U): polar coordinates, then t = r^2/q --------------------------
    phi_x = bump["Phi"].expr
    q = omega**2 + x
    r = sp.Symbol("r", positive=True)
    # ||c + r e||^2 = ck2 + r^2 + 2 r c.e: the direction enters through exp(-r c.e/q) only
    integrand_r = (
        d * r ** (d - 1) / radius**d  # the density of ||U||
        * phi_x.subs(ck2, ck2 + r**2)
        * _angular_average(d, r * sp.sqrt(ck2) / q)
    )  # fmt: skip
    psi = ball_average(ck2, radius, omega, x, d)
    defn = definition(psi)
    (integral,) = defn.atoms(sp.Integral)
    (t, lo, hi) = integral.limits[0]
    integrand_t = integrand_r.subs(r, sp.sqrt(q * t)) * sp.diff(sp.sqrt(q * t), t)
    ratio = sp.powsimp(sp.expand_power_base(integrand_t / (defn / integral * integral.function),
                                            force=True), force=True)  # fmt: skip
    if sp.simplify(ratio) != 1 or lo != 0 or sp.simplify(hi - radius**2 / q) != 0:
        raise ArithmeticError(f"the ball average's integrand is not the definition's: {ratio}")
    add("Psi", psi, ("ck2", "radius", "omega", "x", "d"),
        "E_U Phi(c_K + U), U ~ Unif(B(0, R)): the ball kernel's average", _REF,
        "derived: E_U of the bump Phi in polar coordinates, t = r^2/q; the registered "
        "ball_average (definition: the non-central chi-square form)")  # fmt: skip
    gen = (1 - psi.subs(x, v_te)) - (1 - psi.subs(x, v_tr))
    add("gen", gen, ("ck2", "radius", "omega", "a", "n", "s", "d"),
        "gen of a uniform-ball kernel", _REF,
        "derived: E l(W, Z') - E l(W, Z_1), conditioning on U: Psi(v_tr) - Psi(v_te)")  # fmt: skip

    # -- the distillation divergence of nested balls ---------------------------------------
    def volume(rad):
        return sp.pi ** (d / 2) * rad**d / sp.gamma(d / 2 + 1)

    log_ratio = sp.log((1 / volume(r_s)) / (1 / volume(r_t)))  # log p_S/p_T on the student's ball
    k_n = sp.expand_log(log_ratio, force=True)  # E_S of a constant
    add("K_n", proved(k_n, d * sp.log(r_t / r_s)), ("d", "R_S", "R_T"),
        "K_n = E_D KL_D when the student's ball lies in the teacher's", "THEORY §1, §5",
        "derived: E_S log(p_S/p_T) of the uniform densities 1/vol(B); one log of the ratio")  # fmt: skip
    zbar, b_s, b_t = sp.symbols("zbar b_S b_T", real=True)  # one coordinate
    if sp.expand((a * zbar + b_s) - (a * zbar + b_t)) != b_s - b_t:
        raise ArithmeticError("the centres do not differ by b_S - b_T")
    add("centre_shift", sp.sqrt(db2), ("db2",), "||b_S - b_T||: distance of the balls' centres",
        _REF, "derived: (a Zbar + b_S) - (a Zbar + b_T) = b_S - b_T per coordinate")  # fmt: skip
    u = sp.Symbol("u", real=True)
    farthest = sp.maximum(shift + u, u, sp.Interval(-r_s, r_s))
    add("inside", sp.Le(farthest, r_t), ("shift", "R_S", "R_T"),
        "the student's ball lies in the teacher's (same a)", _REF,
        "derived: max over the student's ball of the distance to the teacher's centre")  # fmt: skip

    # -- sharpness constants and Hoeffding's scale ------------------------------------------
    rr, w = sp.symbols("r w", positive=True)
    bell = sp.exp(-(rr**2) / (2 * w**2))  # 1 - loss, at distance r
    slope = -sp.diff(bell, rr)  # ||grad||
    (r_star,) = sp.solve(sp.diff(slope, rr), rr)
    if slope.subs(rr, 0) != 0 or sp.limit(slope, rr, sp.oo) != 0:
        raise ArithmeticError("the bump's slope does not vanish at 0 and infinity")
    grad_sup = sp.simplify(slope.subs(rr, r_star))
    radial, tangential = sp.diff(bell, rr, 2), sp.simplify(sp.diff(bell, rr) / rr)
    crit = [c for c in sp.solve(sp.diff(radial, rr), rr) if c.is_positive]
    values = [sp.limit(sp.Abs(h), rr, 0) for h in (radial, tangential)]
    values += [sp.Abs(radial.subs(rr, c)) for c in crit]
    hess_sup = sp.Max(*[sp.simplify(v) for v in values])
    if sp.simplify(sp.diff(sp.Abs(tangential), rr)) == 0 or hess_sup != 1 / w**2:
        raise ArithmeticError(f"sup of the bump's Hessian eigenvalues is not 1/w^2: {hess_sup}")
    floor = bump["gap_floor"].expr  # C
    sig2 = omega**2 + s**2
    l_mu = 1 - phi_x.subs({x: s**2, ck2: rr**2})  # the population risk at ||w - m|| = r
    if sp.simplify(1 - l_mu - floor * bell.subs(w, sp.sqrt(sig2))) != 0:
        raise ArithmeticError("L_mu is not 1 - C f with the width sqrt(omega^2 + s^2)")
    g1 = grad_sup.subs(w, omega) + floor * grad_sup.subs(w, sp.sqrt(sig2))
    beta = hess_sup.subs(w, omega) + floor * hess_sup.subs(w, sp.sqrt(sig2))
    how = "derived: sup of the bump's slope / Hessian eigenvalues, L_D plus C times L_mu's"
    # written (unevaluated) and compiled without cse exactly as the batch code always computed
    # them, so that the audit's numbers are bit for bit those of before the formula module
    g1_form = sp.Mul(1 / omega + floor / sp.sqrt(sig2), sp.Pow(sp.exp(sp.S.Half), -1, evaluate=False),
                     evaluate=False)  # fmt: skip
    beta_form = sp.Add(sp.Pow(omega**2, -1, evaluate=False),
                       sp.Mul(floor, sp.Pow(sig2, -1, evaluate=False), evaluate=False),
                       evaluate=False)  # fmt: skip
    add("G1", proved(g1, g1_form), ("d", "s", "omega"),
        "bound on ||grad g|| at every w and dataset", _REF, how, cse=False)  # fmt: skip
    add("beta", proved(beta, beta_form), ("d", "s", "omega"),
        "bound on ||Hess g||_op at every w and dataset (the sharpness)", _REF, how, cse=False)  # fmt: skip
    add("sigma_bar", (1 + floor) / 2, ("d", "s", "omega"),
        "Hoeffding's sub-Gaussian scale of a gap in (-C, 1]", "THEORY §3, §6 A-bump",
        "closed form from THEORY (Hoeffding: range/2 on (-C, 1])")  # fmt: skip


TABLE = FormulaTable("ball-kernel", SYMBOLS, _derive)
formulas, formula, compiled, expression, closed_form = TABLE.api()
