"""Theorem objects and their registry.  Importing this package registers every theorem:
one module per family (THEORY §2-§8)."""

from . import upper  # noqa: F401  (registers lemma-DV, lemma-SG, U0, U1, U-uniform)
from .base import ATOL, E_D, RTOL, Evaluation, Status, Theorem
from .registry import register, theorem, theorems
from .sharpness import THEOREM_S, THEOREM_S_SMOOTH  # noqa: F401  (registers S, S-smooth)

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
