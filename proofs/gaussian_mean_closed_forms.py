"""THEORY §6: the closed forms of Model A derived symbolically from their definitions.

Every quantity factorises over the d coordinates (isotropic data and kernels), so each is derived
for one coordinate j with its own ``m_j, b_j`` and summed.  Expectations of polynomials in
independent standard normals are taken exactly (:func:`kdtheory.proof.gaussian_expectation`).
The last steps tie the implementation (``GaussianMeanModel``) to the derived expressions.

Run: ``python proofs/gaussian_mean_closed_forms.py``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from kdtheory.models import GaussianMeanModel
from kdtheory.proof import Proof, gaussian_expectation, run_script

a, aS, aT, kappa = sp.symbols("a a_S a_T kappa", real=True)
b, bS, bT, m, w, m0 = sp.symbols("b b_S b_T m w m0", real=True)
s, tau, tS, tT, gam, lam, lamS, gamS = sp.symbols(
    "s tau tau_S tau_T gamma lambda lambda_S gamma_S", positive=True
)
alpha = sp.Symbol("alpha", nonnegative=True)
n = sp.Symbol("n", positive=True, integer=True)
eta, xi = sp.symbols("eta xi", real=True)  # standard normals: delta = sqrt(v) eta, kernel noise xi
v = s**2 / n


def phi(x):
    return x - 1 - sp.log(x)


def run() -> Proof:
    pr = Proof("Model A closed forms from definitions", "THEORY §6.1-§6.4")

    # 1. L_D(w) = (w - Zbar)^2 + S_D per coordinate (fixed n = 1..5)
    ok = True
    for k in range(1, 6):
        z = sp.symbols(f"z1:{k + 1}", real=True)
        zbar = sum(z) / k
        lhs = sum((w - zi) ** 2 for zi in z) / k
        rhs = (w - zbar) ** 2 + sum((zi - zbar) ** 2 for zi in z) / k
        ok &= sp.expand(lhs - rhs) == 0
    pr.fact("L_D(w) = ||w - Zbar||^2 + S_D (checked exactly for n = 1..5)", ok)

    # 2. E S_D = (n-1) s^2 / n per coordinate (fixed n = 1..5, Z_i = m + s eps_i)
    ok = True
    for k in range(1, 6):
        eps = sp.symbols(f"e1:{k + 1}", real=True)
        z = [m + s * e for e in eps]
        zbar = sum(z) / k
        es = gaussian_expectation(sum((zi - zbar) ** 2 for zi in z) / k, eps)
        ok &= sp.simplify(es - (k - 1) * s**2 / k) == 0
    pr.fact("E S_D = (n-1) s^2/n per coordinate (exact for n = 1..5)", ok)

    # 3. the gap per coordinate, and gen
    delta = sp.sqrt(v) * eta
    zbar = m + delta
    l_mu = (w - m) ** 2 + s**2
    S_D = sp.Symbol("S_D", nonnegative=True)
    g = l_mu - ((w - zbar) ** 2 + S_D)
    pr.identity(
        "g(w, D) = 2 (w - m) delta - delta^2 + s^2 - S_D",
        g,
        2 * (w - m) * delta - delta**2 + s**2 - S_D,
        simplify=lambda e: sp.expand(e),
    )
    c_k = (a - 1) * m + b
    W = a * zbar + b + tau * xi
    pr.identity(
        "W - m = a delta + c_K + tau xi", W - m, a * delta + c_k + tau * xi, simplify=sp.expand
    )
    g_w = g.subs(w, W)
    gen1 = gaussian_expectation(g_w, [eta, xi]).subs(S_D, (n - 1) * s**2 / n)
    pr.identity("gen per coordinate = 2 a s^2 / n (so gen = 2 a d s^2/n)", gen1, 2 * a * s**2 / n)

    # 4. KL_D from the definition E_p[log p - log q] for one coordinate
    mu1, mu2 = sp.symbols("mu1 mu2", real=True)
    x = mu1 + tS * xi
    logp = -((x - mu1) ** 2) / (2 * tS**2) - sp.log(tS)
    logq = -((x - mu2) ** 2) / (2 * tT**2) - sp.log(tT)
    kl1 = gaussian_expectation(sp.expand(logp - logq), [xi])
    pr.identity(
        "KL(N(mu1, tS^2) || N(mu2, tT^2)) = phi(tS^2/tT^2)/2 + (mu1 - mu2)^2/(2 tT^2)",
        kl1,
        phi(tS**2 / tT**2) / 2 + (mu1 - mu2) ** 2 / (2 * tT**2),
        simplify=lambda e: sp.simplify(sp.expand_log(e, force=True)),
    )
    mean_diff = (aS * zbar + bS) - (aT * zbar + bT)
    c_delta = (aS - aT) * m + (bS - bT)
    pr.identity(
        "mu_S(D) - mu_T(D) = c_Delta + da delta",
        mean_diff,
        c_delta + (aS - aT) * delta,
        simplify=sp.expand,
    )

    # 5. K_n = E_D KL_D = offset + estimation + spread (per coordinate)
    kl_d = phi(tS**2 / tT**2) / 2 + mean_diff**2 / (2 * tT**2)
    kn1 = gaussian_expectation(sp.expand(kl_d), [eta])
    offset = c_delta**2 / (2 * tT**2)
    estimation = (aS - aT) ** 2 * v / (2 * tT**2)
    spread = phi(tS**2 / tT**2) / 2
    pr.identity(
        "K_n per coordinate = offset + estimation + spread", kn1, offset + estimation + spread
    )

    # 6. conditional proxy: given D, g(W_T, D) is Gaussian in xi with variance 4 tau^2 delta^2
    gT = g.subs(w, aT * zbar + bT + tT * xi)
    cond_mean = gaussian_expectation(sp.expand(gT), [xi])
    cond_var = gaussian_expectation(sp.expand((gT - cond_mean) ** 2), [xi])
    pr.identity(
        "Var(g(W_T, D) | D) = 4 tau_T^2 delta^2", cond_var, 4 * tT**2 * delta**2, simplify=sp.expand
    )
    pr.fact(
        "g(W_T, D) | D is affine in the Gaussian xi, hence exactly Gaussian (degree 1 in xi)",
        sp.Poly(sp.expand(gT), xi).degree() == 1,
    )
    pr.identity(
        "E_D sigma_D^2 = 4 tau_T^2 s^2/n per coordinate",
        gaussian_expectation(sp.expand(cond_var), [eta]),
        4 * tT**2 * s**2 / n,
    )

    # 7. mutual information of the Gaussian channel D -> W (per coordinate)
    h_w = sp.log(2 * sp.pi * sp.E * (a**2 * v + tau**2)) / 2
    h_w_given_d = sp.log(2 * sp.pi * sp.E * tau**2) / 2
    pr.identity(
        "I(W; D) = h(W) - h(W|D) = log(1 + q)/2 with q = a^2 v/tau^2",
        h_w - h_w_given_d,
        sp.log(1 + a**2 * v / tau**2) / 2,
        simplify=lambda e: sp.simplify(sp.expand_log(e, force=True)),
    )

    # 8. Gibbs kernel by completing the square, and gen = I_SKL / gamma
    log_gibbs = -lam * (w - m0) ** 2 / 2 - gam * (w - zbar) ** 2
    prec = -2 * sp.Poly(sp.expand(log_gibbs), w).coeff_monomial(w**2)
    mean = sp.Poly(sp.expand(log_gibbs), w).coeff_monomial(w) / prec
    pr.identity("Gibbs precision = lam + 2 gamma", prec, lam + 2 * gam)
    pr.identity(
        "Gibbs mean = a Zbar + b with a = 2g/(l+2g), b = l m0/(l+2g)",
        mean,
        2 * gam / (lam + 2 * gam) * zbar + lam * m0 / (lam + 2 * gam),
    )
    a_g, tau2_g = 2 * gam / (lam + 2 * gam), 1 / (lam + 2 * gam)
    pr.identity(
        "Gibbs: gen = I_SKL / gamma (Aminian et al. 2021)",
        2 * a_g * s**2 / n,
        (a_g**2 * v / tau2_g) / gam,
    )

    # 9. KD student: Gibbs on alpha L_D + (1 - alpha)(w - mu_T)^2
    mu_T = aT * zbar + bT
    log_kd = -lamS * (w - m0) ** 2 / 2 - gamS * (
        alpha * (w - zbar) ** 2 + (1 - alpha) * (w - mu_T) ** 2
    )
    pk = sp.Poly(sp.expand(log_kd), w)
    prec_kd = -2 * pk.coeff_monomial(w**2)
    mean_kd = pk.coeff_monomial(w) / prec_kd
    k_s = 2 * gamS / (lamS + 2 * gamS)
    pr.identity("KD student precision = lam_S + 2 gamma_S", prec_kd, lamS + 2 * gamS)
    pr.identity(
        "KD student mean: a_S = k_S (alpha + (1-alpha) a_T), b_S = k_S (1-alpha) b_T + lam_S m0/(lam_S+2 gamma_S)",
        mean_kd,
        k_s * (alpha + (1 - alpha) * aT) * zbar
        + k_s * (1 - alpha) * bT
        + lamS * m0 / (lamS + 2 * gamS),
    )

    # 10. the implementation equals the derived expressions at random points
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(25):
        d = int(rng.integers(1, 4))
        nn, ss = int(rng.integers(1, 20)), float(rng.uniform(0.2, 3))
        mm = rng.normal(size=d)
        model = GaussianMeanModel(d, nn, ss, mm)
        T = model.kernel(rng.normal(), rng.normal(size=d), rng.uniform(0.2, 2))
        S = model.kernel(rng.normal(), rng.normal(size=d), rng.uniform(0.2, 2))
        subs = {n: nn, s: ss, aS: S.a, aT: T.a, tS: S.tau, tT: T.tau}
        parts = model.divergence_parts(S, T)
        derived = {
            "offset": sum(
                float(offset.subs({**subs, m: mm[j], bS: S.b[j], bT: T.b[j]})) for j in range(d)
            ),
            "estimation": d * float(estimation.subs(subs)),
            "spread": d * float(spread.subs(subs)),
        }
        checks = [
            (model.gen(T), d * float(gen1.subs({a: T.a, n: nn, s: ss}))),
            (model.conditional_proxy(T), d * 4 * T.tau**2 * ss**2 / nn),
            (
                model.mutual_information(T),
                d * float((h_w - h_w_given_d).subs({a: T.a, tau: T.tau, n: nn, s: ss})),
            ),
        ] + [(parts[k], derived[k]) for k in parts]
        for got, want in checks:
            worst = max(worst, abs(got - want) / max(abs(want), 1e-300))
    pr.evidence(
        "GaussianMeanModel equals the derived forms at 25 random points (rtol 1e-12)",
        worst < 1e-12,
        f"max relative difference {worst:.2e}",
    )
    return pr


if __name__ == "__main__":
    run_script(run)
