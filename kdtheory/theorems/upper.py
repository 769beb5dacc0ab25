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
        name="Donsker–Varadhan change of measure",
        status=Status.PAPER,
        ref="THEORY §2, paper eq. (10)",
        statement=sp.Le(symbol("E_Q_f"), _KL + symbol("logE_P_expf")),
        reference=symbol("logE_P_expf"),
        proof_sketch=(
            r"The Donsker--Varadhan variational formula; equality at $f=\log(dQ/dP)+c$ "
            r"for a constant $c$. If $Q\not\ll P$, then $\mathrm{KL}=\infty$ and the bound is "
            r"empty."
        ),
        notes=(
            r"For measurable $f$ with $\mathbb{E}_P e^{f}<\infty$, $Q\ll P$, and "
            r"$\mathbb{E}_Q f$ defined."
        ),
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_theorems.py", "tests/test_witness.py"),
        tags=("lemma",),
    )
)

LEMMA_SG = register(
    Theorem(
        id="lemma-SG",
        name="Sub-Gaussian moment bound",
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
        tags=("lemma",),
    )
)

_U_SKETCH = (
    r"The change of measure with $f=\lambda g$ per dataset and the sub-Gaussian moment bound give,"
    r" for every $\lambda>0$, "
    r"$\mathbb{E}_{S}g-\mathbb{E}_{T}g\le \mathrm{KL}_D/\lambda+\lambda\sigma_D^2/2$; the minimum over "
    r"$\lambda$ is at $\lambda^*=\sqrt{2\mathrm{KL}_D}/\sigma_D$ and equals "
    r"$\sqrt{2\sigma_D^2\mathrm{KL}_D}$. Both signs of $\lambda$ give the two-sided form; "
    r"averaging over $D$ gives the per-dataset form, Cauchy--Schwarz "
    r"($\mathbb{E}_D\sqrt{x_D y_D}\le\sqrt{\mathbb{E}_D x_D\,\mathbb{E}_D y_D}$) the conditional "
    r"form, and $\sigma_D\le\bar\sigma$ the uniform form."
)

THEOREM_U0 = register(
    Theorem(
        id="U0",
        name="Sub-Gaussian bound, per-dataset form",
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
        name="Sub-Gaussian bound, conditional form",
        status=Status.RECONSTRUCTED,
        ref="THEORY §3",
        statement=sp.Le(sp.Abs(_dgen), sp.sqrt(2 * symbol("Esigma2") * _K_n)),
        assumptions=(SubGaussian(conditional=True),),
        proof_sketch=_U_SKETCH,
        notes=(
            r"The primary form: attained with equality by the exponentially tilted student "
            r"(THEORY §6.4)."
        ),
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_gaussian_mean.py", "tests/test_audit.py"),
    )
)

THEOREM_U_UNIFORM = register(
    Theorem(
        id="U-uniform",
        name="Sub-Gaussian bound, uniform form",
        status=Status.RECONSTRUCTED,
        ref="THEORY §3",
        statement=sp.Le(sp.Abs(_dgen), sp.sqrt(2 * symbol("sigma_bar") ** 2 * _K_n)),
        assumptions=(SubGaussian(conditional=True), BoundedLoss()),
        proof_sketch=_U_SKETCH
        + r" A loss in $[\ell_{\min},\ell_{\max}]$ gives $\bar\sigma=\ell_{\max}-\ell_{\min}$ "
        r"(Hoeffding's lemma).",
        notes=(
            r"Either assumption suffices, with $\bar\sigma^2=\operatorname{ess\,sup}_D\sigma_D^2$ "
            r"(a bounded loss gives $\bar\sigma=\ell_{\max}-\ell_{\min}$). Infinite in "
            r"the Gaussian mean model."
        ),
        proof="proofs/dv_optimisation.py",
        tests=("tests/test_memoriser.py", "tests/test_bump.py"),
    )
)
