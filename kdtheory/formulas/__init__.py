"""Model quantities as data (STYLE.md "Model formulas as data"; issue 11).

* :mod:`kdtheory.formulas.engine` -- the exact Gaussian-moment engine that derives them;
* :mod:`kdtheory.formulas.compile` -- one compile step to numpy / mpmath / arb, with the
  registered numerically stable forms (``phi``, ``log1p``, ``expm1``, ``log1pmx``,
  ``tightness_ratio``, ``binary_kl``, ``bernoulli_log_mgf``, ``uniform_log_mgf``,
  ``ball_average``);
* :mod:`kdtheory.formulas.stable` -- the longer stable implementations of the overrides;
* :mod:`kdtheory.formulas.ncx2` -- the ball average's non-central chi-square numerics (the
  ``ball_average`` override, double precision and arb);
* :mod:`kdtheory.formulas.gaussian_mean` -- Model A (THEORY §6), derived on first use, and its
  design helper :func:`~kdtheory.formulas.gaussian_mean.design` (``kdtheory design``);
* :mod:`kdtheory.formulas.gaussian_cgf` -- Model A's joint CGF, central and sub-gamma constants
  and smoothing radii (THEORY §6.5, §6.6), derived on first use;
* :mod:`kdtheory.formulas.table` -- the formula table the simpler models share, whose formula
  modules are :mod:`~kdtheory.formulas.memoriser` (THEORY §8 N2),
  :mod:`~kdtheory.formulas.scalar_laws` (Lemma SG, THEORY §2), :mod:`~kdtheory.formulas.bump`
  (THEORY §6 A-bump), :mod:`~kdtheory.formulas.ball` (the ball kernel, THEORY §5) and
  :mod:`~kdtheory.formulas.gaussian_pair` (Lemma DV in one dimension, THEORY §2).

Importing this package derives nothing: a derivation runs on first use, or its result is
loaded from the package's build of it when that matches the sources
(:mod:`kdtheory.formulas.cache`).
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


#: the modules that register derivations (:mod:`kdtheory.formulas.cache`)
DERIVING_MODULES = (
    "gaussian_mean",
    "gaussian_cgf",
    "memoriser",
    "scalar_laws",
    "bump",
    "ball",
    "gaussian_pair",
    "linear_gaussian",
)


def _all_modules() -> None:
    """Import every module of :data:`DERIVING_MODULES` (their derivations register)."""
    from importlib import import_module

    for name in DERIVING_MODULES:
        import_module(f"{__name__}.{name}")
