"""The lower bound under a central condition and the exact-CGF bounds (THEORY §3, §4, §6.5).

* ``L`` — Theorem L: ``gen_S >= c gen_T - K_n / eta`` under the (eta, c)-central condition
  (THEORY §4) [reconstructed].
* ``U-joint`` / ``U-joint-lower`` — the exact joint-CGF bounds on ``dgen`` (THEORY §3)
  [extension].  Each statement holds for *every* ``theta > 0``; a model supplies the optimising
  ``theta*`` and the CGF value there, so the right-hand side equals the infimum.
* ``U-gamma`` / ``L-gamma`` — the sub-gamma (Bernstein) forms (THEORY §3, §6.5) [extension].

Ratios: for the lower bounds ``reference = gen_T`` (Theorem L, L-gamma) or ``0`` (U-joint-lower on
``dgen``), so that ``ratio = (lhs - ref) / (rhs - ref) <= 1`` exactly when the bound holds
(:meth:`kdtheory.theorems.Theorem.evaluate`) — the bound's right-hand side lies below the
reference whenever ``K_n > 0``.
"""

from __future__ import annotations

import sympy as sp

from ..assumptions import CentralCondition, SubGamma
from ..symbols import symbol
from . import upper  # noqa: F401  (registration order: the lemmas and Theorem U first)
from .base import Status, Theorem
from .registry import register

__all__ = [
    "THEOREM_L",
    "THEOREM_U_JOINT",
    "THEOREM_U_JOINT_LOWER",
    "THEOREM_U_GAMMA",
    "THEOREM_L_GAMMA",
]

_K_n, _dgen = symbol("K_n"), symbol("dgen")
_gen_S, _gen_T = symbol("gen_S"), symbol("gen_T")
_eta, _c, _theta = symbol("eta"), symbol("c"), symbol("theta")
_V, _b = symbol("V_g"), symbol("b_g")

THEOREM_L = register(
    Theorem(
        id="L",
        name="Theorem L, lower bound under a central condition",
        status=Status.RECONSTRUCTED,
        ref="THEORY §4",
        statement=sp.Ge(_gen_S, _c * _gen_T - _K_n / _eta),
        reference=_gen_T,
        assumptions=(CentralCondition(),),
        proof_sketch=(
            r"Lemma DV on the joint laws with $f=-\eta g$: $-\eta\,\mathrm{gen}_S\le K_n+\log"
            r"\mathbb{E}_T e^{-\eta g}\le K_n-c\eta\,\mathrm{gen}_T$; divide by $-\eta<0$. Linear in "
            r"$K_n$ (no Jensen step); it beats the square-root form iff $K_n<K^*=2\eta^2\sigma^2$."
        ),
        notes=(
            "Admissible (eta, c): eta in (0, eta_c] with c in [0, c*(eta)], c*(eta) = "
            "-log E exp(-eta g) / (eta gen_T). c = 1 is impossible unless g is constant (N6), "
            "and the no-slack form gen_S >= gen_T - K_n/eta is false (N5)."
        ),
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_cgf.py"),
    )
)

THEOREM_U_JOINT = register(
    Theorem(
        id="U-joint",
        name="Theorem U-joint, exact joint CGF (upper side)",
        status=Status.EXTENSION,
        ref="THEORY §3",
        statement=sp.Le(_dgen, (_K_n + symbol("Lambda_T")) / _theta),
        proof_sketch=(
            r"Lemma DV on the joint laws with $f=\theta(g-\mathrm{gen}_T)$, $\theta>0$: "
            r"$\theta\,\Delta\mathrm{gen}\le K_n+\Lambda(\theta)$. The objective "
            r"$(K_n+\Lambda(\theta))/\theta$ is unimodal, since "
            r"$\frac{d}{d\theta}(\theta\Lambda'-\Lambda)=\theta\Lambda''\ge0$; its minimiser solves "
            r"$\theta\Lambda'(\theta)-\Lambda(\theta)=K_n$."
        ),
        notes=(
            "Holds for every theta > 0; evaluated at the optimising theta* supplied by the model, "
            "the right-hand side is inf_theta (K_n + Lambda(theta))/theta."
        ),
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_cgf.py"),
    )
)

THEOREM_U_JOINT_LOWER = register(
    Theorem(
        id="U-joint-lower",
        name="Theorem U-joint, exact joint CGF (lower side)",
        status=Status.EXTENSION,
        ref="THEORY §3, §4",
        statement=sp.Ge(_dgen, -(_K_n + symbol("Lambda_T_neg")) / _theta),
        proof_sketch=(
            r"Lemma DV with $f=-\theta(g-\mathrm{gen}_T)$, $\theta>0$. Equals Theorem L optimised "
            r"over $\eta=\theta$ with the best slack $c^*(\eta)$ allowed negative (THEORY §4)."
        ),
        notes="Holds for every theta > 0; evaluated at the optimising theta* (the infimum).",
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_cgf.py"),
    )
)

_GAMMA_SKETCH = (
    r"Insert the sub-gamma envelope into U-joint: $\inf_{0<\theta<1/b_g}"
    r"\left(K_n/\theta+V_g\theta/(2(1-b_g\theta))\right)=\sqrt{2V_gK_n}+b_gK_n$, attained at "
    r"$\theta^*=1/(b_g+\sqrt{V_g/(2K_n)})$."
)

THEOREM_U_GAMMA = register(
    Theorem(
        id="U-gamma",
        name="Theorem U-gamma, sub-gamma (Bernstein) upper bound",
        status=Status.EXTENSION,
        ref="THEORY §3, §6.5",
        statement=sp.Le(_dgen, sp.sqrt(2 * _V * _K_n) + _b * _K_n),
        assumptions=(SubGamma(side="upper"),),
        proof_sketch=_GAMMA_SKETCH,
        notes="The honest joint form for the squared loss, whose CGF has a finite domain.",
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_formulas_cgf.py"),
    )
)

THEOREM_L_GAMMA = register(
    Theorem(
        id="L-gamma",
        name="Theorem L-gamma, sub-gamma lower bound on gen_S",
        status=Status.EXTENSION,
        ref="THEORY §3, §6.5",
        statement=sp.Ge(_gen_S, _gen_T - sp.sqrt(2 * _V * _K_n) - _b * _K_n),
        reference=_gen_T,
        assumptions=(SubGamma(side="lower"),),
        proof_sketch=_GAMMA_SKETCH.replace("U-joint", "the lower side of U-joint"),
        notes="V_g, b_g are the lower-tail envelope constants (Lambda(-theta) side).",
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_formulas_cgf.py"),
    )
)
