"""A registry scope for notebooks and tests: :func:`scoped`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["scoped"]


@contextlib.contextmanager
def scoped() -> Iterator[None]:
    """Theorems, claims and quantities (:func:`kdtheory.symbols.define`) registered inside the
    block are forgotten when it ends (the registries are restored as they were)::

        with kdtheory.scoped():
            kdtheory.register(my_theorem)
            ...
    """
    from .audit import engine
    from .symbols import PARAMS
    from .theorems import registry

    live = (registry._REGISTRY, registry._ORIGIN, engine._CLAIMS, engine._CLAIM_ORIGIN, PARAMS)
    saved = [dict(x) for x in live]
    try:
        yield
    finally:
        for table, old in zip(live, saved, strict=True):
            table.clear()
            table.update(old)
