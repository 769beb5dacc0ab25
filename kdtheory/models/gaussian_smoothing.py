"""Theorem S' (the smoothing form) on models with Gaussian kernels ``N(a Zbar + b, tau^2 I)``
(THEORY §5, §6.6).

The smoothed teacher ``T^rho = P_{W_T|D} * N(0, rho^2 I)`` is again a Gaussian kernel, with
``tau_T^2 -> tau_T^2 + rho^2``.  The smoothing bound on ``gen_S``,

    B(rho) = gen(T^rho) + sqrt(2 E sigma_{rho,D}^2 K_n(rho)),

is evaluated from the sympy statement of Theorem S' (:data:`THEOREM_S_SMOOTH`) with the host
model's exact values, so :class:`GaussianMeanSmoothing` works for any host that provides
``kernel``, ``gen``, ``distillation_divergence``, ``conditional_proxy`` and ``_check_kernel``
(Model A, THEORY §6; the bump-loss model, THEORY §6 A-bump).

Model A's smoothing radii (THEORY §6.6) are array code here too (one batch-aware module, issue 11
item 2): the private ``_``-prefixed kernels below serve :func:`smoothing_radius_from_ratio`,
:meth:`GaussianMeanSmoothing.tightness_radius`, :meth:`GaussianMeanSmoothing.optimal_radius`
and the vectorised audit of the smoothing regime (no validation in them; the callers validate).
The closed forms are not typed here: they are the formulas ``tightness_ratio``,
``tightness_radius`` and ``optimal_radius`` of :mod:`kdtheory.formulas.gaussian_cgf` (derived
there by ``sympy.solve``; the Lambert-W ratio is the registered stable override
``tightness_ratio``, its series near ``t -> 1`` in :mod:`kdtheory.formulas.stable`), compiled
once; ``dtype=object`` arrays of arb balls go through the compiled arb functions.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..formulas.stable import SERIES_THRESHOLD
from ..symbols import MODEL_SCALE, Domain, check_scalar, real_array
from ..theorems.sharpness import THEOREM_S_SMOOTH

__all__ = ["GaussianMeanSmoothing", "SERIES_THRESHOLD", "smoothing_radius_from_ratio"]

#: grid ratio of :meth:`GaussianMeanSmoothing.tightness_radius_numeric` (eight points per octave)
_GRID_RATIO = 2.0 ** (1 / 8)
#: supported smoothing radii: far beyond the models' scales, since the tightness radius can be
#: astronomically large (see :meth:`GaussianMeanSmoothing.tightness_radius_numeric`)
RADIUS = Domain(0.0, 1e150, True, True, note="the supported smoothing radii")


# -- array kernels (no validation) --------------------------------------------------------------
def _f(name: str):
    """The compiled formula ``name`` of :mod:`kdtheory.formulas.gaussian_cgf`."""
    from ..formulas.gaussian_cgf import compiled

    return compiled(name)


def _radius_from_ratio(t):
    """``(rho_0^sm)^2 / tau_S^2 = exp(1 + W_0((t log t - t)/e)) - t`` for ``t = tau_T^2/tau_S^2``
    in ``(0, 1)`` (THEORY §6.6; formula ``tightness_ratio``), elementwise; the series
    ``2 delta_t + delta_t^2/3 + delta_t^3/9`` where ``delta_t = 1 - t < SERIES_THRESHOLD``."""
    return _f("tightness_ratio")(np.asarray(t, dtype=float))


def _tightness_radius(tau_s, tau_t):
    """``rho_0^sm`` (formula ``tightness_radius``) if ``tau_S > tau_T``, else 0 (THEORY §6.6),
    elementwise (the formula is evaluated at ``tau_T = tau_S / sqrt(2)`` where it is not used)."""
    tau_s, tau_t = np.broadcast_arrays(
        np.asarray(tau_s, dtype=float), np.asarray(tau_t, dtype=float)
    )
    wider = np.square(tau_s) > np.square(tau_t)
    safe_t = np.where(wider, tau_t, tau_s * np.sqrt(0.5))
    return np.where(wider, _f("tightness_radius")(tau_s, safe_t), 0.0)


def _optimal_radius(tau_s, tau_t):
    """``rho_* = sqrt((tau_S^2 - tau_T^2)_+)``, the minimiser of ``B`` (THEORY §6.6; formula
    ``optimal_radius``), elementwise."""
    return _f("optimal_radius")(tau_s, tau_t)


# -- one case -----------------------------------------------------------------------------------
def smoothing_radius_from_ratio(t: float) -> float:
    """``(rho_0^sm)^2 / tau_S^2 = exp(1 + W_0((t log t - t)/e)) - t`` for ``t = tau_T^2/tau_S^2
    in (0, 1)`` (THEORY §6.6, principal Lambert W; the formula ``tightness_ratio`` of
    :mod:`kdtheory.formulas.gaussian_cgf`); for ``delta_t = 1 - t < 1e-4`` the series
    ``2 delta_t + delta_t^2/3 + delta_t^3/9``, otherwise the argument is clamped at ``-1/e``.

    Accuracy: the series is exact to double precision for ``delta_t < 1e-4`` (truncation
    O(delta_t^4)); the W_0 branch inherits the rounding of ``z + 1/e ~ delta_t^2/(2e)``, a
    relative error of about ``1e-16/delta_t^2`` (1e-13 at ``delta_t = 0.03``, ~1e-8 just above
    the threshold; tested against a 50-digit root)."""
    if not 0.0 < t < 1.0:
        raise ValueError(f"t must lie in (0, 1), got {t!r}")
    return float(_radius_from_ratio(t))


class GaussianMeanSmoothing:
    """Mixin: smoothing bound, tightness radius and optimal radius of Theorem S' (THEORY §5, §6.6).

    >>> from kdtheory import GaussianMeanModel
    >>> model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    >>> teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    >>> student = model.kernel(teacher.a, teacher.b, 1.5 * teacher.tau)
    >>> round(model.tightness_radius(student, teacher), 12)
    0.771212949336
    """

    # -- the smoothed teacher -------------------------------------------------------------------
    def smoothed_teacher(self, teacher, rho: float):
        """``T^rho = P_{W_T|D} * N(0, rho^2 I)``: the kernel ``(a_T, b_T, sqrt(tau_T^2 + rho^2))``
        (THEORY §5)."""
        self._check_kernel("teacher", teacher)
        rho = check_scalar("rho", rho, RADIUS)
        return dataclasses.replace(teacher, tau=float(np.hypot(teacher.tau, rho)))

    def sharpness_gap(self, teacher, rho: float) -> float:
        """The teacher's expected-sharpness gap ``Sh_rho(T) = gen(T^rho) - gen(T)`` (THEORY §5);
        0 in the Gaussian mean model (THEORY §6.6)."""
        return self.gen(self.smoothed_teacher(teacher, rho)) - self.gen(teacher)

    def smoothing_values(self, student, teacher, rho: float) -> dict:
        """Exact values of the symbols of Theorem S' at radius ``rho``: ``gen_S``, ``gen_T``,
        ``Sh_rho``, ``Esigma2_rho`` (proxy under ``T^rho``), ``K_n_rho = K_n(S || T^rho)``."""
        self._check_kernel("student", student)
        t_rho = self.smoothed_teacher(teacher, rho)
        gen_t = self.gen(teacher)
        return {
            "gen_S": self.gen(student),
            "gen_T": gen_t,
            "Sh_rho": self.gen(t_rho) - gen_t,
            "Esigma2_rho": self.conditional_proxy(t_rho),
            "K_n_rho": self.distillation_divergence(student, t_rho),
            "rho": float(rho),
        }

    def smoothing_bound(self, student, teacher, rho):
        """``B(rho) = gen_T + Sh_rho + sqrt(2 E sigma_{rho,D}^2 K_n(rho))``, the right-hand side of
        Theorem S' (THEORY §5; Model A: ``gen_T + 2 sqrt(d v) sqrt(E||Delta||^2 + d h(tau_T^2 +
        rho^2))``, §6.6).  ``rho`` a float or an array of radii."""
        if not isinstance(rho, (int, float)):
            rho = real_array("rho", rho, f"a radius or an array of radii in {RADIUS.describe()}")
        if np.ndim(rho):
            return np.array([self.smoothing_bound(student, teacher, r) for r in np.ravel(rho)])
        vals = self.smoothing_values(student, teacher, rho)
        return float(THEOREM_S_SMOOTH.rhs_value(**vals))

    # -- radii (closed forms for Model A, THEORY §6.6) -------------------------------------------
    def optimal_radius(self, student, teacher) -> float:
        """The minimiser of ``B``: ``rho_* = sqrt((tau_S^2 - tau_T^2)_+)`` (THEORY §6.6; the formula
        ``optimal_radius`` of :mod:`kdtheory.formulas.gaussian_cgf`)."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        return float(_optimal_radius(student.tau, teacher.tau))

    def tightness_radius(self, student, teacher) -> float:
        """``rho_0^sm = sup{rho: B(r) < B(0) for all r in (0, rho)}`` in closed form (THEORY §6.6):
        ``(rho_0^sm)^2 = tau_S^2 exp(1 + W_0((t log t - t)/e)) - tau_T^2`` with
        ``t = tau_T^2/tau_S^2`` if ``tau_S > tau_T``, else 0 (the formula ``tightness_radius`` of
        :mod:`kdtheory.formulas.gaussian_cgf`; see :func:`smoothing_radius_from_ratio` for the
        series near ``t -> 1``)."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        return float(_tightness_radius(student.tau, teacher.tau))

    def tightness_radius_numeric(self, student, teacher, scale: float | None = None) -> float:
        """``rho_0^sm`` found numerically from :meth:`smoothing_bound` alone (THEORY §5): the
        first crossing of ``B(rho) = B(0)`` on a geometric grid (eight points per octave from
        ``1e-4 scale`` to ``1e6 scale``, then one per octave up to ``1e100 scale``; ``scale``
        default ``tau_T``; a large offset ``||c_Delta||`` can put the crossing at astronomically
        large radii, since smoothing removes the offset term like ``1/rho^2`` while the spread
        term grows only like ``log rho``), refined by Brent's method to
        ``xtol = 1e-14 rho``, ``rtol = 1e-15``.  Returns 0 when ``B`` is not below ``B(0)`` at the first grid point,
        ``inf`` when there is no crossing up to ``1e100 scale`` (B stays below ``B(0)``).  A dip and rise between two grid points is not
        resolved."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        scale = teacher.tau if scale is None else check_scalar("scale", scale, MODEL_SCALE)
        from scipy import optimize  # imported on first use (start-up time)

        b0 = self.smoothing_bound(student, teacher, 0.0)

        def f(r):
            return self.smoothing_bound(student, teacher, r) - b0

        lo = 1e-4 * scale
        if not f(lo) < 0:
            return 0.0
        while lo < min(1e100 * scale, RADIUS.high / 2):
            hi = lo * (_GRID_RATIO if lo < 1e6 * scale else 2.0)
            if f(hi) >= 0:
                return float(optimize.brentq(f, lo, hi, xtol=1e-14 * lo, rtol=1e-15))
            lo = hi
        return math.inf
