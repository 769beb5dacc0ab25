"""kdtheory: state, derive and check the generalization bounds of knowledge distillation.

Source: B. Li and H. He, *On the Generalization of Knowledge Distillation: An
Information-Theoretic View*, arXiv:2605.13143.  The mathematics is specified in THEORY.md;
status labels (paper / reconstructed / extension / false) follow its §0.
"""

from . import assumptions, divergences, symbols
from .assumptions import BoundedLoss, CentralCondition, Sharpness, SubGamma, SubGaussian
from .models import GaussianKernel, GaussianMeanModel, MemoriserModel
from .theorems import Status, Theorem, theorem, theorems

__version__ = "0.1.0"

__all__ = [
    "assumptions",
    "divergences",
    "symbols",
    "BoundedLoss",
    "CentralCondition",
    "Sharpness",
    "SubGamma",
    "SubGaussian",
    "GaussianKernel",
    "GaussianMeanModel",
    "MemoriserModel",
    "Status",
    "Theorem",
    "theorem",
    "theorems",
]
