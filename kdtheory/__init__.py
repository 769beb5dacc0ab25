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
from .theorems import Status, Theorem, theorem, theorems

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
    "theorem",
    "theorems",
]
