"""Theorem L from Lemma DV, the crossover K* = 2 eta^2 sigma^2, why the centred central
condition forces a constant gap (N6, Jensen), and the U-joint / U-gamma optimisations —
THEORY §2, §3, §4, §8.

Run ``python proofs/lower_bound.py``: prints PROVED / EVIDENCE per step, exits 1 if a step failed.
"""

from __future__ import annotations

import math

import sympy as sp
from scipy import optimize

from kdtheory.models import GaussianMeanModel
from kdtheory.proof import Proof, run_script
from kdtheory.symbols import symbol
from kdtheory.theorems import theorem


def _golden_case():
    """THEORY §9: d=3, n=7, s=1.3, m=(.5,-1,2); Gibbs teacher; KD student (mean soft labels)."""
    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    student = model.kd_student(teacher, alpha=0.3, gamma=1.0, lam=2.0, m0=0.0)
    return model, student, teacher


def run() -> Proof:
    pf = Proof("Theorem L, the crossover K*, and N6", "THEORY §4, §8")
    eta, c, k_n = symbol("eta"), symbol("c"), symbol("K_n")
    gen_s, gen_t, sigma = symbol("gen_S"), symbol("gen_T"), symbol("sigma")
    thm_l = theorem("L")

    # -- 1. Theorem L from DV ---------------------------------------------------------------
    # DV with Q = P_D x P_{W_S|D}, P = P_D x P_{W_T|D}, f = -eta g:
    #   E_Q f = -eta gen_S <= K_n + log E_P exp(-eta g) <= K_n - c eta gen_T  (central condition).
    dv_rhs = k_n - c * eta * gen_t
    slack_dv = dv_rhs - (-eta * gen_s)  # >= 0 by DV + the central condition
    slack_l = thm_l.lhs - thm_l.rhs  # gen_S - (c gen_T - K_n/eta): Theorem L's slack
    pf.identity(
        "Theorem L's slack = (DV slack with f = -eta g, after the central condition) / eta",
        slack_l,
        slack_dv / eta,
    )
    pf.fact(
        "dividing by eta keeps the direction: eta > 0 (so the DV slack >= 0 gives L's slack >= 0)",
        (1 / eta).is_positive,
    )
    pf.fact(
        "the registered statement of L is a lower bound on gen_S with reference gen_T",
        thm_l.lhs == gen_s and not thm_l.is_upper and thm_l.reference == gen_t,
    )
    pf.identity(
        "Theorem L's bound is linear in K_n with slope -1/eta (no Jensen or Cauchy-Schwarz step)",
        sp.diff(thm_l.rhs, k_n),
        -1 / eta,
    )

    # -- 2. the crossover K* = 2 eta^2 sigma^2 ----------------------------------------------
    linear, root = k_n / eta, sp.sqrt(2 * sigma**2 * k_n)
    sols = sp.solve(sp.Eq(linear**2, root**2), k_n)
    k_star = [s_ for s_ in sols if s_ != 0]
    pf.fact(
        "K_n/eta = sqrt(2 sigma^2 K_n) has exactly one positive root K* = 2 eta^2 sigma^2",
        len(k_star) == 1 and sp.simplify(k_star[0] - 2 * eta**2 * sigma**2) == 0,
        f"solutions of the squared equation: {sols}",
    )
    t, u = sp.symbols("t u", positive=True)
    diff_at = sp.expand((linear - root).subs(k_n, 2 * eta**2 * sigma**2 * t**2))
    pf.identity(
        "at K_n = t^2 K*: K_n/eta - sqrt(2 sigma^2 K_n) = 2 eta sigma^2 t (t - 1)",
        diff_at,
        2 * eta * sigma**2 * t * (t - 1),
    )
    below = (2 * eta * sigma**2 * t * (t - 1)).subs(t, 1 / (1 + u))
    above = (2 * eta * sigma**2 * t * (t - 1)).subs(t, 1 + u)
    pf.fact(
        "K_n < K* (t = 1/(1+u)): the linear term is strictly smaller (sharper)",
        sp.simplify(below).is_negative,
    )
    pf.fact("K_n > K* (t = 1+u): the square-root term is smaller", sp.simplify(above).is_positive)

    # -- 3. N6: the centred condition forces a constant gap (Jensen) -------------------------
    x = sp.Symbol("x", real=True)
    h = sp.exp(x) - 1 - x
    pf.fact(
        "h(x) = exp(x) - 1 - x has h(0) = 0, h'(0) = 0 and h'' = exp(x) > 0",
        h.subs(x, 0) == 0 and sp.diff(h, x).subs(x, 0) == 0 and sp.diff(h, x, 2).is_positive,
    )
    pf.fact(
        "hence exp(x) >= 1 + x with equality only at x = 0 (h is strictly convex, min at 0)",
        sp.solve(sp.diff(h, x), x) == [0],
    )
    # put x = -eta (g - E g) and take expectations: E exp(-eta (g - Eg)) >= 1 + E[-eta (g - Eg)] = 1
    g_, eg = sp.symbols("g Eg", real=True)
    pf.identity(
        "E[1 + x] at x = -eta (g - E g) is 1 (linearity: E(g - E g) = 0)",
        (1 + (-eta * (g_ - eg))).subs(g_, eg),
        1,
    )
    pf.identity(
        "the (eta, c = 1) condition is the centred one: exp(-eta g) / exp(-c eta gen_T) at c = 1 "
        "is exp(-eta (g - gen_T)); so, by the steps above, E exp(-eta (g - E g)) <= 1 forces "
        "E h(x) = 0, i.e. x = 0 a.s. and g constant (N6; c = 1 impossible otherwise)",
        (sp.exp(-eta * g_) / sp.exp(-c * eta * gen_t)).subs(c, 1),
        sp.exp(-eta * (g_ - gen_t)),
        simplify=lambda e: sp.simplify(sp.powsimp(e)),
    )

    # -- 4. U-joint unimodality and the U-gamma optimum (THEORY §3) --------------------------
    th = sp.Symbol("theta", positive=True)
    cgf = sp.Function("Lambda")
    objective = (k_n + cgf(th)) / th
    pf.identity(
        "U-joint: d/dtheta [(K_n + Lambda)/theta] = (theta Lambda' - Lambda - K_n)/theta^2",
        sp.diff(objective, th),
        (th * sp.diff(cgf(th), th) - cgf(th) - k_n) / th**2,
    )
    pf.identity(
        "U-joint: d/dtheta (theta Lambda' - Lambda) = theta Lambda'' >= 0 (Lambda convex), so the "
        "stationarity equation theta Lambda' - Lambda = K_n has one root: the objective is unimodal",
        sp.diff(th * sp.diff(cgf(th), th) - cgf(th), th),
        th * sp.diff(cgf(th), th, 2),
    )
    v_g, b_g = symbol("V_g"), symbol("b_g")
    envelope = k_n / th + v_g * th / (2 * (1 - b_g * th))
    th_star = 1 / (b_g + sp.sqrt(v_g / (2 * k_n)))
    pf.identity(
        "U-gamma: theta* = 1/(b_g + sqrt(V_g/(2 K_n))) is stationary for "
        "K_n/theta + V_g theta/(2 (1 - b_g theta))",
        sp.together(sp.diff(envelope, th).subs(th, th_star)),
        0,
    )
    pf.identity(
        "U-gamma: the envelope at theta* is sqrt(2 V_g K_n) + b_g K_n (the registered statement)",
        envelope.subs(th, th_star),
        theorem("U-gamma").rhs,
    )

    # -- 5. numeric evidence on the golden case (THEORY §9) ---------------------------------
    model, student, teacher = _golden_case()
    vals = model.theorem_values(student, teacher)
    eta_c = model.eta_central(teacher)
    pf.evidence(
        "eta_c is the positive root: log E exp(-eta_c g) = 0 (|.| <= 1e-13)",
        abs(model.joint_cgf(teacher, -eta_c)) <= 1e-13,
        f"eta_c = {eta_c!r}",
    )
    ev = thm_l.evaluate(**vals, eta=eta_c, c=0.0)
    pf.evidence(
        "Theorem L at (eta_c, c = 0) holds on the golden case",
        ev.all_hold,
        f"gen_S = {float(ev.lhs):.6f} >= {float(ev.rhs):.6f}",
    )
    lam = [model.centred_cgf(teacher, -e) for e in (0.05, 0.3, eta_c, 1.0)]
    pf.evidence(
        "N6: the centred CGF Lambda(-eta) > 0 at eta = 0.05, 0.3, eta_c, 1 (g non-constant)",
        all(v > 0 for v in lam),
        ", ".join(f"{v:.4g}" for v in lam),
    )
    low = model.u_joint_lower(student, teacher)

    def neg_l(e):
        return -(model.central_slack(teacher, e) * vals["gen_T"] - vals["K_n"] / e)

    edge = -model.cgf_domain(teacher)[0]
    opt = optimize.minimize_scalar(
        neg_l, bounds=(1e-3, edge * (1 - 1e-9)), method="bounded", options={"xatol": 1e-12}
    )
    sup_l = -float(opt.fun)
    pf.evidence(
        "sup over eta of Theorem L with c*(eta) allowed negative = gen_T + U-joint lower side "
        "(rel. 1e-9; a bounded scalar optimiser)",
        math.isclose(sup_l, vals["gen_T"] + low.value, rel_tol=1e-9),
        f"{sup_l!r} vs {vals['gen_T'] + low.value!r} at eta = {float(opt.x):.9f}",
    )

    # -- 6. negative control: drop the slack (c = 1 in place of c*) -> N5 is violated ---------
    tilt = model.tilt_student(teacher, -0.05)
    tv = model.theorem_values(tilt, teacher)
    n5 = theorem("N5").evaluate(**tv, eta=eta_c)
    pf.counterexample(
        "without the slack (N5: gen_S >= gen_T - K_n/eta) the tilt student kappa = -0.05 "
        "violates it at eta = eta_c (K_n < 2 eta^2 Esigma2)",
        not n5.all_hold and tv["K_n"] < 2 * eta_c**2 * tv["Esigma2"],
        f"gen_S = {float(n5.lhs):.6f} < {float(n5.rhs):.6f}",
    )
    return pf


if __name__ == "__main__":
    run_script(run)
