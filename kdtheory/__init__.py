"""kdtheory: state, derive and check the generalization bounds of knowledge distillation.

Source: B. Li and H. He, *On the Generalization of Knowledge Distillation: An
Information-Theoretic View*, arXiv:2605.13143.  The mathematics is specified in THEORY.md;
status labels (paper / reconstructed / extension / false) follow its §0.

The public names below are imported on first use (PEP 562 module ``__getattr__``; issue 15
item 5): ``import kdtheory`` loads nothing heavy, ``kdtheory.theorem("U1")`` loads the theorem
registry, ``kdtheory.GaussianMeanModel`` the models (and scipy), ``kdtheory.check`` the audit.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it (``None``: the name is the submodule itself)
_LAZY: dict[str, str | None] = {
    "assumptions": None,
    "divergences": None,
    "matrix_normal": None,
    "symbols": None,
    "BoundedLoss": "assumptions",
    "CentralCondition": "assumptions",
    "Sharpness": "assumptions",
    "SubGamma": "assumptions",
    "SubGaussian": "assumptions",
    "BallKernelModel": "models",
    "BumpLossModel": "models",
    "GaussianKernel": "models",
    "GaussianMeanModel": "models",
    "LinearGaussianModel": "models",
    "MatrixNormal": "matrix_normal",
    "MemoriserModel": "models",
    "Status": "theorems",
    "Theorem": "theorems",
    "all_theorems": "theorems",
    "check": "audit",
    "define": "symbols",
    "Inf": "theorems",
    "register": "theorems",
    "scoped": "scope",
    "theorem": "theorems",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    """A public name, imported from its module on first use (then cached in the package)."""
    try:
        where = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'kdtheory' has no attribute {name!r}") from None
    module = importlib.import_module(f"{__name__}.{where or name}")
    value = module if where is None else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
