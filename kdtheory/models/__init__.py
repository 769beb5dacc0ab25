"""Toy models in which every quantity of the theory is exact (THEORY §6-§8)."""

from .ball_kernel import BallKernel, BallKernelModel
from .bump import BumpLossModel
from .gaussian_mean import GaussianKernel, GaussianMeanModel
from .linear import LinearGaussianModel, MatrixNormalKernel
from .memoriser import MemoriserModel
from .rank import smallest_rank

__all__ = [
    "BallKernel",
    "BallKernelModel",
    "BumpLossModel",
    "GaussianKernel",
    "GaussianMeanModel",
    "LinearGaussianModel",
    "MatrixNormalKernel",
    "MemoriserModel",
    "smallest_rank",
]
