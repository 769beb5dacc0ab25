"""A module imported on first use (issue 15 item 5: ``kdtheory list`` prints the theorems' sympy
statements and needs no numpy).

``np = lazy_module("numpy", globals())`` binds ``np`` to a stand-in; the first attribute looked up
(``np.ndarray``, ``np.asarray``, ...) imports numpy and rebinds the module's global ``np`` to numpy
itself, so every later use is a plain module attribute, with no indirection left."""

from __future__ import annotations

import importlib

__all__ = ["lazy_module"]


class _LazyModule:
    def __init__(self, name: str, namespace: dict, alias: str):
        self._name, self._namespace, self._alias = name, namespace, alias

    def __getattr__(self, attr: str):
        module = importlib.import_module(self._name)
        self._namespace[self._alias] = module
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str, namespace: dict, alias: str = "np"):
    """A stand-in for the module ``name`` bound to ``namespace[alias]`` until first used (module
    doc); the module itself if it is imported already."""
    import sys

    if name in sys.modules:
        return sys.modules[name]
    return _LazyModule(name, namespace, alias)
