"""Model A's joint CGF and smoothing quantities as data (THEORY §3, §4, §6.5, §6.6; issue 11).

Same conventions as :mod:`kdtheory.formulas.gaussian_mean` (its :data:`SYMBOLS`, its
:class:`Formula`; one coordinate, then summed over the ``d`` coordinates; vectors enter through
squared norms).  The CGF quantities are written in ``v = s^2/n`` (and ``n`` for the
chi-square count), the arguments of the array code of :mod:`kdtheory.models.gaussian_cgf`.

**What is derived, what is assembled.**

* ``joint_cgf`` (THEORY §6.5): per coordinate the gap is
  ``g_j = theta-free Gaussian chaos in (eta, xi) + s^2 - S_{D,j}`` with ``eta`` the data noise,
  ``xi`` the kernel noise (the gap is built from the engine's population risk, exactly as
  :mod:`~kdtheory.formulas.gaussian_mean` builds it).  ``log E exp(theta g_j)`` over ``(xi, eta)``
  is *derived* by :func:`~kdtheory.formulas.engine.gaussian_log_mgf` (iterated one-dimensional
  Gaussian integrals by ``sympy.integrate``: completing the square); its finiteness condition is
  ``p(theta) > 0``, so ``p`` is derived, not typed.  ``S_{D,j} = v chi^2_{n-1}`` (Cochran;
  its mean ``(n-1) v`` is checked against the engine's ``E S_D``): the log-MGF of one
  ``-theta v zeta^2`` is derived the same way and *multiplied by* ``n - 1`` (independence).  The
  coordinate's offset ``c`` enters quadratically; the sum over coordinates gives ``||c_K||^2``.
  The THEORY form is then proved equal (``simplify``); it is *stored* as ``centred_cgf +
  theta gen`` (proved equal too), since the THEORY form cancels between ``theta d n v`` and
  ``log p(theta)`` at small ``theta``.
* ``chaos_mu_plus``/``chaos_mu_minus``: the eigenvalues of the quadratic form of ``g_j`` in
  ``(eta, xi)`` (``sympy.Matrix.eigenvals``), proved to factor ``p(theta) = (1 - 2 theta mu_+)
  (1 - 2 theta mu_-)``; they are *stored* in the cancellation-free shape (the root of larger
  modulus by the quadratic formula, the other from ``mu_+ mu_- = -tau^2 v``), each branch proved
  equal to the eigenvalue.  The domain ends are the roots of ``p`` (``sympy.solve``, proved to be
  ``1/(2 mu_±)``) and ``-1/(2v)`` (the chi-square's condition, absent for ``n = 1``).
* ``centred_cgf`` (``Lambda = joint_cgf - theta gen``): the cancellation-free form with the
  registered override ``log1pmx(x) = log(1+x) - x``, proved equal to the derived difference.
  It is stored as two parts (the chi-square part ``centred_cgf_sd``, zero for ``n = 1``, and
  ``centred_cgf_gauss``) so that array code can leave the first out where ``n = 1``.
* ``gap_variance`` by the moment engine (``E (g - E g)^2``; ``(n - 1)`` copies of
  ``Var(v zeta^2)``); the sub-gamma scales ``b_g`` assembled from the eigenvalues (THEORY §6.5);
  ``central_cgf`` is ``joint_cgf`` at ``theta = -eta`` (``eta_c`` is its positive root, THEORY §4).
* Smoothing (THEORY §6.6): ``smoothing_bound`` is Theorem S''s ``gen(T^rho) +
  sqrt(2 Esigma2(T^rho) K_n(S || T^rho))`` with Model A's formulas substituted (the smoothed
  teacher has ``tau_T^2 + rho^2``), proved equal to ``gen_T + 2 sqrt(d v) sqrt(E||Delta||^2 +
  d h(u))``; ``smoothing_h`` is ``u phi(tau_S^2/u)``; ``optimal_radius`` from ``sympy.solve`` of
  ``h'(u) = 0``; ``tightness_radius`` from ``sympy.solve`` of ``h(u) = h(tau_T^2)`` (a Lambert-W
  root, ``W_0`` the branch with ``u > tau_S^2``), stored with the registered override
  ``tightness_ratio`` (the series near ``t -> 1``).

Derived once on first use (``functools.cache``).
"""

from __future__ import annotations

import functools

import sympy as sp

from .cache import derivation
from .compile import Compiled, compile_expr, log1pmx, phi, tightness_ratio
from .engine import gaussian_expectation, gaussian_log_mgf
from .gaussian_mean import SYMBOLS, _proved, population_risk
from .gaussian_mean import formula as _mean_formula
from .table import Formula

__all__ = ["formulas", "formula", "compiled", "compiled_derivative"]

_HOW = "derived from the definitions (kdtheory.formulas.gaussian_cgf; see the module doc)"

_eta, _xi, _zeta = sp.symbols("eta_n xi zeta", real=True)  # independent N(0, 1)


def _s(name: str) -> sp.Symbol:
    return SYMBOLS[name].symbol


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.simplify(sp.expand(a - b)) == 0


@derivation("gaussian-mean-cgf")
def formulas() -> dict[str, Formula]:
    """The joint-CGF and smoothing formulas of Model A by name, derived once (see the module doc)."""
    S = _s
    d, n, v, a, tau, ck2 = S("d"), S("n"), S("v"), S("a"), S("tau"), S("c_K2")
    th, eta = S("theta"), S("eta")
    c, w, s_d = sp.Symbol("c", real=True), sp.Symbol("w", real=True), sp.Symbol("S_D")
    m, s = S("m"), S("s")
    out: dict[str, Formula] = {}

    def add(name, expr, args, meaning, ref):
        expr = sp.sympify(expr)
        extra = {str(x) for x in expr.free_symbols} - set(args)
        if extra:
            raise ArithmeticError(f"{name}: unexpected symbols {sorted(extra)}")
        out[name] = Formula(name, expr, tuple(args), meaning, ref, _HOW, SYMBOLS)

    # -- the gap of one coordinate as a chaos in (eta, xi) and S_D (THEORY §6, §6.5) ---------------
    to_v = {s: sp.sqrt(n * v)}
    l_mu = population_risk().subs(to_v)
    zbar = m + sp.sqrt(v) * _eta
    kernel_w = a * zbar + (c - (a - 1) * m) + tau * _xi  # b = c - (a - 1) m: offset c_K = c
    g1 = sp.expand(l_mu.subs(w, kernel_w) - ((kernel_w - zbar) ** 2 + s_d))
    if m in g1.free_symbols:
        raise ArithmeticError(f"the gap depends on m beyond the offset: {g1}")
    gauss = g1.subs(s_d, 0)  # the chaos in (eta, xi) plus s^2
    sd_one = v * _zeta**2  # S_{D,j} = v chi^2_{n-1}: one of its n - 1 terms
    e_sd = (n - 1) * gaussian_expectation(sd_one, [_zeta])
    gen_v = _mean_formula("gen").expr.subs(to_v)
    if not _same(d * (gaussian_expectation(gauss, [_eta, _xi]) - e_sd), gen_v):
        raise ArithmeticError("E g from the chi-square S_D differs from the derived gen")
    args = ("theta", "a", "tau", "c_K2", "d", "n", "v")

    # -- log E exp(theta g): derived (completing the square), one coordinate then summed -------------
    lg, conds = gaussian_log_mgf(th * gauss, [_xi, _eta])
    lsd, sd_conds = gaussian_log_mgf(-th * sd_one, [_zeta])
    if len(conds) != 1 or len(sd_conds) != 1:
        raise ArithmeticError(f"unexpected domain conditions {conds}, {sd_conds}")
    p = _proved(conds[0], 1 - 2 * th * (2 * a - 1) * v - 4 * th**2 * tau**2 * v)
    _proved(sd_conds[0], 1 + 2 * th * v)
    poly_c = sp.Poly(sp.expand(lg), c)
    if poly_c.degree() != 2 or sp.simplify(poly_c.coeff_monomial(c)) != 0:
        raise ArithmeticError(f"log E exp(theta g_j) is not even quadratic in c: {lg}")
    gauss_sum = d * poly_c.coeff_monomial(1) + ck2 * poly_c.coeff_monomial(c**2)
    joint_gauss = _proved(gauss_sum, th * d * n * v - (d / 2) * sp.log(p) + 2 * th**2 * v * ck2 / p)
    joint_sd = _proved(d * (n - 1) * lsd, -(d * (n - 1) / 2) * sp.log(1 + 2 * th * v))
    ref = "THEORY §6.5"
    add("cgf_p", p, ("theta", "a", "tau", "v"), "p(theta), the CGF's quadratic factor", ref)

    # -- the chaos eigenvalues and the domain ---------------------------------------------------------
    quad = sp.Poly(gauss, _eta, _xi)
    form = sp.Matrix(
        [
            [quad.coeff_monomial(_eta**2), quad.coeff_monomial(_eta * _xi) / 2],
            [quad.coeff_monomial(_eta * _xi) / 2, quad.coeff_monomial(_xi**2)],
        ]
    )
    eig = list(form.eigenvals())
    bb = (2 * a - 1) * v  # mu_± = (bb ± root)/2
    root = sp.sqrt(bb**2 + 4 * tau**2 * v)
    mu_p, mu_m = (bb + root) / 2, (bb - root) / 2
    if len(eig) != 2 or not (
        (_same(eig[0], mu_p) and _same(eig[1], mu_m))
        or (_same(eig[0], mu_m) and _same(eig[1], mu_p))
    ):
        raise ArithmeticError(f"chaos eigenvalues {eig} differ from {mu_p}, {mu_m}")
    if not _same(p, (1 - 2 * th * mu_p) * (1 - 2 * th * mu_m)):
        raise ArithmeticError("p(theta) does not factor over the chaos eigenvalues")
    big = (sp.Abs(bb) + root) / 2  # no cancellation; mu_+ mu_- = -tau^2 v
    abs_b = big.atoms(sp.Abs).pop()  # sympy writes |(2a - 1) v| as v |2a - 1|
    for sign in (1, -1):
        big_b = big.subs(abs_b, sign * abs_b.args[0])
        stable_p = big_b if sign > 0 else tau**2 * v / big_b
        stable_m = -(tau**2) * v / big_b if sign > 0 else -big_b
        if not (_same(stable_p, mu_p) and _same(stable_m, mu_m)):
            raise ArithmeticError("the stable eigenvalue forms differ from the eigenvalues")
    nonneg = sp.GreaterThan(2 * a - 1, 0)
    mu_plus = sp.Piecewise((big, nonneg), (tau**2 * v / big, True))
    mu_minus = sp.Piecewise((-(tau**2) * v / big, nonneg), (-big, True))
    eig_args = ("a", "tau", "v")
    add("chaos_mu_plus", mu_plus, eig_args, "mu_+ > 0, chaos eigenvalue of g (d times)", ref)
    add("chaos_mu_minus", mu_minus, eig_args, "mu_- < 0, chaos eigenvalue of g (d times)", ref)
    ends = sp.solve(p, th)
    want = (1 / (2 * mu_p), 1 / (2 * mu_m))
    if len(ends) != 2 or not any(
        _same(ends[0], x) and _same(ends[1], y) for x, y in (want, want[::-1])
    ):
        raise ArithmeticError(f"the roots {ends} of p are not 1/(2 mu_±)")
    lo_gauss = 1 / (2 * mu_minus)
    lo = sp.Piecewise((lo_gauss, sp.Eq(n, 1)), (sp.Max(lo_gauss, -1 / (2 * v)), True))
    dom_args = ("a", "tau", "n", "v")
    add("cgf_lo", lo, dom_args, "lower end of the CGF's (open) domain", ref)
    add("cgf_hi", 1 / (2 * mu_plus), ("a", "tau", "v"), "upper end of the CGF's domain", ref)

    # -- the centred CGF, cancellation-free (registered override log1pmx) ------------------------------
    q = p - 1  # sympy's Add drops 1 - 1: q keeps the factor 2a - 1 (no cancellation at a = 1/2)
    e_gauss = d * gaussian_expectation(gauss, [_eta, _xi])
    cen_sd = _proved(joint_sd + th * d * e_sd, -(d * (n - 1) / 2) * log1pmx(2 * th * v))
    cen_gauss = _proved(
        joint_gauss - th * e_gauss,
        -(d / 2) * log1pmx(q) + 2 * d * th**2 * tau**2 * v + 2 * th**2 * v * ck2 / (1 + q),
    )
    # the uncentred CGF stored as Lambda + theta E[.] (the THEORY form above, proved equal, cancels
    # between theta d n v and log p for small theta)
    e_gauss = sp.factor(e_gauss)
    stable_gauss = _proved(joint_gauss, cen_gauss + th * e_gauss)
    stable_sd = _proved(joint_sd, cen_sd - th * d * e_sd)
    add("joint_cgf_gauss", stable_gauss, args, "log E exp(theta g) without the S_D part", ref)
    add("joint_cgf_sd", stable_sd, args, "the S_D part of log E exp(theta g) (0 for n = 1)", ref)
    joint = _proved(joint_gauss + joint_sd, cen_sd + cen_gauss + th * gen_v)
    add("joint_cgf", joint, args, "log E exp(theta g), joint law", ref)
    add("cgf_q", q, ("theta", "a", "tau", "v"), "q = p(theta) - 1, the log1pmx argument", ref)
    add("centred_cgf_sd", cen_sd, args, "the S_D part of Lambda (0 for n = 1)", "THEORY §3, §6.5")
    add("centred_cgf_gauss", cen_gauss, args, "Lambda without the S_D part", "THEORY §3, §6.5")
    add(
        "centred_cgf",
        cen_sd + cen_gauss,
        args,
        "Lambda(theta) = log E exp(theta (g - gen)), cancellation-free",
        "THEORY §3, §6.5",
    )

    # -- Var g (moment engine) and the sub-gamma envelope -------------------------------------------
    var1 = gaussian_expectation(
        sp.expand((gauss - gaussian_expectation(gauss, [_eta, _xi])) ** 2), [_eta, _xi]
    )
    var_sd = gaussian_expectation(
        sp.expand((sd_one - gaussian_expectation(sd_one, [_zeta])) ** 2), [_zeta]
    )
    pv = sp.Poly(sp.expand(var1), c)
    var_sum = d * pv.coeff_monomial(1) + ck2 * pv.coeff_monomial(c**2) + d * (n - 1) * var_sd
    var = _proved(
        var_sum, 4 * tau**2 * d * v + 4 * v * ck2 + 2 * d * v**2 * ((2 * a - 1) ** 2 + n - 1)
    )
    vargs = ("a", "tau", "c_K2", "d", "n", "v")
    add("gap_variance", var, vargs, "Var g under the joint law (= V_g)", ref)
    add("b_g_upper", 2 * sp.Max(mu_plus, 0), eig_args, "sub-gamma scale, upper side", ref)
    add("b_g_lower", 2 * sp.Max(-mu_minus, v), eig_args, "sub-gamma scale, lower side", ref)
    add(
        "central_cgf",
        joint.subs(th, -eta),
        ("eta", "a", "tau", "c_K2", "d", "n", "v"),
        "log E exp(-eta g); eta_c is its positive root",
        "THEORY §4, §6.6",
    )
    # loss-level central constant (THEORY §6.6): per coordinate, with Z = m + s zeta,
    # log E exp(-eta (l(w, Z) - l(m, Z))) = -eta (1 - 2 eta s^2) (w - m)^2 by the engine, <= 0
    # for every w iff its (w - m)^2 coefficient is <= 0: the edge is the positive root in eta
    z = S("m") + S("s") * _zeta
    loss_mgf, _ = gaussian_log_mgf(sp.expand(-eta * ((w - z) ** 2 - (S("m") - z) ** 2)), [_zeta])
    coef = sp.Poly(sp.expand(loss_mgf), w).coeff_monomial(w**2)
    (edge,) = [r for r in sp.solve(coef, eta) if r.is_positive]
    add(
        "loss_central_constant",
        edge,
        ("s",),
        "largest eta with E exp(-eta (l(w,Z) - l(m,Z))) <= 1 for every w",
        "THEORY §6.6",
    )

    # -- smoothing (THEORY §5, §6.6) ----------------------------------------------------------------
    _smoothing(out, add)
    return out


def _smoothing(out, add) -> None:
    S = _s
    rho, u, t = S("rho"), S("u"), S("t")
    tau_s, tau_t, a_t = S("tau_S"), S("tau_T"), S("a_T")
    d, n, s = S("d"), S("n"), S("s")
    ref = "THEORY §5, §6.6"
    smoothed = {tau_t: sp.sqrt(tau_t**2 + rho**2)}
    gen_t = _mean_formula("gen").expr.subs(S("a"), a_t)
    if gen_t.has(tau_t):  # Sh_rho = gen(T^rho) - gen(T) = 0 in Model A
        raise ArithmeticError("gen depends on the kernel's width")
    esig = _mean_formula("Esigma2").expr.subs(smoothed)
    k_n = _mean_formula("K_n").expr.subs(smoothed)
    v = s**2 / n
    # E||Delta||^2 = ||c_Delta||^2 + da^2 d v; B(rho) = gen_T + sqrt(2 esig k_n), Sh_rho = 0
    e_delta = S("c_Delta2") + (S("a_S") - a_t) ** 2 * d * v
    h = u * phi(tau_s**2 / u)
    readable = gen_t + 2 * sp.sqrt(d * v) * sp.sqrt(e_delta + d * h.subs(u, tau_t**2 + rho**2))
    from .compile import definition

    square = definition(2 * esig * k_n - (readable - gen_t) ** 2)
    if not _same(sp.expand_log(sp.expand(square), force=True), 0):
        raise ArithmeticError("B(rho) differs from its THEORY §6.6 form")
    add(
        "smoothing_bound",
        readable,
        ("rho", "c_Delta2", "a_S", "a_T", "tau_S", "tau_T", "d", "n", "s"),
        "B(rho), Theorem S' on gen_S with the smoothed teacher (tau_T^2 + rho^2)",
        ref,
    )
    h_def = tau_s**2 - u - u * sp.log(tau_s**2 / u)
    add("smoothing_h", _proved(h_def, h), ("u", "tau_S"), "h(u) = u phi(tau_S^2/u)", ref)
    # rho_*: h'(u) = 0 at u = tau_S^2 (h convex, so B is smallest there when tau_S > tau_T)
    crit = sp.solve(sp.diff(h_def, u), u)
    if crit != [tau_s**2]:
        raise ArithmeticError(f"h'(u) = 0 at {crit}, expected tau_S^2")
    rho_star = sp.sqrt(sp.Max(crit[0] - tau_t**2, 0))
    add("optimal_radius", rho_star, ("tau_S", "tau_T"), "rho_*, the minimiser of B", ref)
    # rho_0^sm: h(u) = h(tau_T^2), u = x tau_S^2, h/tau_S^2 = 1 - x + x log x; t = tau_T^2/tau_S^2
    x = sp.Symbol("x", positive=True)
    c = sp.Symbol("c", real=True)
    sols = sp.solve(1 - x + x * sp.log(x) - c, x)
    if len(sols) != 1 or not sols[0].has(sp.LambertW):
        raise ArithmeticError(f"unexpected roots {sols}")
    x0 = sols[0].subs(c, 1 - t + t * sp.log(t))
    ratio = _proved(sp.expand(x0 - t), tightness_ratio(t))  # W_0: the root x > 1 (> t)
    add("tightness_ratio", ratio, ("t",), "(rho_0^sm)^2 / tau_S^2 at t = tau_T^2/tau_S^2", ref)
    add(
        "tightness_radius",
        # sqrt(tau_S^2 r), as THEORY writes it (sympy would pull tau_S out of the root: one
        # rounding more, an ulp off the golden value)
        sp.sqrt(sp.UnevaluatedExpr(tau_s**2) * ratio.subs(t, tau_t**2 / tau_s**2)),
        ("tau_S", "tau_T"),
        "rho_0^sm for tau_S > tau_T (0 otherwise)",
        ref,
    )


def formula(name: str) -> Formula:
    """The formula called ``name``; ``KeyError`` lists the known names."""
    table = formulas()
    try:
        return table[name]
    except KeyError:
        raise KeyError(
            f"unknown Model A CGF quantity {name!r}; known: {', '.join(table)}"
        ) from None


@functools.cache
def compiled(name: str) -> Compiled:
    """``formula(name)`` compiled once (positional args: ``Formula.args``), without common
    subexpression elimination: ``p(theta)`` and ``q = p - 1`` are then rounded the same way in
    every CGF formula as in ``cgf_p``/``cgf_q``, so the array code's domain test (``p > 0``,
    ``1 + q > 0`` as computed) holds inside each of them."""
    f = formula(name)
    return compile_expr(f.expr, [SYMBOLS[k].symbol for k in f.args], cse=False)


@functools.cache
def compiled_derivative(name: str, wrt: str) -> Compiled:
    """sympy's derivative of ``formula(name)`` in ``wrt``, compiled once (same arguments, no
    common subexpression elimination, as :func:`compiled`)."""
    f = formula(name)
    deriv = sp.diff(f.expr, SYMBOLS[wrt].symbol)
    return compile_expr(deriv, [SYMBOLS[k].symbol for k in f.args], cse=False)
