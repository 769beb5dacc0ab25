"""The two lemmas of the paper and the sub-Gaussian upper bound, Theorem U (THEORY §2-§3)."""

from __future__ import annotations

import sympy as sp

from ..assumptions import BoundedLoss, SubGaussian
from ..symbols import symbol
from .base import E_D, Status, Theorem
from .registry import register

__all__ = ["LEMMA_DV", "LEMMA_SG", "THEOREM_U0", "THEOREM_U1", "THEOREM_U_UNIFORM"]

_KL, _KL_D, _K_n = symbol("KL"), symbol("KL_D"), symbol("K_n")
_dgen = symbol("dgen")

LEMMA_DV = register(
    Theorem(
        id="lemma-DV",
        name="Lemma DV (change of measure)",
        status=Status.PAPER,
        ref="THEORY §2, paper eq. (10)",
        statement=sp.Le(symbol("E_Q_f"), _KL + symbol("logE_P_expf")),
        reference=symbol("logE_P_expf"),
        proof_sketch=(
            r"Donsker--Varadhan variational formula; equality at $f=\log\frac{dQ}{dP}+$const. "
            r"If $Q\not\ll P$ then $\mathrm{KL}=\infty$ and the bound is empty."
        ),
        notes="For measurable f with E_P exp(f) finite, Q << P, and E_Q f defined.",
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_theorems.py", "tests/test_witness.py"),
    )
)

LEMMA_SG = register(
    Theorem(
        id="lemma-SG",
        name="Lemma SG (sub-Gaussian moment bound)",
        status=Status.PAPER,
        ref="THEORY §2, paper eq. (11)",
        statement=sp.Le(
            symbol("cgf"),
            symbol("t") * symbol("mean") + symbol("t") ** 2 * symbol("sigma") ** 2 / 2,
        ),
        reference=symbol("t") * symbol("mean"),
        assumptions=(SubGaussian(of=None, under="its law"),),
        proof_sketch=r"The definition of the proxy, with $\mathbb{E}e^{tX}=e^{t\mathbb{E}X}\mathbb{E}e^{t(X-\mathbb{E}X)}$.",
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_theorems.py", "tests/test_witness.py"),
    )
)

_U_SKETCH = (
    r"Lemma DV with $f=\lambda g$ per dataset and Lemma SG give, for every $\lambda>0$, "
    r"$\mathbb{E}_{S}g-\mathbb{E}_{T}g\le \mathrm{KL}_D/\lambda+\lambda\sigma_D^2/2$; the minimum over "
    r"$\lambda$ is at $\lambda^*=\sqrt{2\mathrm{KL}_D}/\sigma_D$ and equals "
    r"$\sqrt{2\sigma_D^2\mathrm{KL}_D}$. Both signs of $\lambda$ give the two-sided form; "
    r"averaging over $D$ and Cauchy--Schwarz give $U_0\le U_1\le$ the uniform form."
)

THEOREM_U0 = register(
    Theorem(
        id="U0",
        name="Theorem U, per-dataset form",
        status=Status.RECONSTRUCTED,
        ref="THEORY §3",
        statement=sp.Le(sp.Abs(_dgen), E_D(sp.sqrt(2 * symbol("sigma_D") ** 2 * _KL_D))),
        assumptions=(SubGaussian(conditional=True),),
        proof_sketch=_U_SKETCH,
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_u0_quadrature.py", "tests/test_gaussian_mean.py"),
    )
)

THEOREM_U1 = register(
    Theorem(
        id="U1",
        name="Theorem U, conditional sub-Gaussian form",
        status=Status.RECONSTRUCTED,
        ref="THEORY §3",
        statement=sp.Le(sp.Abs(_dgen), sp.sqrt(2 * symbol("Esigma2") * _K_n)),
        assumptions=(SubGaussian(conditional=True),),
        proof_sketch=_U_SKETCH,
        notes="The primary encoded form: attained exactly by the tilt student (THEORY §6.4).",
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_gaussian_mean.py", "tests/test_audit.py"),
    )
)

THEOREM_U_UNIFORM = register(
    Theorem(
        id="U-uniform",
        name="Theorem U, uniform sub-Gaussian form",
        status=Status.RECONSTRUCTED,
        ref="THEORY §3",
        statement=sp.Le(sp.Abs(_dgen), sp.sqrt(2 * symbol("sigma_bar") ** 2 * _K_n)),
        assumptions=(SubGaussian(conditional=True), BoundedLoss()),
        proof_sketch=_U_SKETCH
        + r" A loss in $[\ell_{\min},\ell_{\max}]$ gives $\bar\sigma=\ell_{\max}-\ell_{\min}$ "
        r"(Hoeffding's lemma).",
        notes=(
            "sigma_bar^2 = ess sup sigma_D^2; either assumption suffices (bounded loss gives "
            "sigma_bar = l_max - l_min). Infinite in the Gaussian mean model."
        ),
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_memoriser.py", "tests/test_bump.py"),
    )
)
