"""THEORY §6: Model A's closed forms, as the package derives them, against THEORY's text.

The quantities are derived once, in the package (:mod:`kdtheory.formulas.gaussian_mean`), from
their definitions by the exact Gaussian-moment engine; the numbers of the toolkit are compiled
from those expressions.  This script imports them -- it types no closed form of its own except
THEORY's stated forms, the targets -- and proves:

1. the two data identities the derivations rest on, for a *symbolic* sample size ``n``
   (``L_D(w) = (w - Zbar)^2 + S_D`` per coordinate and ``E S_D = (n - 1) s^2 / n``);
2. that every derived expression equals the closed form THEORY §6.1-§6.4 and the constructors
   state (gen, the three parts of K_n, E_D sigma_D^2, the informations, Gibbs, KD and tilt
   kernels), and the cross-check ``gen = I_SKL / gamma`` for a Gibbs kernel;
3. as evidence, that the compiled numpy functions equal the expressions at 50 digits.

Run: ``python proofs/gaussian_mean_closed_forms.py``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from kdtheory.formulas import gaussian_mean as F
from kdtheory.formulas.compile import definition
from kdtheory.proof import Proof, gaussian_expectation, run_script


def S(name: str) -> sp.Symbol:
    return F.SYMBOLS[name].symbol


def expr(name: str) -> sp.Expr:
    """The package's derived expression, stable forms replaced by their definitions."""
    return definition(F.formula(name).expr)


def phi(x):
    return x - 1 - sp.log(x)


def run() -> Proof:
    pr = Proof("Model A closed forms, derived by the package, against THEORY", "THEORY §6.1-§6.4")
    n, s, d, m = S("n"), S("s"), S("d"), S("m")
    a, tau = S("a"), S("tau")
    a_s, a_t, b_s, b_t = S("a_S"), S("a_T"), S("b_S"), S("b_T")
    tau_s, tau_t = S("tau_S"), S("tau_T")
    v = s**2 / n

    # 1. the data identities, for symbolic n
    i, j = sp.symbols("i j", integer=True, positive=True)
    z, w = sp.IndexedBase("Z"), sp.Symbol("w", real=True)
    zbar = sp.Sum(z[j], (j, 1, n)) / n  # the sample mean (summation index j, a dummy)
    pr.identity(
        "sum_i (Zbar - Z_i) = n Zbar - sum_i Z_i = 0 for every n (Zbar is the sample mean)",
        (sp.Sum(zbar, (i, 1, n)).doit() - sp.Sum(z[i], (i, 1, n))).xreplace({j: i}),
        0,
    )
    zb = sp.Symbol("Zbar", real=True)
    pr.identity(
        "(w - Z_i)^2 = (w - Zbar)^2 + 2 (w - Zbar)(Zbar - Z_i) + (Zbar - Z_i)^2, so averaging over "
        "i (the cross term sums to 0): L_D(w) = (w - Zbar)^2 + S_D for every n",
        (w - z[i]) ** 2,
        (w - zb) ** 2 + 2 * (w - zb) * (zb - z[i]) + (zb - z[i]) ** 2,
        simplify=sp.expand,
    )
    eps, zeta = sp.symbols("epsilon zeta", real=True)
    # Z_1 - Zbar = s [(1 - 1/n) eps_1 - (1/n) sum_{i>1} eps_i]; the sum is sqrt(n-1) zeta in law
    pr.identity(
        "E S_D = E (Z_1 - Zbar)^2 = (n - 1) s^2 / n for every n (exchangeability; engine)",
        gaussian_expectation(
            sp.expand((s * ((1 - 1 / n) * eps - sp.sqrt(n - 1) / n * zeta)) ** 2), [eps, zeta]
        ),
        (n - 1) * s**2 / n,
    )

    # 2. the derived expressions against THEORY's closed forms
    pr.identity("gen = 2 a d s^2 / n (THEORY §6.1)", expr("gen"), 2 * a * d * s**2 / n)
    pr.identity(
        "c_Delta = (a_S - a_T) m + (b_S - b_T) (THEORY §6.2)",
        expr("c_Delta"),
        (a_s - a_t) * m + (b_s - b_t),
        simplify=sp.expand,
    )
    pr.identity(
        "offset = ||c_Delta||^2 / (2 tau_T^2) (THEORY §6.2)",
        expr("offset"),
        S("c_Delta2") / (2 * tau_t**2),
    )
    pr.identity(
        "estimation = (a_S - a_T)^2 d v / (2 tau_T^2) (THEORY §6.2)",
        expr("estimation"),
        (a_s - a_t) ** 2 * d * v / (2 * tau_t**2),
    )
    pr.identity(
        "spread = (d/2) phi(tau_S^2 / tau_T^2) (THEORY §6.2)",
        expr("spread"),
        d * phi(tau_s**2 / tau_t**2) / 2,
        simplify=lambda e: sp.simplify(sp.expand_log(e, force=True)),
    )
    pr.identity(
        "E_D sigma_D^2 = 4 tau_T^2 d s^2 / n (THEORY §6.4)",
        expr("Esigma2"),
        4 * tau_t**2 * d * s**2 / n,
    )
    q = a**2 * v / tau**2
    pr.identity("q = a^2 v / tau^2 (THEORY §6.3)", expr("information_ratio"), q)
    pr.identity(
        "I(W; D) = (d/2) log(1 + q) (THEORY §6.3)",
        expr("mutual_information"),
        d * sp.log(1 + q) / 2,
        simplify=lambda e: sp.simplify(sp.expand_log(e, force=True)),
    )
    pr.identity(
        "lautum = d q - (d/2) log(1 + q) (THEORY §6.3)",
        expr("lautum_information"),
        d * q - d * sp.log(1 + q) / 2,
        simplify=lambda e: sp.simplify(sp.expand_log(e, force=True)),
    )
    pr.identity("I_SKL = d q (THEORY §6.3)", expr("symmetrized_information"), d * q)
    gam, lam, m0 = S("gamma_T"), S("lam_T"), S("m0_T")
    pr.identity("Gibbs: a = 2 gamma/(lam + 2 gamma)", expr("gibbs_a"), 2 * gam / (lam + 2 * gam))
    pr.identity("Gibbs: b = lam m0/(lam + 2 gamma)", expr("gibbs_b"), lam * m0 / (lam + 2 * gam))
    pr.identity("Gibbs: tau^2 = 1/(lam + 2 gamma)", expr("gibbs_tau") ** 2, 1 / (lam + 2 * gam))
    gibbs = {a: expr("gibbs_a"), tau: expr("gibbs_tau")}
    pr.identity(
        "Gibbs: gen = I_SKL / gamma (Aminian et al. 2021; THEORY §6)",
        expr("gen").subs(gibbs),
        expr("symmetrized_information").subs(gibbs) / gam,
    )
    alpha, gam_s, lam_s, m0_s = S("alpha"), S("gamma_S"), S("lam_S"), S("m0_S")
    k_s = 2 * gam_s / (lam_s + 2 * gam_s)
    pr.identity(
        "KD student: a_S = k_S (alpha + (1 - alpha) a_T), k_S = 2 gamma_S/(lam_S + 2 gamma_S)",
        expr("kd_a_S"),
        k_s * (alpha + (1 - alpha) * a_t),
    )
    pr.identity(
        "KD student: b_S = k_S (1 - alpha) b_T + lam_S m0_S/(lam_S + 2 gamma_S)",
        expr("kd_b_S"),
        k_s * (1 - alpha) * b_t + lam_s * m0_s / (lam_s + 2 * gam_s),
    )
    pr.identity(
        "KD student: tau_S^2 = 1/(lam_S + 2 gamma_S) (mean soft labels)",
        expr("kd_tau_S") ** 2,
        1 / (lam_s + 2 * gam_s),
    )
    pr.identity(
        "KD student: tau_S^2 gains (k_S (1 - alpha) tau_T)^2 (a sampled soft label)",
        expr("kd_tau_S_sampled") ** 2,
        1 / (lam_s + 2 * gam_s) + (k_s * (1 - alpha) * tau_t) ** 2,
    )
    kappa = S("kappa")
    pr.identity("tilt: a_S = a_T + kappa", expr("tilt_a_S"), a_t + kappa)
    pr.identity("tilt: b_S = b_T - kappa m", expr("tilt_b_S"), b_t - kappa * m)
    tilt = {a_s: a_t + kappa, S("c_Delta2"): 0, tau_s: tau_t}
    ratio = expr("dgen").subs(a_s, a_t + kappa) / sp.sqrt(
        2 * expr("Esigma2") * expr("K_n").subs(tilt)
    )
    pr.identity(
        "tilt with kappa > 0 attains U1: dgen / sqrt(2 Esigma2 K_n) = 1 (THEORY §6.4)",
        ratio.subs(kappa, sp.Symbol("kappa_pos", positive=True)),
        1,
    )

    # 3. the compiled numpy functions equal the expressions at 50 digits
    rng = np.random.default_rng(1)
    worst = 0.0
    for name in ("gen", "offset", "estimation", "spread", "K_n", "Esigma2", "mutual_information"):
        f = F.formula(name)
        comp = F.compiled(name)
        for _ in range(20):
            point = {k: _draw(rng, F.SYMBOLS[k]) for k in f.args}
            got = float(comp(*(point[k] for k in f.args)))
            want = sp.N(
                definition(f.expr).subs({S(k): sp.Float(x, 50) for k, x in point.items()}), 50
            )
            worst = max(worst, abs(got - float(want)) / max(abs(float(want)), 1e-300))
    pr.evidence(
        "compiled numpy = the expressions at 50 digits (7 quantities x 20 random points)",
        worst < 1e-12,
        f"max relative difference {worst:.2e} (tolerance 1e-12)",
    )
    return pr


def _draw(rng, param):
    """A random value in the symbol's domain (integers 1..20, positives log-uniform)."""
    dom = param.domain
    if dom.integer:
        return int(rng.integers(max(1, int(dom.low)), 20))
    if dom.low == 0 or dom.low > 0:
        return float(np.exp(rng.uniform(-2, 2)))
    return float(rng.uniform(-2, 2))


if __name__ == "__main__":
    run_script(run)
