"""Model A (THEORY §6) as data: every quantity a sympy expression *derived* from the definitions.

Data ``Z_i ~ N(m, s^2 I_d)``, loss ``l(w, z) = ||w - z||^2``, kernels
``W | D ~ N(a Zbar + b, tau^2 I_d)``.  Everything factorises over the ``d`` coordinates
(isotropic data and kernels), so each quantity is derived for **one coordinate** with its own
``m, b`` (scalars), with ``delta = Zbar - m = sqrt(v) eta``, ``v = s^2/n``, and the exact
Gaussian-moment engine (:func:`kdtheory.formulas.engine.gaussian_expectation`) takes every
expectation over the standard normals ``eta`` (data), ``xi`` (kernel noise), ``zeta``.  Then:

* quantities that do not depend on the coordinate's ``m, b`` (``gen``, the estimation and spread
  parts of ``K_n``, ``Esigma2``, the informations, the kernel slopes and widths) are ``d`` times
  the per-coordinate value;
* the offset part of ``K_n`` is the only one that depends on the coordinate: it is derived as a
  quadratic in ``c_Delta_j`` and summed, so vectors enter **through the squared norm**
  ``c_Delta2 = ||c_Delta||^2`` (the per-coordinate formula ``c_Delta`` gives the vector);
* the kernel intercepts (``gibbs_b``, ``kd_b_S``, ``tilt_b_S``, ``c_K``, ``c_Delta``) are
  **per-coordinate formulas**: apply them to each coordinate of the vectors (:attr:`Formula.coordinate`);
* ``K_n_kd`` (K_n of a KD student of a Gibbs teacher as a function of the hyper-parameters, for
  the design helper) has scalar prior means ``m0_T, m0_S`` (``m0 * ones(d)``) and takes ``m``
  through ``m_sq = ||m||^2`` and ``m_sum = sum_j m_j``.

Nothing is derived at import: :func:`formulas` runs the derivations once, on first use
(``functools.cache``; about a second), and :func:`compiled` compiles a formula once
(:func:`kdtheory.formulas.compile.compile_expr`).  The array code of
:mod:`kdtheory.models.gaussian_mean_arrays` evaluates these compiled functions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import sympy as sp

from ..symbols import PARAMS, POSITIVE, REAL, UNIT_CLOSED, Domain, Param
from .compile import Compiled, compile_expr, log1p, phi
from .engine import gaussian_expectation
from .table import Formula

__all__ = [
    "SYMBOLS",
    "Formula",
    "KDWeight",
    "formulas",
    "formula",
    "compiled",
    "closed_form",
    "optimal_kd_weight",
    "stationary_points",
    "expression",
]

_NONNEG = Domain(0.0, math.inf, True, False)
_UNIT_OPEN = Domain(0.0, 1.0)


def _p(name, latex, domain, meaning) -> Param:
    return Param(name, latex, domain, meaning)


#: The symbols of Model A's formulas: name -> :class:`~kdtheory.symbols.Param` (LaTeX, domain,
#: meaning).  ``d``, ``n``, ``s`` are the theory's own parameters (:data:`kdtheory.symbols.PARAMS`).
SYMBOLS: dict[str, Param] = {
    p.name: p
    for p in [
        PARAMS["d"],
        PARAMS["n"],
        PARAMS["s"],
        _p("m", "m", REAL, "data mean (one coordinate)"),
        _p("a", "a", REAL, r"slope of a kernel $W \mid D \sim N(a\bar Z + b, \tau^2 I)$"),
        _p("b", "b", REAL, "intercept of a kernel (one coordinate)"),
        _p("tau", r"\tau", POSITIVE, "kernel standard deviation"),
        _p("a_S", "a_S", REAL, "student's slope"),
        _p("b_S", "b_S", REAL, "student's intercept (one coordinate)"),
        _p("tau_S", r"\tau_S", POSITIVE, "student's standard deviation"),
        _p("a_T", "a_T", REAL, "teacher's slope"),
        _p("b_T", "b_T", REAL, "teacher's intercept (one coordinate)"),
        _p("tau_T", r"\tau_T", POSITIVE, "teacher's standard deviation"),
        _p(
            "c_Delta2",
            r"\|c_\Delta\|^2",
            _NONNEG,
            r"squared norm of the offset difference $c_\Delta = (a_S - a_T) m + b_S - b_T$",
        ),
        _p("gamma_T", r"\gamma_T", POSITIVE, "teacher's Gibbs inverse temperature"),
        _p("lam_T", r"\lambda_T", _NONNEG, "teacher's prior precision (0: flat prior)"),
        _p("m0_T", r"m_{0,T}", REAL, "teacher's prior mean (one coordinate)"),
        _p("alpha", r"\alpha", UNIT_CLOSED, "KD weight of the true-label loss"),
        _p("gamma_S", r"\gamma_S", POSITIVE, "student's Gibbs inverse temperature"),
        _p("lam_S", r"\lambda_S", _NONNEG, "student's prior precision (0: flat prior)"),
        _p("m0_S", r"m_{0,S}", REAL, "student's prior mean (one coordinate)"),
        _p("kappa", r"\kappa", REAL, r"tilt: $\mu_S = \mu_T + \kappa (\bar Z - m)$"),
        _p("m_sq", r"\|m\|^2", _NONNEG, "squared norm of the data mean"),
        _p("m_sum", r"\textstyle\sum_j m_j", REAL, "sum of the coordinates of the data mean"),
        # the joint CGF and the central condition (THEORY §4, §6.5)
        _p("v", "v", POSITIVE, "v = s^2/n, the variance of each coordinate of Zbar"),
        _p("theta", r"\theta", REAL, "argument of the joint CGF log E exp(theta g)"),
        _p(
            "c_K2", r"\|c_K\|^2", _NONNEG, "squared norm of the kernel's offset c_K = (a - 1) m + b"
        ),
        PARAMS["eta"],
        # smoothing (THEORY §5, §6.6)
        PARAMS["rho"],
        _p("u", "u", POSITIVE, "smoothed teacher variance u = tau_T^2 + rho^2"),
        _p("t", "t", _UNIT_OPEN, "variance ratio t = tau_T^2 / tau_S^2 (< 1: student wider)"),
    ]
}


def _s(name: str) -> sp.Symbol:
    return SYMBOLS[name].symbol


#: how every Model A formula was obtained (the ``how`` of its :class:`Formula`)
HOW = "derived from the definitions by the Gaussian-moment engine (kdtheory.formulas.gaussian_mean)"


# -- the derivations (one coordinate) --------------------------------------------------------------
_eta, _xi, _zeta, _eps = sp.symbols("eta xi zeta epsilon", real=True)  # independent N(0, 1)


@functools.cache
def _kl_gauss_generic():
    """``KL(N(mu1, t1^2) || N(mu2, t2^2))`` from its definition ``E_p[log p - log q]``, with
    ``x = mu1 + t1 xi`` and the log-densities ``-(x - mu)^2/(2 t^2) - log t - log(2 pi)/2``;
    in generic symbols ``(mu1, t1, mu2, t2)``, derived once."""
    mu1, mu2 = sp.symbols("mu1 mu2", real=True)
    t1, t2 = sp.symbols("t1 t2", positive=True)

    def logpdf(x, mu, t):
        return -((x - mu) ** 2) / (2 * t**2) - sp.log(t) - sp.log(2 * sp.pi) / 2

    x = mu1 + t1 * _xi
    kl = gaussian_expectation(sp.expand(logpdf(x, mu1, t1) - logpdf(x, mu2, t2)), [_xi])
    return kl, (mu1, t1, mu2, t2)


def _kl_gauss(mu1, t1, mu2, t2) -> sp.Expr:
    """The Gaussian KL of :func:`_kl_gauss_generic` at the given means and standard deviations."""
    kl, syms = _kl_gauss_generic()
    return kl.subs(dict(zip(syms, (mu1, t1, mu2, t2), strict=True)), simultaneous=True)


def _as_phi(expr: sp.Expr, x: sp.Expr) -> sp.Expr:
    """``expr`` (a function of ``x > 0`` of the shape ``c (x - 1 - log x)``) rewritten as
    ``c phi(x)``; ``ArithmeticError`` if it is not of that shape."""
    u = sp.Dummy("u", positive=True)
    e = sp.expand(sp.expand_log(sp.simplify(expr), force=True))
    c = sp.simplify(sp.expand(e.subs(sp.log(x), sp.log(u)).subs(x, u)).coeff(u, 1))
    out = c * phi(x)
    if sp.simplify(sp.expand_log(expr - out.rewrite(sp.log), force=True)) != 0:
        raise ArithmeticError(f"{expr} is not a multiple of phi({x})")
    return out


def _proved(derived: sp.Expr, form: sp.Expr) -> sp.Expr:
    """``form`` (a stable or readable shape) after checking ``simplify(derived - form) == 0``
    with the overrides expanded; ``ArithmeticError`` otherwise."""
    from .compile import definition

    diff = sp.simplify(sp.expand_log(definition(derived) - definition(form), force=True))
    if diff != 0:
        raise ArithmeticError(f"{form} differs from the derived {derived} by {diff}")
    return form


def _coeffs(mean: sp.Expr, zbar: sp.Symbol, *collect: sp.Symbol):
    """Slope and intercept of a mean that is affine in the sample mean ``zbar``; each is
    written as a sum over the symbols ``collect`` (e.g. the teacher's slope) with factored
    coefficients, so that ``1 - alpha`` stays one factor (no cancellation near alpha = 1)."""
    p = sp.Poly(sp.expand(mean), zbar)
    if p.degree() > 1:
        raise ArithmeticError(f"mean {mean} is not affine in {zbar}")

    def tidy(e):
        num, den = sp.fraction(sp.together(sp.simplify(e)))
        return sp.collect(sp.expand(num), collect, sp.factor) / sp.factor(den) if collect else e

    return tidy(p.coeff_monomial(zbar)), tidy(p.coeff_monomial(1))


def _gibbs_params(log_density: sp.Expr, w: sp.Symbol):
    """Mean and variance of the Gaussian ``exp(log_density)`` (a quadratic in ``w``),
    by completing the square."""
    p = sp.Poly(sp.expand(log_density), w)
    precision = sp.simplify(-2 * p.coeff_monomial(w**2))
    return sp.simplify(p.coeff_monomial(w) / precision), sp.simplify(1 / precision)


def _check_free(expr: sp.Expr, *names: str) -> sp.Expr:
    bad = {str(x) for x in expr.free_symbols} & set(names)
    if bad:
        raise ArithmeticError(f"{expr} depends on {sorted(bad)}")
    return expr


@functools.cache
def population_risk() -> sp.Expr:
    """``L_mu(w) = E_Z (w - Z)^2`` for one coordinate, ``Z = m + s epsilon`` (THEORY §1, §6), by
    the Gaussian-moment engine; in the symbols ``w`` (real), ``m``, ``s``."""
    w = sp.Symbol("w", real=True)
    return gaussian_expectation(sp.expand((w - _s("m") - _s("s") * _eps) ** 2), [_eps])


@functools.cache
def formulas() -> dict[str, Formula]:
    """Every Model A formula by name, derived once (THEORY §6; see the module doc)."""
    S = _s
    d, n, s, m = S("d"), S("n"), S("s"), S("m")
    a, b, tau = S("a"), S("b"), S("tau")
    a_s, b_s, tau_s, a_t, b_t, tau_t = (
        S(k) for k in ("a_S", "b_S", "tau_S", "a_T", "b_T", "tau_T")
    )
    gamma_t, lam_t, m0_t = S("gamma_T"), S("lam_T"), S("m0_T")
    alpha, gamma_s, lam_s, m0_s, kappa = (
        S(k) for k in ("alpha", "gamma_S", "lam_S", "m0_S", "kappa")
    )
    zbar, w = sp.symbols("Zbar w", real=True)
    v = s**2 / n
    delta = sp.sqrt(v) * _eta
    data_zbar = m + delta  # Zbar = m + delta, delta ~ N(0, v)
    out: dict[str, Formula] = {}

    def add(name, expr, args, meaning, ref, coordinate=False):
        expr = sp.sympify(expr)
        extra = {str(x) for x in expr.free_symbols} - set(args)
        if extra:
            raise ArithmeticError(f"{name}: unexpected symbols {sorted(extra)}")
        out[name] = Formula(name, expr, tuple(args), meaning, ref, HOW, SYMBOLS, coordinate)

    # population and empirical risk per coordinate (THEORY §1, §6)
    l_mu = population_risk()  # E_Z (w - Z)^2
    # Z_1 - Zbar = s ((1 - 1/n) eps_1 - sqrt(n - 1)/n zeta) in law; E S_D = E (Z_1 - Zbar)^2
    e_sd = gaussian_expectation(
        sp.expand((s * ((1 - 1 / n) * _eps - sp.sqrt(n - 1) / n * _zeta)) ** 2), [_eps, _zeta]
    )
    s_d = sp.Symbol("S_D", nonnegative=True)

    def gap(wv, zb):  # g(w, D) = L_mu(w) - L_D(w), L_D(w) = (w - Zbar)^2 + S_D
        return l_mu.subs(w, wv) - ((wv - zb) ** 2 + s_d)

    # 6.1 gen of a kernel (a, b, tau)
    kernel_w = a * data_zbar + b + tau * _xi
    gen1 = gaussian_expectation(sp.expand(gap(kernel_w, data_zbar)), [_eta, _xi]).subs(s_d, e_sd)
    gen = sp.factor(d * _check_free(sp.simplify(gen1), "m", "b", "tau"))
    add(
        "gen",
        gen,
        ("a", "n", "s", "d"),
        "expected generalization gap E[L_mu(W) - L_D(W)]",
        "THEORY §6.1",
    )
    dgen = sp.factor(gen.subs(a, a_s) - gen.subs(a, a_t))
    add("dgen", dgen, ("a_S", "a_T", "n", "s", "d"), "gen_S - gen_T", "THEORY §6.1")
    c_k = (a * zbar + b).subs(zbar, m) - m  # W - m at delta = 0, xi = 0
    add(
        "c_K",
        sp.collect(sp.expand(c_k), m),
        ("a", "b", "m"),
        "offset c_K of a kernel",
        "THEORY §6",
        True,
    )

    # 6.2 K_n = E_D KL_D, split into offset + estimation + spread
    mu_s = a_s * data_zbar + b_s
    mu_t = a_t * data_zbar + b_t
    c_delta = sp.collect(sp.expand((mu_s - mu_t).subs(_eta, 0)), m)
    add(
        "c_Delta",
        c_delta,
        ("a_S", "b_S", "a_T", "b_T", "m"),
        "c_K(S) - c_K(T)",
        "THEORY §6.2",
        True,
    )
    k1 = gaussian_expectation(sp.expand(_kl_gauss(mu_s, tau_s, mu_t, tau_t)), [_eta])
    c = sp.Symbol("c", real=True)
    k1c = sp.expand(k1.subs(b_s, sp.solve(sp.Eq(c_delta, c), b_s)[0]))
    poly_c = sp.Poly(k1c, c)
    if poly_c.degree() != 2 or sp.simplify(poly_c.coeff_monomial(c)) != 0:
        raise ArithmeticError(f"K_n per coordinate is not even quadratic in c_Delta: {k1c}")
    offset = sp.simplify(poly_c.coeff_monomial(c**2)) * S("c_Delta2")
    rest = _check_free(sp.simplify(poly_c.coeff_monomial(1)), "m", "b_S", "b_T")
    spread1 = sp.simplify(rest.subs(a_s, a_t))
    estimation = sp.factor(d * _check_free(sp.simplify(rest - spread1), "tau_S"))
    spread = d * _as_phi(spread1, tau_s**2 / tau_t**2)
    add("offset", offset, ("c_Delta2", "tau_T"), "offset part of K_n", "THEORY §6.2")
    add(
        "estimation",
        estimation,
        ("a_S", "a_T", "d", "n", "s", "tau_T"),
        "estimation part of K_n",
        "THEORY §6.2",
    )
    add("spread", spread, ("d", "tau_S", "tau_T"), "spread part of K_n", "THEORY §6.2")
    k_n_args = ("c_Delta2", "a_S", "a_T", "tau_S", "tau_T", "d", "n", "s")
    add(
        "K_n",
        offset + estimation + spread,
        k_n_args,
        "distillation divergence E_D KL_D",
        "THEORY §6.2",
    )

    # 6.4 conditional proxy: Var(g(W_T, D) | D) over the kernel noise, then E_D
    g_t = sp.expand(gap(a_t * data_zbar + b_t + tau_t * _xi, data_zbar))
    cond_mean = gaussian_expectation(g_t, [_xi])
    if sp.Poly(g_t, _xi).degree() != 1:
        raise ArithmeticError("g(W_T, D) | D is not affine in the kernel noise")
    cond_var = gaussian_expectation(sp.expand((g_t - cond_mean) ** 2), [_xi])
    esigma2 = sp.factor(d * gaussian_expectation(sp.expand(cond_var), [_eta]))
    add(
        "Esigma2",
        esigma2,
        ("tau_T", "n", "s", "d"),
        "E_D sigma_D^2 (g(W_T,D)|D is Gaussian)",
        "THEORY §6.4",
    )

    # 6.3 informations: E_D KL(P_{W|D} || P_W) and E_D KL(P_W || P_{W|D})
    mean_w = gaussian_expectation(kernel_w, [_eta, _xi])
    var_w = gaussian_expectation(sp.expand((kernel_w - mean_w) ** 2), [_eta, _xi])
    q = sp.factor(a**2 * v / tau**2)  # signal-to-noise ratio (a definition)
    add("information_ratio", q, ("a", "tau", "n", "s"), "q = a^2 v / tau^2", "THEORY §6.3")
    mu_d = a * data_zbar + b
    mi1 = gaussian_expectation(sp.expand(_kl_gauss(mu_d, tau, mean_w, sp.sqrt(var_w))), [_eta])
    la1 = gaussian_expectation(sp.expand(_kl_gauss(mean_w, sp.sqrt(var_w), mu_d, tau)), [_eta])
    mi = _proved(d * mi1, d * log1p(q) / 2)
    lautum = _proved(d * la1, d * q - d * log1p(q) / 2)
    skl = _proved(d * (mi1 + la1), d * q)
    info_args = ("a", "tau", "n", "s", "d")
    add("mutual_information", mi, info_args, "I(W; D)", "THEORY §6.3")
    add("lautum_information", lautum, info_args, "lautum information", "THEORY §6.3")
    add("symmetrized_information", skl, info_args, "I_SKL = I + lautum", "THEORY §6.3")

    # constructors: Gibbs teacher, KD student (mean or sampled soft label), tilt student
    log_gibbs = -lam_t * (w - m0_t) ** 2 / 2 - gamma_t * ((w - zbar) ** 2 + s_d)
    g_mean, g_var = _gibbs_params(log_gibbs, w)
    g_a, g_b = _coeffs(g_mean, zbar)
    add("gibbs_a", g_a, ("gamma_T", "lam_T"), "slope of the Gibbs kernel", "THEORY §6")
    add(
        "gibbs_b",
        g_b,
        ("gamma_T", "lam_T", "m0_T"),
        "intercept of the Gibbs kernel",
        "THEORY §6",
        True,
    )
    add("gibbs_tau", sp.sqrt(g_var), ("gamma_T", "lam_T"), "sd of the Gibbs kernel", "THEORY §6")
    teacher_mean = a_t * zbar + b_t
    teacher_draw = teacher_mean + tau_t * _xi

    def kd_log_density(soft):
        return -lam_s * (w - m0_s) ** 2 / 2 - gamma_s * (
            alpha * ((w - zbar) ** 2 + s_d) + (1 - alpha) * (w - soft) ** 2
        )

    kd_mean, kd_var = _gibbs_params(kd_log_density(teacher_mean), w)
    kd_a, kd_b = _coeffs(kd_mean, zbar, a_t, b_t, m0_s)
    add(
        "kd_a_S", kd_a, ("a_T", "alpha", "gamma_S", "lam_S"), "slope of the KD student", "THEORY §6"
    )
    add(
        "kd_b_S",
        kd_b,
        ("b_T", "alpha", "gamma_S", "lam_S", "m0_S"),
        "intercept of the KD student",
        "THEORY §6",
        True,
    )
    add(
        "kd_tau_S",
        sp.sqrt(kd_var),
        ("gamma_S", "lam_S"),
        "sd of the KD student (mean soft label)",
        "THEORY §6",
    )
    # a sampled soft label: the student given (D, teacher draw) is Gaussian; integrate the draw
    smean, svar = _gibbs_params(kd_log_density(teacher_draw), w)
    smean_d = gaussian_expectation(smean, [_xi])
    if sp.simplify(smean_d - kd_mean) != 0:
        raise ArithmeticError("sampled soft labels change the student's mean")
    tot_var = svar + sp.factor(gaussian_expectation(sp.expand((smean - smean_d) ** 2), [_xi]))
    add(
        "kd_tau_S_sampled",
        sp.sqrt(tot_var),
        ("tau_T", "alpha", "gamma_S", "lam_S"),
        "sd of the KD student (soft label a teacher sample)",
        "THEORY §6",
    )
    tilt_mean = teacher_mean + kappa * (zbar - m)
    t_a, t_b = _coeffs(tilt_mean, zbar, a_t, b_t, m)
    add("tilt_a_S", t_a, ("a_T", "kappa"), "slope of the tilt student", "THEORY §6")
    add("tilt_b_S", t_b, ("b_T", "kappa", "m"), "intercept of the tilt student", "THEORY §6", True)
    add("tilt_tau_S", tau_t, ("tau_T",), "sd of the tilt student (= tau_T)", "THEORY §6")

    # K_n of a KD student (mean soft labels) of a Gibbs teacher, scalar prior means m0_T, m0_S
    teacher = {a_t: g_a, b_t: g_b.subs(m0_t, m0_t), tau_t: sp.sqrt(g_var)}
    student = {a_s: kd_a.subs(teacher), b_s: kd_b.subs(teacher), tau_s: sp.sqrt(kd_var)}
    cj = sp.expand(c_delta.subs(student).subs(teacher))  # = A m_j + B
    coef_m, const = sp.Poly(cj, m).coeff_monomial(m), sp.Poly(cj, m).coeff_monomial(1)
    c2 = coef_m**2 * S("m_sq") + 2 * coef_m * const * S("m_sum") + d * const**2
    k_kd = (offset + estimation + spread).subs(S("c_Delta2"), c2).subs(student).subs(teacher)
    add(
        "K_n_kd",
        k_kd,
        (
            "alpha",
            "gamma_S",
            "lam_S",
            "m0_S",
            "gamma_T",
            "lam_T",
            "m0_T",
            "m_sq",
            "m_sum",
            "d",
            "n",
            "s",
        ),
        "K_n of a KD student (mean soft labels) of a Gibbs teacher",
        "THEORY §6.2, §6",
    )
    return out


def _all_formulas() -> dict[str, Formula]:
    """This module's formulas and those of :mod:`kdtheory.formulas.gaussian_cgf` (the joint CGF
    and smoothing quantities, THEORY §6.5, §6.6; derived on first use)."""
    from .gaussian_cgf import formulas as cgf_formulas

    return {**formulas(), **cgf_formulas()}


def formula(name: str) -> Formula:
    """The formula called ``name`` (also the CGF and smoothing formulas of
    :mod:`kdtheory.formulas.gaussian_cgf`); ``KeyError`` lists the known names."""
    table = formulas()
    if name in table:
        return table[name]
    table = _all_formulas()
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"unknown Model A quantity {name!r}; known: {', '.join(table)}") from None


@functools.cache
def compiled(name: str) -> Compiled:
    """``formula(name)`` compiled once to numpy / mpmath / arb (positional args: ``Formula.args``)."""
    f = formula(name)
    return compile_expr(f.expr, [SYMBOLS[k].symbol for k in f.args])


def closed_form(name: str) -> Formula:
    """The closed form of a Model A quantity with its symbols and their meanings (an alias of
    :func:`formula`, the name :meth:`GaussianMeanModel.closed_form` uses)."""
    return formula(name)


# -- design ---------------------------------------------------------------------------------------
def stationary_points(expr: sp.Expr, wrt: sp.Symbol):
    """``(derivative, points, how)``: the stationary points of ``expr`` in ``wrt`` from
    ``sympy.solve`` when the derivative is a rational function of ``wrt`` -- or, for a
    nonnegative ``expr``, that of ``expr**2`` (same stationary points where ``expr > 0``, e.g. a
    square-root bound) -- with ``how = 'symbolic'``; otherwise ``points = None`` and ``how``
    says why."""
    deriv = sp.simplify(sp.diff(expr, wrt))
    if deriv == 0:
        return deriv, None, f"constant in {wrt}"
    target = deriv
    if not target.is_rational_function(wrt) and expr.is_nonnegative:
        target = sp.simplify(sp.diff(sp.expand(expr**2), wrt))
    if not target.is_rational_function(wrt):
        return deriv, None, f"not a rational function of {wrt}: no closed-form solve attempted"
    num = sp.numer(sp.together(target))
    free = sp.Dummy(str(wrt))  # no sign assumptions: sympy.solve may drop roots it cannot sign
    roots = sp.solve(num.subs(wrt, free), free)
    if not roots and num.has(wrt):
        degree = sp.Poly(num, wrt).degree() if num.is_polynomial(wrt) else "?"
        return (
            deriv,
            None,
            (
                f"sympy.solve found no closed-form root of the derivative's numerator (degree "
                f"{degree} in {wrt}); this is not a proof that there is none"
            ),
        )
    return deriv, [sp.simplify(r.subs(free, wrt)) for r in roots], "symbolic"


def expression(quantity: str) -> tuple[sp.Expr, str]:
    """``(expr, meaning)`` of a Model A formula name, or of a registered theorem id whose
    symbols Model A supplies in closed form (``dgen``, ``gen_S``, ``gen_T``, ``K_n``,
    ``Esigma2``): its bound side (rhs) with those symbols replaced by their formulas
    (e.g. ``U1`` gives ``sqrt(2 Esigma2 K_n)`` in the model's parameters).  ``KeyError`` names
    the known quantities; ``ValueError`` if the theorem needs a symbol Model A does not supply."""
    table = formulas()
    if quantity not in table:
        table = _all_formulas()
    if quantity in table:
        f = table[quantity]
        return f.expr, f"{f.meaning} ({f.ref})"
    from ..symbols import symbol
    from ..theorems import all_theorems

    by_id = {t.id: t for t in all_theorems()}
    if quantity not in by_id:
        raise KeyError(
            f"unknown quantity {quantity!r}; known: {', '.join(table)} or a theorem id "
            f"({', '.join(sorted(by_id))})"
        )
    t = by_id[quantity]
    a = _s("a")
    # the sub-gamma constants of the teacher (THEORY §6.5), in s and n like K_n
    teacher = {a: _s("a_T"), _s("tau"): _s("tau_T"), _s("v"): _s("s") ** 2 / _s("n")}
    side = "upper" if t.is_upper else "lower"
    supplied = {
        "K_n": table["K_n"].expr,
        "Esigma2": table["Esigma2"].expr,
        "dgen": table["dgen"].expr,
        "gen_S": table["gen"].expr.subs(a, _s("a_S")),
        "gen_T": table["gen"].expr.subs(a, _s("a_T")),
        "V_g": table["gap_variance"].expr.subs(teacher, simultaneous=True),
        "b_g": table[f"b_g_{side}"].expr.subs(teacher, simultaneous=True),
    }
    missing = sorted(set(t.symbols) - set(supplied))
    if missing:
        raise ValueError(
            f"theorem {quantity} needs {', '.join(missing)}, which Model A's formulas do not "
            f"supply in closed form (they supply {', '.join(supplied)})"
        )
    rhs = t.rhs.subs({symbol(k): v for k, v in supplied.items() if k in t.symbols})
    return rhs, f"{side} side of theorem {t.id} ({t.name}) in Model A ({t.ref}, THEORY §6)"


@dataclass(frozen=True)
class KDWeight:
    """The KD weight ``alpha`` minimising ``K_n`` (:func:`optimal_kd_weight`): the stationary
    point ``expr`` (``None`` when sympy cannot solve), ``kind`` ``'symbolic'`` or ``'numeric'``,
    and ``value`` in ``[0, 1]`` when numbers were given."""

    expr: sp.Expr | None
    kind: str
    value: float | None = None
    note: str = ""


def optimal_kd_weight(zero_prior_means: bool = False, **values) -> KDWeight:
    """The KD weight ``alpha in [0, 1]`` minimising ``K_n`` for a KD student (mean soft labels)
    of a Gibbs teacher (THEORY §6.2, §6): the root of ``dK_n/dalpha`` from ``sympy.solve`` (K_n is
    a convex quadratic in alpha), or a bounded numeric minimisation (scipy) when sympy finds no
    root; the result says which.  ``zero_prior_means`` sets ``m0_T = m0_S = 0``.  With ``values``
    (numbers for every other symbol of ``K_n_kd``: ``gamma_S, lam_S, gamma_T, lam_T, m_sq, m_sum,
    d, n, s`` and, unless zero, ``m0_S, m0_T``) ``value`` is the minimiser over ``[0, 1]``."""
    f = formula("K_n_kd")
    expr = f.expr
    if zero_prior_means:
        expr = expr.subs({_s("m0_T"): 0, _s("m0_S"): 0})
    alpha = _s("alpha")
    _, points, how = stationary_points(expr, alpha)
    sym = points[0] if how == "symbolic" and len(points) == 1 else None
    if not values:
        if sym is None:
            return KDWeight(None, "numeric", None, f"sympy found no unique root ({how})")
        return KDWeight(sym, "symbolic", None, "stationary point of K_n in alpha (not clipped)")
    subs = {_s(k): v for k, v in values.items()}
    objective = sp.lambdify(alpha, expr.subs(subs), "mpmath")
    if sym is not None:
        root = sym.subs(subs)
        cands = [0.0, 1.0]
        if root.is_real and root.is_finite and 0.0 <= float(root) <= 1.0:
            cands.append(float(root))
        best = min(cands, key=lambda x: float(objective(x)))
        return KDWeight(sym, "symbolic", best, "the root clipped to [0, 1] (K_n convex in alpha)")
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda x: float(objective(x)), bounds=(0.0, 1.0), method="bounded")
    return KDWeight(None, "numeric", float(res.x), f"scipy bounded minimisation ({how})")
