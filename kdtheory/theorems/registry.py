"""The theorem registry: ``register`` refuses a duplicate id; ``theorems()`` / ``theorem(id)``."""

from __future__ import annotations

from .base import Status, Theorem

__all__ = ["register", "theorems", "theorem"]

_REGISTRY: dict[str, Theorem] = {}


def register(thm: Theorem) -> Theorem:
    """Add ``thm`` to the registry; ``ValueError`` if its id is taken."""
    if not isinstance(thm, Theorem):
        raise TypeError(f"register expects a Theorem, got {type(thm).__name__}")
    if thm.id in _REGISTRY:
        raise ValueError(f"a theorem with id {thm.id!r} is already registered")
    _REGISTRY[thm.id] = thm
    return thm


def theorems(status: str | Status | None = None) -> list[Theorem]:
    """All registered theorems (in registration order), optionally of one status."""
    if status is None:
        return list(_REGISTRY.values())
    st = Status(status)
    return [t for t in _REGISTRY.values() if t.status is st]


def theorem(id: str) -> Theorem:
    """The theorem registered as ``id``; ``KeyError`` lists the known ids."""
    try:
        return _REGISTRY[id]
    except KeyError:
        raise KeyError(f"no theorem {id!r}; registered: {sorted(_REGISTRY)}") from None
