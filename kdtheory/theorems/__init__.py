"""Theorem objects and their registry.  Importing this package registers every theorem:
one module per family (THEORY §2-§8)."""

from importlib import import_module

from .base import ATOL, E_D, RTOL, Evaluation, Inf, Status, Theorem
from .registry import all_theorems, loading, origin, register, theorem

#: the theorem modules, in registration order (true results first, negative controls last)
THEOREM_MODULES = ("upper", "lower", "sharpness", "negative")
with loading("kdtheory"):
    for _name in THEOREM_MODULES:
        import_module(f"{__name__}.{_name}")

__all__ = [
    "Theorem",
    "Status",
    "Evaluation",
    "Inf",
    "E_D",
    "RTOL",
    "ATOL",
    "register",
    "theorem",
    "all_theorems",
    "origin",
    "loading",
]
