"""Exact joint CGF of the Gaussian mean model's gap, and what is built on it (THEORY §3-§4, §6.5-§6.6).

:class:`GaussianMeanCGF` is a mixin of :class:`~kdtheory.models.GaussianMeanModel`: it uses the
host's ``d, n, s, v``, :meth:`offset`, :meth:`gen`, :meth:`distillation_divergence`,
:meth:`simulate` and :meth:`gap`.

The CGF is derived once, as a sympy expression (the formula ``joint_cgf`` of
:mod:`kdtheory.formulas.gaussian_cgf`, THEORY §6.5; :data:`CGF_EXPR` in ``s`` and ``n``), and
compiled by :func:`~kdtheory.formulas.compile.compile_expr`; its derivative is sympy's derivative
of the same expression, and the centred CGF is the registered cancellation-free form.  Bound *values* come from the theorems' sympy statements
(:mod:`kdtheory.theorems.lower`); this module only supplies the optimising ``theta`` and the
constants (``Lambda(theta*)``, ``V_g``, ``b_g``, ``eta_c``, ``c*``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..symbols import MODEL_REAL, POSITIVE, check_in, check_rng, check_scalar, check_size
from ..theorems.lower import (
    THEOREM_L_GAMMA,
    THEOREM_U_GAMMA,
    THEOREM_U_JOINT,
    THEOREM_U_JOINT_LOWER,
)
from . import gaussian_cgf_arrays as _carr

__all__ = ["GaussianMeanCGF", "CGFBound", "CGF_EXPR", "CGF_SYMBOLS"]  # noqa: F822 (lazy)


def __getattr__(name: str):
    """``CGF_EXPR`` (``log E exp(theta g)``, uncentred, THEORY §6.5, in ``s`` and ``n``; the stable
    functions replaced by their definitions) and
    ``CGF_SYMBOLS`` (theta, d, n, s, a, tau, ||c_K||^2): the formula ``joint_cgf`` of
    :mod:`kdtheory.formulas.gaussian_cgf` with ``v = s^2/n``, on first access (importing this
    module derives nothing)."""
    if name in ("CGF_EXPR", "CGF_SYMBOLS"):
        from ..formulas.compile import definition
        from ..formulas.gaussian_cgf import formula
        from ..formulas.gaussian_mean import SYMBOLS

        sym = {k: SYMBOLS[k].symbol for k in ("theta", "d", "n", "s", "a", "tau", "c_K2", "v")}
        expr = definition(formula("joint_cgf").expr).subs(sym["v"], sym["s"] ** 2 / sym["n"])
        order = ("theta", "d", "n", "s", "a", "tau", "c_K2")
        return expr if name == "CGF_EXPR" else tuple(sym[k] for k in order)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _f(name: str):
    from ..formulas.gaussian_cgf import compiled

    return compiled(name)


def _df(name: str):
    from ..formulas.gaussian_cgf import compiled_derivative

    return compiled_derivative(name, "theta")


@dataclass(frozen=True)
class CGFBound:
    """A bound's value with the optimising ``theta`` and the inputs of its sympy statement."""

    value: float
    theta: float
    values: dict


class GaussianMeanCGF:
    """Exact joint-CGF quantities of Model A (mixin; THEORY §3, §4, §6.5, §6.6)."""

    # -- the chaos eigenvalues and the domain -------------------------------------------------
    def chaos_eigenvalues(self, kernel) -> tuple[float, float]:
        """``(mu_+, mu_-)``, the roots of ``mu^2 - (2a-1) v mu - tau^2 v`` (THEORY §6.5), so that
        ``p(theta) = (1 - 2 theta mu_+)(1 - 2 theta mu_-)``; ``mu_- < 0 < mu_+``.  The root of
        larger modulus comes from the quadratic formula, the other from ``mu_+ mu_- = -tau^2 v``
        (no cancellation)."""
        self._check_kernel("kernel", kernel)
        mu_p, mu_m = _carr._chaos_eigenvalues(kernel.a, kernel.tau, self.v)
        return float(mu_p), float(mu_m)

    def cgf_domain(self, kernel) -> tuple[float, float]:
        """Open interval ``(lo, hi)`` where ``E exp(theta g) < inf`` (THEORY §6.5):
        ``lo = max(1/(2 mu_-), -1/(2v))``, ``hi = 1/(2 mu_+)``.  For ``n = 1`` the ``S_D`` term
        is absent (``S_D = 0``) and ``lo = 1/(2 mu_-)``."""
        self._check_kernel("kernel", kernel)
        lo, hi = _carr._cgf_domain(kernel.a, kernel.tau, self.v, self.n)
        return float(lo), float(hi)

    def _inside(self, kernel, th: np.ndarray) -> np.ndarray:
        """``theta`` strictly inside :meth:`cgf_domain` *and* with every log argument positive as
        computed (``p(theta) > 0``; ``1 + 2 theta v > 0`` when ``n > 1``): at the edge the
        endpoint formula and ``p`` can disagree by an ulp, and the CGF is ``+inf`` there."""
        self._check_kernel("kernel", kernel)
        return _carr._inside(np.asarray(th, dtype=float), kernel.a, kernel.tau, self.v, self.n)

    def _cgf_args(self, kernel, theta):
        ck = self.offset(kernel)
        return (theta, kernel.a, kernel.tau, float(ck @ ck), self.d, self.n, self.v)

    def joint_cgf(self, kernel, theta):
        """Uncentred ``log E exp(theta g(W, D))`` under the joint law ``P_D x P_{W|D}``
        (THEORY §6.5); ``+inf`` outside :meth:`cgf_domain`.  ``theta`` a real or an array."""
        theta = check_in("theta", theta, MODEL_REAL)
        th = np.asarray(theta, dtype=float)
        inside = self._inside(kernel, th)
        safe = np.where(inside, th, 0.0)
        args = self._cgf_args(kernel, safe)
        out = _f("joint_cgf_gauss")(*args) + (_f("joint_cgf_sd")(*args) if self.n > 1 else 0.0)
        out = np.where(inside, out, math.inf)
        return float(out) if out.ndim == 0 else out

    def joint_cgf_derivative(self, kernel, theta: float) -> float:
        """``d/dtheta log E exp(theta g)``: sympy's derivative of the formula ``joint_cgf``, compiled (inside
        the domain only; ``ValueError`` naming ``theta`` outside it)."""
        theta = check_scalar("theta", theta, MODEL_REAL)
        if not bool(self._inside(kernel, np.asarray(theta))):
            lo, hi = self.cgf_domain(kernel)
            raise ValueError(
                f"theta must lie in the CGF's domain ({lo!r}, {hi!r}) of this kernel, got {theta!r}"
            )
        args = self._cgf_args(kernel, theta)
        return float(
            _df("joint_cgf_gauss")(*args) + (_df("joint_cgf_sd")(*args) if self.n > 1 else 0.0)
        )

    def _centred_terms(self, kernel, theta):
        """``Lambda(theta)`` and ``Lambda'(theta)`` in a cancellation-free form (inside the domain).

        The formula ``centred_cgf`` (THEORY §6.5): subtracting ``theta gen`` from ``joint_cgf``
        cancels the linear terms exactly, leaving, with ``x = 2 theta v``,
        ``q = p(theta) - 1 = -2 theta (2a-1) v - 4 theta^2 tau^2 v`` and the registered stable
        ``log1pmx(x) = log(1+x) - x``:
        ``Lambda = -(d(n-1)/2) log1pmx(x) - (d/2) log1pmx(q) + 2 d theta^2 tau^2 v
        + 2 theta^2 v ||c_K||^2 / p``, proved equal when it is derived
        (:mod:`kdtheory.formulas.gaussian_cgf`) and numerically in ``tests/test_cgf.py``."""
        return _carr._centred_terms(theta, *self._cgf_params(kernel))

    def _cgf_params(self, kernel) -> tuple:
        """``(a, tau, ||c_K||^2, d, n, v)``, the arguments of the array kernels of
        :mod:`~kdtheory.models.gaussian_cgf_arrays`."""
        self._check_kernel("kernel", kernel)
        return (kernel.a, kernel.tau, self._ck2(kernel), self.d, self.n, self.v)

    def centred_cgf(self, kernel, theta):
        """``Lambda(theta) = log E exp(theta (g - gen))`` (THEORY §3), i.e. :meth:`joint_cgf`
        minus ``theta gen``, evaluated without cancellation (see :meth:`_centred_terms`);
        ``+inf`` outside the domain."""
        theta = check_in("theta", theta, MODEL_REAL)
        out = _carr._centred_cgf(theta, *self._cgf_params(kernel))
        return float(out) if out.ndim == 0 else out

    def gap_variance(self, kernel) -> float:
        """``Var g = 4 tau^2 d v + 4 v ||c_K||^2 + 2 d v^2 ((2a-1)^2 + n - 1)`` under the joint law
        (THEORY §6.5); equals the CGF's second derivative at 0."""
        self._check_kernel("kernel", kernel)
        return float(
            _carr._gap_variance(kernel.a, kernel.tau, self._ck2(kernel), self.d, self.n, self.v)
        )

    def _ck2(self, kernel) -> float:
        """``||c_K||^2`` as :func:`~kdtheory.audit.gaussian_cases` computes it for a batch."""
        ck = self.offset(kernel)
        return float(np.sum(ck * ck, axis=-1))

    # -- Monte Carlo twin ---------------------------------------------------------------------
    def monte_carlo_cgf(self, kernel, theta: float, size: int, rng: np.random.Generator):
        """``(estimate, standard error)`` of ``log E exp(theta g)`` from simulated ``(D, W)``:
        the log of the sample mean of ``exp(theta g)``, its error by the delta method
        (``sd / (mean sqrt(size))``).  The error is finite only if ``2 theta`` is in the domain."""
        theta = check_scalar("theta", theta, MODEL_REAL)
        size = check_size("size", size, 2, max(2, 10**8 // (self.n * self.d)))
        check_rng("rng", rng)
        z, w = self.simulate(kernel, size, rng)
        x = theta * self.gap(w, z)
        shift = float(np.max(x))
        e = np.exp(x - shift)
        mean = float(e.mean())
        return math.log(mean) + shift, float(e.std(ddof=1) / (mean * math.sqrt(size)))

    # -- central condition (THEORY §4, §6.6) --------------------------------------------------
    def loss_central_constant(self) -> float:
        """``1/(2 s^2)``: the loss-level central condition ``E exp(-eta (l(w,Z) - l(m,Z))) =
        exp(-eta (1 - 2 eta s^2) ||w - m||^2) <= 1`` holds iff ``eta <= 1/(2 s^2)`` (THEORY §6.6)."""
        return 1 / (2 * self.s**2)

    def eta_central(self, teacher) -> float:
        """``eta_c = sup{eta > 0 : E exp(-eta g) <= 1}`` (THEORY §4, §6.6): the positive root of
        ``f(eta) = log E exp(-eta g)``, or ``0`` when ``gen_T <= 0``.  ``f`` is convex with
        ``f(0) = 0``, ``f'(0) = -gen_T`` and tends to ``+inf`` at the domain's edge, so the root
        of ``f(eta)/eta`` (increasing, ``-gen_T`` at 0) is bracketed on ``(0, -lo)`` and bisected
        to adjacent doubles by the array kernel
        :func:`~kdtheory.models.gaussian_cgf_arrays._eta_central` (the one implementation).  If
        ``f < 0`` at every double tried below the edge (``f`` blows up only logarithmically when
        ``c_K = 0``, ``n = 1``), the root is within one ulp of the edge and that double is
        returned.  The result is the largest double at which ``f <= 0`` as computed (so the
        central condition holds at it exactly)."""
        self._check_kernel("teacher", teacher)
        gen = self.gen(teacher)
        return float(_carr._eta_central(gen, *self._cgf_params(teacher)))

    def central_slack(self, teacher, eta: float) -> float:
        """Best slack ``c*(eta) = -log E exp(-eta g) / (eta gen_T)`` (THEORY §4): the largest ``c``
        with ``E exp(-eta g) <= exp(-c eta gen_T)``.  ``c* < 1`` always; ``c* >= 0`` iff
        ``eta <= eta_c``; ``-inf`` beyond the CGF's domain.  Needs ``gen_T > 0``.  Computed as
        ``1 - (Lambda(-eta)/eta)/gen_T`` (no cancellation; for ``eta`` below ~1e-150,
        ``Lambda(-eta) ~ eta^2 Var/2`` underflows and ``c*`` rounds to 1)."""
        eta = check_scalar("eta", eta, POSITIVE)
        self._check_kernel("teacher", teacher)
        gen = self.gen(teacher)
        if gen <= 0:
            raise ValueError(f"central_slack needs gen_T > 0, got gen_T = {gen!r}")
        return float(_carr._central_slack(eta, gen, *self._cgf_params(teacher)))

    # -- U-joint (THEORY §3) -----------------------------------------------------------------
    def _joint_optimum(self, teacher, k_n: float, sign: int) -> tuple[float, float]:
        """``theta* > 0`` minimising ``(K_n + Lambda(sign theta))/theta`` and ``Lambda`` there.

        Unimodal (THEORY §3): the minimiser is the root of ``theta Lambda'(theta) - Lambda(theta)
        = K_n`` (the left side increases from 0 to +inf on the domain), bisected to adjacent
        doubles by the array kernel :func:`~kdtheory.models.gaussian_cgf_arrays._joint_optimum`."""
        self._check_kernel("teacher", teacher)
        theta, lam = _carr._joint_optimum(k_n, sign, *self._cgf_params(teacher))
        return float(theta), float(lam)

    def u_joint(self, student, teacher) -> CGFBound:
        """Upper side of Theorem U-joint: ``inf_{theta>0} (K_n + Lambda(theta))/theta`` with its
        optimising ``theta`` (THEORY §3); the value is the theorem's sympy right-hand side."""
        k_n = self._positive_divergence(student, teacher)
        theta, lam = self._joint_optimum(teacher, k_n, +1)
        vals = {**self._sides(student, teacher), "K_n": k_n, "Lambda_T": lam, "theta": theta}
        return CGFBound(float(THEOREM_U_JOINT.rhs_value(**vals)), theta, vals)

    def u_joint_lower(self, student, teacher) -> CGFBound:
        """Lower side of U-joint: ``dgen >= -inf_{theta>0} (K_n + Lambda(-theta))/theta``
        (THEORY §3).  ``gen_T + value`` is Theorem L optimised over ``eta = theta`` with the
        slack ``c*(eta)`` allowed negative (THEORY §4)."""
        k_n = self._positive_divergence(student, teacher)
        theta, lam = self._joint_optimum(teacher, k_n, -1)
        vals = {**self._sides(student, teacher), "K_n": k_n, "Lambda_T_neg": lam, "theta": theta}
        return CGFBound(float(THEOREM_U_JOINT_LOWER.rhs_value(**vals)), theta, vals)

    # -- sub-gamma envelopes (THEORY §6.5) ----------------------------------------------------
    def sub_gamma_constants(self, teacher, side: str = "upper") -> tuple[float, float]:
        """``(V_g, b_g)`` of the sub-gamma envelope of ``Lambda`` (THEORY §6.5): ``V_g = Var g``;
        ``b_g = 2 max(mu_+, 0)`` (upper) or ``2 max(-mu_-, v)`` (lower side, ``Lambda(-theta)``)."""
        self._check_kernel("teacher", teacher)
        var, b = _carr._sub_gamma_constants(
            teacher.a, teacher.tau, self._ck2(teacher), self.d, self.n, self.v, side
        )
        return float(var), float(b)

    def _gamma(self, theorem, side, student, teacher) -> CGFBound:
        k_n = self.distillation_divergence(student, teacher)
        var, b = self.sub_gamma_constants(teacher, side)
        vals = {**self._sides(student, teacher), "V_g": var, "b_g": b, "K_n": k_n}
        theta = 1 / (b + math.sqrt(var / (2 * k_n))) if k_n > 0 else 0.0
        return CGFBound(float(theorem.rhs_value(**vals)), theta, vals)

    def u_gamma(self, student, teacher) -> CGFBound:
        """``U_gamma = sqrt(2 Var K_n) + 2 max(mu_+, 0) K_n`` (bounds dgen; THEORY §6.5), at
        ``theta* = 1/(b_g + sqrt(V_g/(2 K_n)))`` (THEORY §3; ``0`` when ``K_n = 0``)."""
        return self._gamma(THEOREM_U_GAMMA, "upper", student, teacher)

    def l_gamma(self, student, teacher) -> CGFBound:
        """``L_gamma = gen_T - sqrt(2 Var K_n) - 2 max(-mu_-, v) K_n`` (bounds gen_S; THEORY §6.5)."""
        return self._gamma(THEOREM_L_GAMMA, "lower", student, teacher)

    def _sides(self, student, teacher) -> dict:
        return {
            "dgen": self.dgen(student, teacher),
            "gen_S": self.gen(student),
            "gen_T": self.gen(teacher),
        }

    def _positive_divergence(self, student, teacher) -> float:
        k_n = self.distillation_divergence(student, teacher)
        if not k_n > 0:
            raise ValueError(
                f"the CGF bounds need K_n > 0 (the infimum is 0 at theta -> 0), got K_n = {k_n!r}"
            )
        return k_n
