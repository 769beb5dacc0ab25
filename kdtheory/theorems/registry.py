"""The theorem registry: :func:`register`, :func:`all_theorems`, :func:`theorem`, :func:`origin`.

Every theorem is registered with its *origin*: ``"kdtheory"`` for the toolkit's own, the plugin
(a module name or a file path, :mod:`kdtheory.plugins`) that registered it, or ``"session"`` for
one registered from a script or notebook.  ``kdtheory list`` and ``kdtheory show`` print it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .base import Status, Theorem

__all__ = ["register", "all_theorems", "theorem", "origin", "loading"]

_REGISTRY: dict[str, Theorem] = {}
_ORIGIN: dict[str, str] = {}
#: the origin recorded for a registration: set by :func:`loading` (the toolkit, a plugin)
_CURRENT = ["session"]


@contextlib.contextmanager
def loading(source: str) -> Iterator[None]:
    """Record ``source`` as the origin of every theorem (and claim) registered inside the block."""
    _CURRENT.append(source)
    try:
        yield
    finally:
        _CURRENT.pop()


def current_origin() -> str:
    """The origin a registration made now would record."""
    return _CURRENT[-1]


def register(thm: Theorem, replace: bool = False) -> Theorem:
    """Add ``thm`` to the registry and return it.

    A taken id raises ``ValueError`` unless ``replace=True`` (for a notebook cell run twice); the
    toolkit's own theorems can never be replaced (use another id).
    """
    if not isinstance(thm, Theorem):
        raise TypeError(f"register expects a Theorem, got {type(thm).__name__}")
    return add_entry(_REGISTRY, _ORIGIN, thm.id, thm, replace, "theorem")


def add_entry(table: dict, origins: dict, key: str, obj, replace, what: str):
    """Add ``obj`` under ``key`` to a registry ``table`` and record its origin (theorems here,
    claims in :func:`kdtheory.audit.engine.register_claim`): a taken key is refused unless
    ``replace``, and the toolkit's own entries are never replaced from outside."""
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be True or False, got {replace!r}")
    if key in table:
        if not replace:
            raise ValueError(
                f"a {what} with id {key!r} is already registered "
                f"(from {origins[key]}); pass replace=True to replace it"
            )
        if origins[key] == "kdtheory" and current_origin() != "kdtheory":
            raise ValueError(f"{key!r} is one of the toolkit's {what}s; choose another id")
    table[key] = obj
    origins[key] = current_origin()
    return obj


def all_theorems(status: str | Status | None = None) -> list[Theorem]:
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


def origin(id: str) -> str:
    """Where theorem ``id`` was registered from (see the module doc)."""
    theorem(id)
    return _ORIGIN[id]
