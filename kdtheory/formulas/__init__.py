"""Model quantities as data (STYLE.md "Model formulas as data"; issue 11).

* :mod:`kdtheory.formulas.engine` -- the exact Gaussian-moment engine that derives them;
* :mod:`kdtheory.formulas.compile` -- one compile step to numpy / mpmath / arb, with the
  registered numerically stable forms (``phi``, ``log1p``, ``log1pmx``, ``tightness_ratio``);
* :mod:`kdtheory.formulas.gaussian_mean` -- Model A (THEORY §6), derived on first use;
* :mod:`kdtheory.formulas.gaussian_cgf` -- Model A's joint CGF, central and sub-gamma constants
  and smoothing radii (THEORY §6.5, §6.6), derived on first use;
* :mod:`kdtheory.formulas.stable` -- the longer stable implementations of the overrides.

Importing this package derives nothing (the derivations are cached on first use).
"""

from .compile import OVERRIDES, Compiled, compile_expr, phi
from .engine import gaussian_expectation, gaussian_moment

__all__ = [
    "OVERRIDES",
    "Compiled",
    "compile_expr",
    "phi",
    "gaussian_expectation",
    "gaussian_moment",
]
