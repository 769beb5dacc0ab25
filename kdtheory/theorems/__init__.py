"""Theorem objects and their registry.  Importing this package registers every theorem:
one module per family (THEORY §2-§8)."""

from . import lower, negative, upper  # noqa: F401  (each module registers its theorems)
from .base import ATOL, E_D, RTOL, Evaluation, Status, Theorem
from .registry import register, theorem, theorems

__all__ = [
    "Theorem",
    "Status",
    "Evaluation",
    "E_D",
    "RTOL",
    "ATOL",
    "register",
    "theorem",
    "theorems",
]
