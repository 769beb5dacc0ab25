"""Toy models in which every quantity of the theory is exact (THEORY §6-§8)."""

from .gaussian_mean import GaussianKernel, GaussianMeanModel
from .memoriser import MemoriserModel

__all__ = ["GaussianKernel", "GaussianMeanModel", "MemoriserModel"]
