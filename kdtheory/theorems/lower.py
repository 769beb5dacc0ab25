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
        name="Lower bound under a central condition",
        status=Status.RECONSTRUCTED,
        ref="THEORY §4",
        statement=sp.Ge(_gen_S, _c * _gen_T - _K_n / _eta),
        reference=_gen_T,
        assumptions=(CentralCondition(),),
        proof_sketch=(
            r"The change of measure on the joint laws with $f=-\eta g$: $-\eta\,\mathrm{gen}_S\le K_n+\log"
            r"\mathbb{E}_T e^{-\eta g}\le K_n-c\eta\,\mathrm{gen}_T$; divide by $-\eta<0$. Linear in "
            r"$K_n$ (no Jensen step); it beats the square-root form iff $K_n<K^*=2\eta^2\sigma^2$."
        ),
        notes=(
            r"Admissible $(\eta,c)$: $\eta\in(0,\eta_c]$ and $c\in[0,c^*(\eta)]$ with "
            r"$c^*(\eta)=-\log\mathbb{E}\,e^{-\eta g}/(\eta\,\mathrm{gen}_T)$. The slack "
            r"$c=1$ is impossible unless $g$ is constant, and the no-slack form "
            r"$\mathrm{gen}_S\ge\mathrm{gen}_T-K_n/\eta$ is false (THEORY §8, N5 and N6)."
        ),
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_cgf.py"),
    )
)

THEOREM_U_JOINT = register(
    Theorem(
        id="U-joint",
        name="Exact joint-CGF bound, upper side",
        status=Status.EXTENSION,
        ref="THEORY §3",
        statement=sp.Le(_dgen, (_K_n + symbol("Lambda_T")) / _theta),
        proof_sketch=(
            r"The change of measure on the joint laws with $f=\theta(g-\mathrm{gen}_T)$, $\theta>0$: "
            r"$\theta\,\Delta\mathrm{gen}\le K_n+\Lambda(\theta)$. The objective "
            r"$(K_n+\Lambda(\theta))/\theta$ is unimodal, since "
            r"$\frac{d}{d\theta}(\theta\Lambda'-\Lambda)=\theta\Lambda''\ge0$; its minimiser solves "
            r"$\theta\Lambda'(\theta)-\Lambda(\theta)=K_n$."
        ),
        notes=(
            r"Holds for every $\theta>0$; at the minimising $\theta^*$ (supplied by the model) "
            r"the right-hand side is $\inf_{\theta>0}(K_n+\Lambda(\theta))/\theta$."
        ),
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_cgf.py"),
    )
)

THEOREM_U_JOINT_LOWER = register(
    Theorem(
        id="U-joint-lower",
        name="Exact joint-CGF bound, lower side",
        status=Status.EXTENSION,
        ref="THEORY §3, §4",
        statement=sp.Ge(_dgen, -(_K_n + symbol("Lambda_T_neg")) / _theta),
        proof_sketch=(
            r"The change of measure with $f=-\theta(g-\mathrm{gen}_T)$, $\theta>0$. This is the "
            r"lower bound under a central condition optimised over $\eta=\theta$, with the best "
            r"slack $c^*(\eta)$ allowed to be negative."
        ),
        notes=(
            r"Holds for every $\theta>0$; at the minimising $\theta^*$ the right-hand side is "
            r"$-\inf_{\theta>0}(K_n+\Lambda(-\theta))/\theta$."
        ),
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_cgf.py"),
    )
)

_GAMMA_SKETCH = (
    r"Insert the sub-gamma envelope into the exact joint-CGF bound (upper side):"
    r"\[\inf_{0<\theta<1/b_g}\Bigl(\frac{K_n}{\theta}+\frac{V_g\theta}{2(1-b_g\theta)}\Bigr)"
    r"=\sqrt{2V_gK_n}+b_gK_n,\]"
    r"attained at $\theta^*=1/\bigl(b_g+\sqrt{V_g/(2K_n)}\bigr)$."
)

THEOREM_U_GAMMA = register(
    Theorem(
        id="U-gamma",
        name="Sub-gamma upper bound of Bernstein type",
        status=Status.EXTENSION,
        ref="THEORY §3, §6.5",
        statement=sp.Le(_dgen, sp.sqrt(2 * _V * _K_n) + _b * _K_n),
        assumptions=(SubGamma(side="upper"),),
        proof_sketch=_GAMMA_SKETCH,
        notes="The joint form for the squared loss, whose CGF is finite only on an interval.",
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_formulas_cgf.py"),
    )
)

THEOREM_L_GAMMA = register(
    Theorem(
        id="L-gamma",
        name="Sub-gamma lower bound on the student's gap",
        status=Status.EXTENSION,
        ref="THEORY §3, §6.5",
        statement=sp.Ge(_gen_S, _gen_T - sp.sqrt(2 * _V * _K_n) - _b * _K_n),
        reference=_gen_T,
        assumptions=(SubGamma(side="lower"),),
        proof_sketch=_GAMMA_SKETCH.replace("(upper side)", "(lower side)"),
        notes=(
            r"$V_g$ and $b_g$ are the constants of the lower-tail envelope (the side of "
            r"$\Lambda(-\theta)$)."
        ),
        proof="proofs/lower_bound.py",
        tests=("tests/test_lower.py", "tests/test_formulas_cgf.py"),
    )
)
