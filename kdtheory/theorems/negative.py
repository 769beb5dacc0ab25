"""Negative controls N1-N7 (THEORY §8): plausible variants that are *not* theorems.

Each is registered with status ``false``; the audit must refute each by a search for a
counterexample (:mod:`kdtheory.audit.claims_negative`).  The ``notes`` say why each fails.
"""

from __future__ import annotations

import sympy as sp

from ..assumptions import BoundedLoss, CentralCondition, SubGaussian
from ..symbols import symbol
from . import lower  # noqa: F401  (registration order: the true theorems first)
from .base import Status, Theorem
from .registry import register

__all__ = ["N1", "N2", "N3", "N4", "N5", "N6", "N7"]

_K_n, _dgen, _n, _d, _s = (symbol(x) for x in ("K_n", "dgen", "n", "d", "s"))
_Esigma2 = symbol("Esigma2")


def _false(id_: str, name: str, statement, notes: str, **kw) -> Theorem:
    return register(
        Theorem(
            id=id_,
            name=name,
            status=Status.FALSE,
            ref="THEORY §8",
            statement=statement,
            notes=notes,
            tests=("tests/test_negative_controls.py",),
            **kw,
        )
    )


N1 = _false(
    "N1",
    "1/n form with the loss proxy, Gaussian mean model",
    sp.Le(_dgen, sp.sqrt(2 * (2 * _d * _s**4) * _K_n / _n)),
    r"Replaces the teacher's conditional proxy $\mathbb{E}_D\sigma_D^2=4\tau_T^2ds^2/n$ by the "
    r"loss-level $2ds^4/n$. The tilted student attains the conditional sub-Gaussian bound, so "
    r"its ratio is exactly $\sqrt{2}\,\tau_T/s$: false iff $\tau_T^2>s^2/2$ (THEORY §8).",
)

N2 = _false(
    "N2",
    "1/n form with a bounded loss in [0, 1], proxy 1/4",
    sp.Le(_dgen, sp.sqrt(2 * sp.Rational(1, 4) * _K_n / _n)),
    r"The factor $1/n$ is not there: the memoriser (its kernel outputs $\mathrm{set}(D)$ with "
    r"probability $p$) has $\mathrm{gen}=p(1-1/M)^n$ and $K_n=\mathrm{kl}(p_S\,\|\,p_T)$ "
    r"independent of $n$, so the ratio grows like $\sqrt{n}$ (THEORY §8).",
    assumptions=(BoundedLoss(l_min=0.0, l_max=1.0),),
)

N3 = _false(
    "N3",
    "Reversed divergence KL(T || S)",
    sp.Le(_dgen, sp.sqrt(2 * _Esigma2 * symbol("K_rev"))),
    r"The change of measure needs $\mathrm{KL}(Q\,\|\,P)$ with $Q$ the student (the measure of "
    r"the expectation); with the arguments swapped, a diffuse student makes the divergence "
    r"small while $\Delta\mathrm{gen}$ stays (THEORY §8).",
    assumptions=(SubGaussian(conditional=True),),
)

N4 = _false(
    "N4",
    "Proxy taken under the student",
    sp.Le(_dgen, sp.sqrt(2 * symbol("Esigma2_S") * _K_n)),
    r"The sub-Gaussian moment bound is applied under the reference measure $P$ (the teacher); a "
    r"concentrated student ($\tau_S<\tau_T$) has a smaller proxy than the one the proof needs "
    r"(THEORY §8).",
    assumptions=(SubGaussian(conditional=True, under="$P_{W_S|D}$"),),
)

N5 = _false(
    "N5",
    "No-slack linear lower bound",
    sp.Ge(symbol("gen_S"), symbol("gen_T") - _K_n / symbol("eta")),
    r"The lower bound under a central condition with $c=1$, which needs the centred condition "
    r"(impossible for a non-constant gap). Under the plain $\eta$-central condition the tilted "
    r"student with $\kappa<0$ has $\Delta\mathrm{gen}=-\sqrt{2\,\mathbb{E}_D\sigma_D^2K_n}$, so "
    r"the bound fails exactly when $K_n<2\eta^2\,\mathbb{E}_D\sigma_D^2$ (THEORY §4, §8).",
    reference=symbol("gen_T"),
    assumptions=(CentralCondition(c=0.0),),
)

N6 = _false(
    "N6",
    "Centred central condition",
    sp.Le(sp.exp(symbol("Lambda_T_neg")), 1),
    r"The centred condition $\mathbb{E}\,e^{-\eta(g-\mathbb{E}g)}\le1$, with $\theta$ in the "
    r"role of $\eta$: $e^{\Lambda(-\eta)}=\mathbb{E}\,e^{-\eta(g-\mathbb{E}g)}$, which by "
    r"Jensen's inequality is $\ge1$ with equality iff $g$ is constant, so the condition fails "
    r"for every $\eta>0$ and every non-constant gap (THEORY §4, §8).",
)

N7 = _false(
    "N7",
    "A variance used as a sub-Gaussian proxy for an unbounded quadratic gap",
    sp.Le(symbol("E_Q_f") - symbol("mean"), sp.sqrt(2 * symbol("var_f") * symbol("KL"))),
    r"For $g=w^2$, $P=N(0,1)$, $Q=N(m,1)$: $\mathbb{E}_Q g-\mathbb{E}_P g=m^2$ against "
    r"$\sqrt{2\,\mathrm{Var}_P g\,\mathrm{KL}}=\sqrt{2}\,|m|$, false for $|m|>\sqrt{2}$. A "
    r"variance is not a sub-Gaussian proxy ($w^2$ is not sub-Gaussian) (THEORY §8).",
    assumptions=(SubGaussian(of="w^2", under="$P$"),),
)
