"""THEORY §6.4: in Model A, ``dgen / U1 <= 1`` with equality iff ``c_Delta = 0``, ``r = 1`` and
``da > 0`` -- the tilt student attains Theorem U1 exactly, so the bound cannot be improved.

Run: ``python proofs/equality_tilt.py``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from kdtheory.models import GaussianMeanModel
from kdtheory.proof import Proof, run_script
from kdtheory.symbols import symbol
from kdtheory.theorems import theorem


def run() -> Proof:
    pr = Proof("Theorem U1 is attained by the tilt student", "THEORY §6.4")
    d, n = sp.symbols("d n", positive=True, integer=True)
    s, tT, r = sp.symbols("s tau_T r", positive=True)
    da = sp.Symbol("da", real=True)
    cn2 = sp.Symbol("c2", nonnegative=True)  # ||c_Delta||^2
    v = s**2 / n
    phi_r = r - 1 - sp.log(r)

    dgen = 2 * da * d * s**2 / n  # gen_S - gen_T, THEORY §6.1
    k_n = cn2 / (2 * tT**2) + da**2 * d * v / (2 * tT**2) + d * phi_r / 2  # THEORY §6.2
    esigma2 = 4 * tT**2 * d * s**2 / n  # THEORY §6.4
    u1 = theorem("U1").rhs.subs({symbol("Esigma2"): esigma2, symbol("K_n"): k_n})
    ratio_sq = sp.simplify((dgen / u1) ** 2)
    closed = da**2 * d * v / (cn2 + da**2 * d * v + d * tT**2 * phi_r)
    pr.identity(
        "(dgen/U1)^2 = da^2 d v / (||c_Delta||^2 + da^2 d v + d tau_T^2 phi(r))", ratio_sq, closed
    )
    rest = cn2 + d * tT**2 * phi_r
    pr.identity(
        "1 - (dgen/U1)^2 = (||c_Delta||^2 + d tau_T^2 phi(r)) / (same denominator)",
        1 - closed,
        rest / (cn2 + da**2 * d * v + d * tT**2 * phi_r),
    )
    x = sp.Symbol("x", positive=True)
    phi_x = x - 1 - sp.log(x)
    crit = sp.solve(sp.diff(phi_x, x), x)
    pr.fact("phi'(x) = 1 - 1/x vanishes only at x = 1", crit == [1], f"roots {crit}")
    pr.fact(
        "phi''(x) = 1/x^2 > 0: phi is strictly convex with phi(1) = 0, so phi(r) >= 0 "
        "with equality iff r = 1",
        sp.diff(phi_x, x, 2).is_positive and phi_x.subs(x, 1) == 0,
    )
    pr.fact(
        "hence 1 - (dgen/U1)^2 >= 0: numerator is a sum of non-negative terms",
        (cn2 + d * tT**2 * sp.Symbol("p", nonnegative=True)).is_nonnegative,
    )
    pr.identity(
        "with c_Delta = 0 and r = 1 the ratio^2 is exactly 1", closed.subs({cn2: 0, r: 1}), 1
    )
    dp = sp.Symbol("da_pos", positive=True)
    at_tilt = (dgen / u1).subs({cn2: 0, r: 1})
    pr.identity("da > 0: dgen/U1 = +1 (the upper side is attained)", at_tilt.subs(da, dp), 1)
    pr.identity("da < 0: dgen/U1 = -1 (the lower side is attained)", at_tilt.subs(da, -dp), -1)

    # the tilt student has c_Delta = 0 and r = 1 (THEORY §6 constructors)
    kappa, a_T = sp.symbols("kappa a_T", real=True)
    m, b_T = sp.symbols("m b_T", real=True)
    a_S, b_S = a_T + kappa, b_T - kappa * m
    pr.identity("tilt: c_Delta = (a_S - a_T) m + (b_S - b_T) = 0", (a_S - a_T) * m + (b_S - b_T), 0)

    # the implementation attains it
    rng = np.random.default_rng(2)
    worst = 0.0
    for _ in range(50):
        dd = int(rng.integers(1, 5))
        model = GaussianMeanModel(
            dd, int(rng.integers(1, 30)), float(rng.uniform(0.1, 5)), rng.normal(size=dd)
        )
        T = model.gibbs(float(rng.uniform(0.1, 5)), float(rng.uniform(0, 3)), rng.normal(size=dd))
        S = model.tilt_student(T, float(rng.uniform(0.01, 2)) * (1 if rng.random() < 0.5 else -1))
        ev = theorem("U1").evaluate(**model.theorem_values(S, T))
        worst = max(worst, abs(float(ev.ratio) - 1))
    pr.evidence(
        "50 random tilt students reach |dgen|/U1 = 1 (|ratio - 1| < 1e-12)",
        worst < 1e-12,
        f"max |ratio - 1| = {worst:.1e}",
    )
    # negative control: any offset breaks equality
    model = GaussianMeanModel(2, 5, 1.0, [0.3, -0.2])
    T = model.gibbs(1.0, 0.5)
    S = model.kernel(T.a + 0.4, T.b + 0.1, T.tau)
    ev = theorem("U1").evaluate(**model.theorem_values(S, T))
    pr.counterexample(
        "a student with c_Delta != 0 stays strictly below the bound",
        float(ev.ratio) < 1 - 1e-3,
        f"ratio {float(ev.ratio):.6f}",
    )
    return pr


if __name__ == "__main__":
    run_script(run)
