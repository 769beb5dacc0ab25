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

* ``bayes_gamma`` is the tempered Bayes inverse temperature ``n/(2 s^2 T)`` (a definition:
  the log-likelihood is ``-(n/(2 s^2)) L_D(w)`` up to a constant; THEORY §6).

Nothing is derived at import: :func:`formulas` runs the derivations once, on first use
(``functools.cache``; about a second), and :func:`compiled` compiles a formula once
(:func:`kdtheory.formulas.compile.compile_expr`).  :mod:`kdtheory.models.gaussian_mean`
evaluates these compiled functions (numbers, arrays, arb balls) or substitutes into these
expressions (sympy arguments).

**Design** (issue 11 item 4): :func:`design` chooses the student's ``alpha``, ``gamma_S``,
``T_S`` or ``lam_S`` minimising ``K_n`` or the U1 bound of a KD student of a Gibbs teacher
(:func:`kd_of_gibbs` puts any expression in the kernel symbols into the hyper-parameters), by
``sympy.solve`` of the stationary equation where it gives roots (:func:`stationary_points`,
also behind ``kdtheory derive --wrt``), by scipy otherwise; ``kdtheory design`` is its CLI.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..symbols import PARAMS, POSITIVE, REAL, UNIT_CLOSED, Domain, Param
from .compile import Compiled, compile_expr, definition, log1p, phi
from .engine import gaussian_expectation
from .table import Formula

__all__ = [
    "SYMBOLS",
    "Formula",
    "Design",
    "DESIGN_TARGETS",
    "DESIGN_PARAMETERS",
    "formulas",
    "formula",
    "compiled",
    "closed_form",
    "design",
    "kd_of_gibbs",
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
        _p("temperature", "T", POSITIVE, "temperature of a tempered Bayes posterior"),
        _p("T_S", "T_S", POSITIVE, "student's temperature: gamma_S = n/(2 s^2 T_S)"),
        _p("T_T", "T_T", POSITIVE, "teacher's temperature: gamma_T = n/(2 s^2 T_T)"),
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
    # tempered Bayes: the Gibbs kernel whose gamma L_D(w) is the log-likelihood of the data,
    # -sum_i (w - Z_i)^2 / (2 s^2) = -(n / (2 s^2)) L_D(w), divided by the temperature
    temperature = S("temperature")
    bayes = sp.solve(sp.Eq(gamma_t * temperature, n / (2 * s**2)), gamma_t)[0]
    add(
        "bayes_gamma",
        bayes,
        ("temperature", "n", "s"),
        "inverse temperature of the tempered Bayes posterior (a definition)",
        "THEORY §6",
    )
    tilt_mean = teacher_mean + kappa * (zbar - m)
    t_a, t_b = _coeffs(tilt_mean, zbar, a_t, b_t, m)
    add("tilt_a_S", t_a, ("a_T", "kappa"), "slope of the tilt student", "THEORY §6")
    add("tilt_b_S", t_b, ("b_T", "kappa", "m"), "intercept of the tilt student", "THEORY §6", True)
    add("tilt_tau_S", tau_t, ("tau_T",), "sd of the tilt student (= tau_T)", "THEORY §6")

    # K_n of a KD student (mean soft labels) of a Gibbs teacher, scalar prior means m0_T, m0_S
    maps = ("gibbs_a", "gibbs_b", "gibbs_tau", "kd_a_S", "kd_b_S", "kd_tau_S", "c_Delta")
    k_kd = _kd_of_gibbs(offset + estimation + spread, {k: out[k].expr for k in maps})
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


def _kd_of_gibbs(expr: sp.Expr, maps: dict[str, sp.Expr]) -> sp.Expr:
    """``expr`` (in the kernel symbols ``a_S, b_S, tau_S, a_T, b_T, tau_T`` and ``c_Delta2``)
    for a KD student (mean soft labels) of a Gibbs teacher, with scalar prior means ``m0_S``,
    ``m0_T``: the kernel maps ``maps`` (the formulas ``gibbs_*``, ``kd_*_S``, ``c_Delta``)
    substituted, ``||c_Delta||^2`` summed over the coordinates through ``m_sq = ||m||^2`` and
    ``m_sum = sum_j m_j`` (THEORY §6)."""
    S = _s
    m, d = S("m"), S("d")
    teacher = {S("a_T"): maps["gibbs_a"], S("b_T"): maps["gibbs_b"], S("tau_T"): maps["gibbs_tau"]}
    student = {
        S("a_S"): maps["kd_a_S"].subs(teacher),
        S("b_S"): maps["kd_b_S"].subs(teacher),
        S("tau_S"): maps["kd_tau_S"],
    }
    cj = sp.Poly(sp.expand(maps["c_Delta"].subs(student).subs(teacher)), m)  # = A m_j + B
    coef_m, const = cj.coeff_monomial(m), cj.coeff_monomial(1)
    c2 = coef_m**2 * S("m_sq") + 2 * coef_m * const * S("m_sum") + d * const**2
    return expr.subs(S("c_Delta2"), c2).subs(student).subs(teacher)


def kd_of_gibbs(expr: sp.Expr) -> sp.Expr:
    """A Model A expression in the kernel symbols (``a_S, b_S, tau_S, a_T, b_T, tau_T``,
    ``c_Delta2``; e.g. ``expression("U1")[0]``) for a KD student (mean soft labels) of a Gibbs
    teacher: in the hyper-parameters ``alpha, gamma_S, lam_S, m0_S, gamma_T, lam_T, m0_T`` and
    ``m_sq, m_sum, d, n, s`` (``formula("K_n_kd")`` is ``kd_of_gibbs`` of ``K_n``)."""
    table = formulas()
    maps = ("gibbs_a", "gibbs_b", "gibbs_tau", "kd_a_S", "kd_b_S", "kd_tau_S", "c_Delta")
    return _kd_of_gibbs(expr, {k: table[k].expr for k in maps})


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


#: what :func:`design` can minimise: name -> meaning
DESIGN_TARGETS = {
    "K_n": "the distillation divergence K_n (THEORY §6.2)",
    "U1": "the U1 bound sqrt(2 Esigma2 K_n) on dgen (THEORY §3, §6.4)",
}
#: the student's parameters :func:`design` can choose, with the numeric search range used when
#: sympy gives no stationary point (log-spaced for the scale parameters)
DESIGN_PARAMETERS = {
    "alpha": Domain(0.0, 1.0, True, True),
    "gamma_S": Domain(1e-6, 1e6, True, True, note="the numeric search range; gamma_S > 0"),
    "lam_S": Domain(0.0, 1e6, True, True, note="the numeric search range; lam_S >= 0"),
    "T_S": Domain(1e-6, 1e6, True, True, note="the numeric search range; T_S > 0"),
}


@dataclass(frozen=True)
class Design:
    """The result of :func:`design`: the student parameter ``wrt`` minimising ``target``.

    ``objective`` is the target in the hyper-parameters (:func:`kd_of_gibbs`; ``T_S``/``T_T``
    through the formula ``bayes_gamma``), before any number is substituted; ``stationary`` the
    roots of its derivative in ``wrt`` from ``sympy.solve`` -- in the symbols (those sympy does
    not prove to lie outside the domain) when some number is missing, exact algebraic numbers
    at the given numbers otherwise; ``None`` when sympy gave none.  ``kind`` is
    ``'symbolic'`` (from those roots) or ``'numeric'`` (scipy), and ``why`` says which and why.
    With numbers for every other symbol, ``value`` is the minimiser and ``minimum`` the target
    there (``None`` otherwise)."""

    target: str
    wrt: str
    objective: sp.Expr
    domain: Domain
    stationary: tuple | None
    kind: str
    why: str
    value: float | None = None
    minimum: float | None = None
    #: the symbols without a number (no minimiser without them)
    missing: tuple = ()

    @property
    def expr(self) -> sp.Expr | None:
        """The stationary point when sympy gives exactly one admissible root, else ``None``."""
        return self.stationary[0] if self.stationary and len(self.stationary) == 1 else None


def _design_objective(target: str, wrt: str, zero_prior_means: bool, given) -> sp.Expr:
    if target not in DESIGN_TARGETS:
        raise KeyError(f"unknown design target {target!r}; known: {', '.join(DESIGN_TARGETS)}")
    if wrt not in DESIGN_PARAMETERS:
        raise KeyError(
            f"design --wrt {wrt!r}: not a student parameter; known: {', '.join(DESIGN_PARAMETERS)}"
        )
    expr = formula("K_n_kd").expr if target == "K_n" else kd_of_gibbs(expression(target)[0])
    if zero_prior_means:
        expr = expr.subs({_s("m0_T"): 0, _s("m0_S"): 0})
    bayes = formula("bayes_gamma").expr
    for who in ("S", "T"):  # a temperature in place of an inverse temperature (THEORY §6)
        if wrt == f"T_{who}" or f"T_{who}" in given:
            if f"gamma_{who}" in given:
                raise ValueError(f"give gamma_{who} or T_{who}, not both")
            expr = expr.subs(_s(f"gamma_{who}"), bayes.subs(_s("temperature"), _s(f"T_{who}")))
    return expr


def _admissible(root: sp.Expr, wrt: str) -> bool:
    """``False`` when sympy proves ``root`` non-real or outside the mathematical domain of the
    design parameter ``wrt`` (``0 <= alpha <= 1``, ``lam_S >= 0``, ``gamma_S, T_S > 0``; every
    lower end is 0)."""
    if root.is_extended_real is False:
        return False
    lo, hi = _ENDS[wrt]
    below = root.is_negative if _in(lo, wrt) else root.is_nonpositive
    above = (root - hi).is_positive if math.isfinite(hi) else False
    return not (below is True or above is True)


def _solve_target(target: str, expr: sp.Expr) -> sp.Expr:
    """What is solved for the stationary points: the target with the stable functions expanded
    (U1 squared: a nonnegative square root has the minimisers of its square)."""
    return definition(sp.expand_power_base(expr**2, force=True) if target == "U1" else expr)


@functools.cache
def _stationary(target: str, wrt: str, zero_prior_means: bool, temperatures: tuple):
    """``(objective, roots, how)``: the admissible stationary points of the objective in its
    symbols (:func:`stationary_points` of :func:`_solve_target`), cached: ``sympy.solve`` takes
    from a second (``alpha``) to a minute (``T_S``) on the general expression."""
    expr = _design_objective(target, wrt, zero_prior_means, dict.fromkeys(temperatures))
    _, points, how = stationary_points(_solve_target(target, expr), _s(wrt))
    if points is not None:
        points = tuple(r for r in points if _admissible(r, wrt))
        how = f"sympy.solve of d{target}/d{wrt} = 0 in the symbols"
    return expr, points, how


def design(
    target: str = "K_n",
    wrt: str = "alpha",
    *,
    zero_prior_means: bool = False,
    method: str = "auto",
    **values,
) -> Design:
    """Choose the student's KD weight ``alpha``, inverse temperature ``gamma_S``, temperature
    ``T_S`` (tempered Bayes, ``gamma_S = n/(2 s^2 T_S)``, THEORY §6) or regulariser ``lam_S``
    to minimise ``target`` -- ``"K_n"`` (THEORY §6.2) or ``"U1"``, the bound
    ``sqrt(2 Esigma2 K_n)`` on dgen (THEORY §3, §6.4) -- for a KD student (mean soft labels) of
    a Gibbs teacher (the formula ``K_n_kd``, :func:`kd_of_gibbs`).

    ``values``: numbers for the other symbols (``gamma_T`` or ``T_T``, ``lam_T``, ``m0_T``,
    ``gamma_S`` or ``T_S``, ``lam_S``, ``m0_S``, ``alpha``, ``m_sq = ||m||^2``,
    ``m_sum = sum_j m_j``, ``d``, ``n``, ``s``; ``zero_prior_means`` sets ``m0_T = m0_S = 0``).

    * **Without** numbers for every other symbol: the stationary points in the symbols, from
      ``sympy.solve`` of ``d target / d wrt = 0`` (:func:`stationary_points`; U1 through its
      square, which has the same minimisers), those sympy proves outside the domain dropped
      (e.g. the pole ``gamma_S = -lam_S/2``).  For zero prior means the KD weight
      ``alpha* = gamma_T lam_S / (gamma_S lam_T)`` comes out of the solver.  ``Design.value`` is
      ``None``.
    * **With** them: the minimiser over the domain (``Design.value``) and the target there
      (``Design.minimum``).  ``kind='symbolic'``: the numbers are made exact rationals (a double
      is a rational), ``sympy.solve`` gives the stationary points exactly (the derivative is a
      rational function of every design parameter: quadratic numerators for ``gamma_S``,
      ``lam_S``, ``T_S`` after the pole factors), and the best of the real roots in the domain,
      the closed ends and the limits at the open ends, each evaluated at 30 digits, is taken.
      ``kind='numeric'`` where sympy gives no root (or with ``method="numeric"``): scipy's
      bounded minimisation over the range of :data:`DESIGN_PARAMETERS` (log-spaced for the
      scale parameters, from the best point of a grid), and the ends.

    ``Design.why`` says which was used and why; an infimum approached at an open end (e.g.
    ``gamma_S -> 0``) is reported as that end, with "not attained".  ``KeyError`` names the
    known targets and parameters; ``ValueError`` a value outside its domain, a number for
    ``wrt`` itself, or both ``gamma_S`` and ``T_S``.
    """
    if method not in ("auto", "numeric"):
        raise ValueError(f"method must be 'auto' or 'numeric', got {method!r}")
    bad = sorted(set(values) - set(SYMBOLS))
    if bad:
        raise KeyError(f"unknown symbols {bad}; the symbols of the design objective are Model A's")
    if wrt in values:
        raise ValueError(f"{wrt} is the parameter to choose: give no value for it")
    if zero_prior_means and {"m0_T", "m0_S"} & set(values):
        raise ValueError("zero_prior_means sets m0_T = m0_S = 0: give no value for them")
    for k, v in values.items():
        SYMBOLS[k].validate(v)
    expr = _design_objective(target, wrt, zero_prior_means, values)
    domain, x = DESIGN_PARAMETERS[wrt], _s(wrt)
    exact = {_s(k): sp.Rational(v) for k, v in values.items()}
    missing = sorted(str(y) for y in expr.subs(exact).free_symbols - {x})
    if missing:
        if method == "numeric":
            raise ValueError(f"the numeric minimisation needs numbers for {', '.join(missing)}")
        temps = tuple(sorted(k for k in ("T_S", "T_T") if k in values))
        expr, roots, how = _stationary(target, wrt, zero_prior_means, temps)
        kind = "symbolic" if roots is not None else "numeric"
        why = f"{how}; no numbers for {', '.join(missing)}, so no minimiser"
        return Design(target, wrt, expr, domain, roots, kind, why, missing=tuple(missing))
    objective = definition(expr.subs(exact))

    def value_at(t) -> float:
        return float(sp.N(objective.subs(x, t), 30))

    lo, hi = _ENDS[wrt]
    ends = [(e, value_at(e)) for e in (lo, hi) if _in(e, wrt)]
    for e, side in ((lo, "+"), (hi, "-")):  # an open end: the infimum may be approached there
        if not _in(e, wrt):
            limit = sp.limit(objective, x, sp.oo if e == math.inf else e, side)
            if limit.is_extended_real and limit.is_finite:
                ends.append((e, float(sp.N(limit, 30))))
    roots, how = None, "numeric minimisation requested (method='numeric')"
    if method == "auto":
        _, roots, how = stationary_points(_solve_target(target, objective), x)
    if roots is not None:
        roots = tuple(roots)
        cands = list(ends)
        for r in roots:
            z = complex(sp.N(r, 30))
            if abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)) and _in(z.real, wrt):
                cands.append((z.real, value_at(z.real)))
        best, low = min(cands, key=lambda c: c[1])
        kind = "symbolic"
        why = (
            f"sympy.solve of d{target}/d{wrt} = 0 at the given numbers (exact rationals): the "
            "best of the real roots in the domain and the ends"
        )
    else:
        best, low = _numeric_minimum(value_at, wrt, domain)
        for e, v in ends:
            if v < low:
                best, low = e, v
        kind, why = "numeric", f"scipy bounded minimisation over {domain.describe()} ({how})"
    if not _in(best, wrt):
        why += f"; the infimum is approached as {wrt} -> {best}, not attained"
    return Design(target, wrt, expr, domain, roots, kind, why, best, low)


#: the ends of each design parameter's mathematical domain (an end outside it is open)
_ENDS = {
    "alpha": (0.0, 1.0),
    "gamma_S": (0.0, math.inf),
    "lam_S": (0.0, math.inf),
    "T_S": (0.0, math.inf),
}


def _in(t: float, wrt: str) -> bool:
    """``t`` in the mathematical domain of the design parameter ``wrt`` (``0 <= alpha <= 1``,
    ``lam_S >= 0``, ``gamma_S, T_S > 0``; finite)."""
    if not math.isfinite(t):
        return False
    if wrt == "alpha":
        return 0.0 <= t <= 1.0
    return t >= 0.0 if wrt == "lam_S" else t > 0.0


def _numeric_minimum(value_at, wrt: str, domain: Domain) -> tuple[float, float]:
    """``(argmin, min)`` of ``value_at`` over ``domain``: the best of a grid (uniform for
    ``alpha``, log-spaced otherwise, plus ``lam_S = 0``), refined by scipy's bounded Brent
    between the grid neighbours of the best point (in ``log`` for the scale parameters)."""
    from scipy.optimize import minimize_scalar

    logs = wrt != "alpha"
    if logs:
        grid = np.geomspace(max(domain.low, 1e-6), domain.high, 121)
    else:
        grid = np.linspace(domain.low, domain.high, 101)
    vals = [value_at(float(t)) for t in grid]
    k = min(range(len(grid)), key=vals.__getitem__)
    a, b = float(grid[max(k - 1, 0)]), float(grid[min(k + 1, len(grid) - 1)])
    if logs:
        res = minimize_scalar(
            lambda u: value_at(math.exp(u)),
            bounds=(math.log(a), math.log(b)),
            method="bounded",
            options={"xatol": 1e-12},
        )
        x_best = math.exp(res.x)
    else:
        res = minimize_scalar(value_at, bounds=(a, b), method="bounded", options={"xatol": 1e-12})
        x_best = float(res.x)
    cands = [(vals[k], float(grid[k])), (float(res.fun), x_best)]
    if wrt == "lam_S":
        cands.append((value_at(0.0), 0.0))
    low, best = min(cands)
    return best, low
