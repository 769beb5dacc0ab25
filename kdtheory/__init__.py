"""kdtheory: state, derive and check the generalization bounds of knowledge distillation.

Source: B. Li and H. He, *On the Generalization of Knowledge Distillation: An
Information-Theoretic View*, arXiv:2605.13143.  The mathematics is specified in THEORY.md;
status labels (paper / reconstructed / extension / false) follow its §0.
"""

from . import assumptions, divergences, matrix_normal, symbols  # matrix_normal registers its KL
from .assumptions import BoundedLoss, CentralCondition, Sharpness, SubGamma, SubGaussian
from .matrix_normal import MatrixNormal
from .models import (
    BallKernelModel,
    BumpLossModel,
    GaussianKernel,
    GaussianMeanModel,
    LinearGaussianModel,
    MemoriserModel,
)
from .scope import scoped
from .symbols import define
from .theorems import Inf, Status, Theorem, all_theorems, register, theorem

__version__ = "0.1.0"

__all__ = [
    "assumptions",
    "divergences",
    "matrix_normal",
    "symbols",
    "BoundedLoss",
    "CentralCondition",
    "Sharpness",
    "SubGamma",
    "SubGaussian",
    "BallKernelModel",
    "BumpLossModel",
    "GaussianKernel",
    "GaussianMeanModel",
    "LinearGaussianModel",
    "MatrixNormal",
    "MemoriserModel",
    "Status",
    "Theorem",
    "all_theorems",
    "check",
    "define",
    "Inf",
    "register",
    "scoped",
    "theorem",
]


def __getattr__(name: str):
    """``kdtheory.check``: :func:`kdtheory.audit.check` (imported on first use: the audit
    registers its claims on import)."""
    if name == "check":
        from .audit import check

        return check
    raise AttributeError(f"module 'kdtheory' has no attribute {name!r}")
