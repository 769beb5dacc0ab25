"""The tightness radii of the sharpness-aware bounds (THEORY §5, §6.6), derived step by step.

Local form (Theorem S against Theorem U with a global proxy sigma): rho_0^loc is derived as the
positive root of ``s_rho = sigma``, the sign change is proved (strictly tighter iff
``rho < rho_0``, equal at ``rho_0``), and ``d rho_0 / d beta < 0`` (flatter teacher, wider regime).
Smoothing form (Theorem S' on Model A): ``B(rho)`` reduces to ``h(tau_T^2 + rho^2)``, ``rho_*`` and
``rho_0^sm`` (principal Lambert W and its series near ``t -> 1``) are derived.  Negative control:
without bounded support (Model A's Gaussian teacher) Theorem S's form fails.

Run: ``python proofs/sharpness.py`` (exit status 0 iff no step failed).
"""

from __future__ import annotations

import math

import sympy as sp

from kdtheory.proof import Proof, run_script
from kdtheory.symbols import symbol
from kdtheory.theorems import theorem
from kdtheory.theorems.sharpness import (
    RHO_0_LOCAL_STABLE,
    local_variation,
    rho_0_local_root,
    tightness_radius_local,
)

G1, beta, sigma, rho, K_n = (symbol(n) for n in ("G1", "beta", "sigma", "rho", "K_n"))


def _local(p: Proof) -> None:
    s_rho = local_variation()
    root = rho_0_local_root()
    Q = G1**2 + 2 * beta * sigma
    p.identity(
        "sympy's positive root of G1 rho + beta rho^2/2 = sigma is (sqrt(G1^2 + 2 beta sigma) - G1)/beta",
        root,
        (sp.sqrt(Q) - G1) / beta,
    )
    p.identity("it solves s_rho = sigma", s_rho.subs(rho, root) - sigma, 0)
    p.identity(
        "and equals the stable form 2 sigma / (G1 + sqrt(G1^2 + 2 beta sigma)) (THEORY §5)",
        root,
        RHO_0_LOCAL_STABLE,
    )
    gp, bp = sp.Symbol("G1_p", positive=True), sp.Symbol("beta_p", positive=True)
    pos = {G1: gp, beta: bp}
    p.fact("rho_0^loc > 0 (G1, beta, sigma > 0)", RHO_0_LOCAL_STABLE.subs(pos).is_positive)
    rho_minus = -(G1 + sp.sqrt(Q)) / beta
    p.fact("the other root -(G1 + sqrt(Q))/beta is negative", rho_minus.subs(pos).is_negative)
    p.identity(
        "factorisation s_rho - sigma = (beta/2)(rho - rho_0)(rho - rho_-)",
        sp.expand(s_rho - sigma),
        sp.expand(beta / 2 * (rho - root) * (rho - rho_minus)),
    )
    p.fact(
        "(beta/2)(rho - rho_-) > 0 for rho >= 0, so sign(s_rho - sigma) = sign(rho - rho_0)",
        (bp / 2 * (rho - rho_minus.subs(pos))).is_positive,
    )
    p.identity(
        "beta = 0 (affine gap): s_rho = G1 rho, root sigma/G1 = the stable form at beta = 0",
        RHO_0_LOCAL_STABLE.subs(beta, 0),
        sigma / G1,
    )
    p.identity(
        "G1 = 0: rho_0^loc = sqrt(2 sigma / beta)",
        RHO_0_LOCAL_STABLE.subs({G1: 0, beta: bp}),
        sp.sqrt(2 * sigma / bp),
    )
    p.identity(
        "limit beta -> 0+ of the derived root is sigma/G1",
        sp.limit(root.subs(pos), bp, 0, "+"),
        sigma / gp,
    )
    # the bounds themselves: Theorem S minus Theorem U-uniform at sigma_bar = sigma
    diff = theorem("S").rhs - theorem("U-uniform").rhs.subs(symbol("sigma_bar"), sigma)
    p.identity(
        "S bound - U bound (global proxy sigma) = (s_rho - sigma) sqrt(2 K_n): for K_n > 0, "
        "strictly tighter iff rho < rho_0^loc",
        diff,
        (s_rho - sigma) * sp.sqrt(2 * K_n),
    )
    p.identity("equal at rho = rho_0^loc", sp.simplify(diff.subs(rho, root)), 0)
    d_beta = sp.diff(RHO_0_LOCAL_STABLE, beta)
    closed = -2 * sigma**2 / (sp.sqrt(Q) * (G1 + sp.sqrt(Q)) ** 2)
    p.identity("d rho_0 / d beta = -2 sigma^2 / (sqrt(Q) (G1 + sqrt(Q))^2)", d_beta, closed)
    p.fact(
        "d rho_0 / d beta < 0: a flatter teacher (smaller beta) has a wider regime",
        closed.subs(pos).is_negative,
    )
    p.identity("tightness_radius_local() is the derived root", tightness_radius_local(), root)


def _smoothing(p: Proof) -> None:
    d, v, E2 = (sp.Symbol(x, positive=True) for x in ("d", "v", "E2"))
    ts2, tt2, r = (sp.Symbol(x, positive=True) for x in ("tau_S2", "tau_T2", "r"))
    u = tt2 + r**2
    x_ = ts2 / u
    K_u = E2 / (2 * u) + d / 2 * (x_ - 1 - sp.log(x_))  # THEORY §6.2 with tau_T^2 -> u
    esig2 = 4 * u * d * v  # THEORY §6.4 under T^rho
    h = lambda w: ts2 - w - w * sp.log(ts2 / w)  # noqa: E731
    p.identity(
        "Model A: 2 E sigma_rho^2 K_n(rho) = 4 d v (E||Delta||^2 + d h(tau_T^2 + rho^2)) (§6.6)",
        sp.expand(sp.expand_log(2 * esig2 * K_u, force=True)),
        sp.expand(sp.expand_log(4 * d * v * (E2 + d * h(u)), force=True)),
    )
    w = sp.Symbol("u", positive=True)
    p.identity(
        "h'(u) = log(u / tau_S^2)",
        sp.expand_log(sp.diff(h(w), w), force=True),
        sp.expand_log(sp.log(w / ts2), force=True),
    )
    p.fact(
        "h''(u) = 1/u > 0: h strictly convex, minimum at u = tau_S^2",
        sp.diff(h(w), w, 2).is_positive,
    )
    p.identity(
        "so rho_*^2 = tau_S^2 - tau_T^2 solves h'(tau_T^2 + rho^2) = 0 (when tau_S > tau_T)",
        sp.diff(h(w), w).subs(w, tt2 + (ts2 - tt2)),
        0,
    )
    X = sp.Symbol("x", positive=True)
    p.identity(
        "h(x tau_S^2)/tau_S^2 = 1 - x + x log x: h(u) = h(tau_T^2) iff F(x) = F(t), F(y) = y log y - y",
        sp.expand(sp.expand_log(h(X * ts2) / ts2, force=True)),
        1 - X + X * sp.log(X),
    )
    wv = sp.Symbol("w", real=True)
    xw = sp.exp(1 + wv)
    p.identity(
        "x = exp(1 + w) gives F(x) = e (w e^w); with w = W(z), F(x) = e z",
        sp.expand(xw * sp.log(xw).expand(force=True) - xw),
        sp.E * wv * sp.exp(wv),
    )
    z, y = sp.Symbol("z", negative=True), sp.Symbol("y", real=True)
    p.fact(
        "sympy solves w e^w = z as w = W(z): z = (t log t - t)/e gives F(x) = F(t) (THEORY §6.6)",
        sp.solve(sp.Eq(y * sp.exp(y), z), y) == [sp.LambertW(z)],
    )
    ok = True
    for tv in (1e-6, 0.01, 0.3, 0.7, 0.99):
        zt = (tv * math.log(tv) - tv) / math.e
        w0 = complex(sp.N(sp.LambertW(zt, 0), 30))
        wm1 = complex(sp.N(sp.LambertW(zt, -1), 30))
        ok &= abs(w0.imag) < 1e-25 and w0.real > -1 and abs(math.exp(1 + wm1.real) - tv) < 1e-12
    p.evidence(
        "for t in (0, 1): W_0 > -1 gives the root x > 1 (u > tau_S^2, rho_0 > rho_*); W_{-1} gives "
        "the trivial root x = t",
        ok,
        "t in {1e-6, .01, .3, .7, .99}, 30-digit sympy LambertW, tol 1e-12",
    )
    dl = sp.Symbol("delta_t", positive=True)
    c1, c2, c3 = sp.symbols("c1 c2 c3")
    F = lambda y: y * sp.log(y) - y  # noqa: E731
    ser = sp.Poly(
        sp.series(F(1 + c1 * dl + c2 * dl**2 + c3 * dl**3) - F(1 - dl), dl, 0, 5).removeO(), dl
    )
    coeffs = {k[0]: c for k, c in zip(ser.monoms(), ser.coeffs(), strict=True)}
    sol1 = [s for s in sp.solve(coeffs[2], c1) if s > 0]
    sol2 = sp.solve(coeffs[3].subs(c1, sol1[0]), c2)
    sol3 = sp.solve(coeffs[4].subs({c1: sol1[0], c2: sol2[0]}), c3)
    series = (1 + sol1[0] * dl + sol2[0] * dl**2 + sol3[0] * dl**3) - (1 - dl)
    p.identity(
        "series: x - t = 2 delta_t + delta_t^2/3 + delta_t^3/9 + O(delta_t^4) (root x > 1)",
        series,
        2 * dl + dl**2 / 3 + dl**3 / 9,
    )
    p.identity(
        "as tau_S -> tau_T: (rho_0^sm / rho_*)^2 = (x - t)/(1 - t) -> 2",
        sp.limit(series / dl, dl, 0),
        2,
    )


def _numbers(p: Proof) -> None:
    from kdtheory import GaussianMeanModel

    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    student = model.kernel(teacher.a, teacher.b, 1.5 * teacher.tau)
    r_star, r0 = model.optimal_radius(student, teacher), model.tightness_radius(student, teacher)
    p.evidence(
        "golden values THEORY §9: rho_* = 0.5157106231293969, rho_0^sm = 0.7712129493364144",
        math.isclose(r_star, 0.5157106231293969, rel_tol=1e-12)
        and math.isclose(r0, 0.7712129493364144, rel_tol=1e-12),
        f"got {r_star!r}, {r0!r}; rtol 1e-12",
    )
    b0, b_r0 = (
        model.smoothing_bound(student, teacher, 0.0),
        model.smoothing_bound(student, teacher, r0),
    )
    p.evidence("B(rho_0^sm) = B(0)", abs(b_r0 - b0) < 1e-12 * b0, f"|diff| = {abs(b_r0 - b0):.3g}")
    # negative control: Theorem S's form without bounded support (Model A, tilt student)
    tilt = model.tilt_student(teacher, 0.4)
    vals = model.theorem_values(tilt, teacher)
    ev = theorem("S").evaluate(
        dgen=vals["dgen"],
        K_n=vals["K_n"],
        G1=2 * math.sqrt(model.d * model.v),  # RMS of ||grad g|| = 2 ||delta||; no finite sup
        beta=0.0,  # g is affine in w
        rho=teacher.tau / 2,  # half a standard deviation: the kernel is not in any ball
    )
    p.counterexample(
        "drop bounded support: Model A's Gaussian teacher, G1 = RMS gradient, beta = 0, "
        "rho = tau_T/2 -> the tilt student (kappa = .4) violates |dgen| <= s_rho sqrt(2 K_n)",
        not ev.all_hold,
        f"|dgen| = {float(ev.lhs):.6g} > bound {float(ev.rhs):.6g} (ratio {float(ev.ratio):.6g})",
    )


def _bump(p: Proof) -> None:
    from kdtheory import BumpLossModel

    m = BumpLossModel(d=1, n=2, s=1.0, m=0.0, beta=0.5)
    out = []
    for b in (0.0, 2.0):  # teacher at the bump's centre, and on its flank
        t, s = m.kernel(1.0, b, 0.3), m.kernel(1.0, b, 0.45)
        k = [m.smoothing_values(s, t, r)["K_n_rho"] for r in (0.1, 0.5, 1.0)]
        out.append((m.sharpness_gap(t, 0.3), m.tightness_radius(s, t), k))
    (sh_c, r_c, k_c), (sh_f, r_f, k_f) = out
    p.evidence(
        "Model A-bump: Sh_rho != 0 and teacher flatness moves rho_0^sm (same K_n(rho) profile)",
        sh_c < 0 < sh_f
        and r_c > r_f > 0
        and all(math.isclose(a, b) for a, b in zip(k_c, k_f, strict=True)),
        f"centre teacher Sh_.3 = {sh_c:.4g}, rho_0 = {r_c:.6g}; flank teacher Sh_.3 = {sh_f:.4g}, "
        f"rho_0 = {r_f:.6g} (numeric first crossing, Brent xtol 1e-14 rho)",
    )


def run() -> Proof:
    p = Proof("Sharpness-aware bounds: tightness radii", "THEORY §5, §6.6")
    _local(p)
    _smoothing(p)
    _numbers(p)
    _bump(p)
    return p


if __name__ == "__main__":
    run_script(run)
