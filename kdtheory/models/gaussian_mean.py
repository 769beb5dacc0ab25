"""Model A: Gaussian mean estimation with Gaussian kernels; every quantity exact (THEORY §6).

Data ``Z_i ~ N(m, s^2 I_d)``, ``i = 1..n``; loss ``l(w, z) = ||w - z||^2``; kernels
``W | D ~ N(a Zbar + b, tau^2 I_d)``.  With ``v = s^2/n`` and ``delta = Zbar - m ~ N(0, v I)``
the gap is ``g(w, D) = 2 <w - m, delta> - ||delta||^2 + d s^2 - S_D`` (affine in w).

The closed forms are derived symbolically from these definitions in
:mod:`kdtheory.formulas.gaussian_mean` (compiled to the array code this class calls),
proved equal to THEORY's stated forms in ``proofs/gaussian_mean_closed_forms.py`` and checked
against :meth:`GaussianMeanModel.simulate` in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special

from ..divergences import IsotropicGaussian, kl
from ..symbols import (
    MODEL_COUNT,
    MODEL_DIM,
    MODEL_REAL,
    MODEL_SCALE,
    MODEL_SCALE_OR_ZERO,
    UNIT_CLOSED,
    Domain,
    check_int,
    check_rng,
    check_scalar,
    check_size,
    real_array,
    short_repr,
)
from . import gaussian_mean_arrays as _arr
from .gaussian_cgf import GaussianMeanCGF
from .gaussian_smoothing import GaussianMeanSmoothing

__all__ = ["GaussianKernel", "GaussianMeanModel"]

NONNEG = Domain(0.0, math.inf, True, False)
_FINITE = Domain(-math.inf, math.inf)
_POSITIVE_FINITE = Domain(0.0, math.inf)
#: relative accuracy of :meth:`GaussianMeanModel.expectation_over_data` (open interval)
_EPSREL = Domain(0.0, 1.0, False, False)
#: most numbers a Monte Carlo twin may draw (``size * n * d``; memory bound, ~800 MB)
MC_BUDGET = 10**8


@dataclass(frozen=True, eq=False)
class GaussianKernel:
    """``W | D ~ N(a Zbar + b, tau^2 I_d)`` (THEORY §6); build it with :meth:`GaussianMeanModel.kernel`."""

    a: float
    b: np.ndarray
    tau: float

    def __post_init__(self):
        # finiteness and types only: a derived kernel may leave the models' supported range
        a = check_scalar("a", self.a, _FINITE)
        b = real_array("b", self.b, "a 1-d vector of finite reals")
        if b.ndim != 1 or b.size == 0 or not np.all(np.isfinite(b)):
            raise ValueError(
                f"b must be a non-empty 1-d vector of finite reals, got {short_repr(self.b)}"
            )
        tau = check_scalar("tau", self.tau, _POSITIVE_FINITE)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "tau", tau)

    @property
    def d(self) -> int:
        return self.b.shape[0]

    def __repr__(self) -> str:
        return f"GaussianKernel(a={self.a!r}, b={self.b.tolist()!r}, tau={self.tau!r})"


def _vec(name: str, value, d: int, domain: Domain = MODEL_REAL) -> np.ndarray:
    """A scalar (broadcast to ``d``) or a length-``d`` vector of reals in ``domain`` (the supported
    range by default); errors name ``name`` (types as in :func:`kdtheory.symbols.real_array`)."""
    what = f"a real scalar or a length-{d} vector with entries in {domain.describe()}"
    arr = real_array(name, value, what)
    if arr.ndim == 0:
        arr = np.full(d, float(arr))
    if arr.shape != (d,):
        raise ValueError(f"{name} must be a scalar or have shape ({d},), got shape {arr.shape}")
    ok = domain.contains(arr)
    if not np.all(ok):
        raise ValueError(
            f"{name} must have entries in {domain.describe()}, got {short_repr(arr.tolist())}"
        )
    return arr


def _derived_kernel(a, b, tau, blame: str) -> GaussianKernel:
    """A kernel computed from validated inputs: only finiteness is checked (a derived value may
    leave the supported range by a small factor), and a failure names the user's parameters."""
    a, tau = float(a), float(tau)
    b = np.asarray(b, dtype=float)
    if not (math.isfinite(a) and np.all(np.isfinite(b)) and math.isfinite(tau) and tau > 0):
        raise ValueError(
            f"{blame} give a kernel outside double range (a = {a!r}, tau = {tau!r}); "
            f"keep them in {MODEL_SCALE.describe()}"
        )
    return GaussianKernel(a=a, b=b, tau=tau)


def _mc_size(size, per_draw: int, minimum: int = 2) -> int:
    """Monte Carlo ``size``: an integer ``>= minimum`` (2 where a standard error is returned) with
    ``size * per_draw <= MC_BUDGET`` random numbers."""
    return check_size("size", size, minimum, max(minimum, MC_BUDGET // max(per_draw, 1)))


def _flag(name: str, value) -> bool:
    """A boolean option: ``True``/``False`` (numpy bools included) only."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {short_repr(value)}")
    return bool(value)


class GaussianMeanModel(GaussianMeanCGF, GaussianMeanSmoothing):
    """Model A of THEORY §6: ``GaussianMeanModel(d, n, s, m)`` with ``m`` a scalar or a d-vector.

    >>> model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    >>> teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    >>> round(model.gen(teacher), 12)
    1.23282674772
    """

    def __init__(self, d: int, n: int, s: float, m=0.0):
        self.d = check_int("d", d, MODEL_DIM)
        self.n = check_int("n", n, MODEL_COUNT)
        self.s = check_scalar("s", s, MODEL_SCALE)
        self.m = _vec("m", m, self.d)
        self.v = self.s * self.s / self.n

    def __repr__(self) -> str:
        return f"GaussianMeanModel(d={self.d}, n={self.n}, s={self.s!r}, m={self.m.tolist()!r})"

    # -- kernels ------------------------------------------------------------------------------
    def kernel(self, a: float, b=0.0, tau: float = 1.0) -> GaussianKernel:
        """The kernel ``W | D ~ N(a Zbar + b, tau^2 I)`` (``b`` scalar or d-vector, ``tau > 0``;
        ``a``, ``b`` and ``tau`` in the supported range, :data:`kdtheory.symbols.MODEL_SCALE`)."""
        return GaussianKernel(
            a=check_scalar("a", a, MODEL_REAL),
            b=_vec("b", b, self.d),
            tau=check_scalar("tau", tau, MODEL_SCALE),
        )

    def gibbs(self, gamma: float, lam: float, m0=0.0) -> GaussianKernel:
        """Gibbs kernel ``P(w|D) ∝ N(w; m0, I/lam) exp(-gamma L_D(w))`` (THEORY §6, constructors):
        ``a = 2 gamma/(lam + 2 gamma)``, ``b = lam m0/(lam + 2 gamma)``, ``tau^2 = 1/(lam + 2 gamma)``.
        ``lam = 0`` is the flat prior."""
        gamma = check_scalar("gamma", gamma, MODEL_SCALE)
        lam = check_scalar("lam", lam, MODEL_SCALE_OR_ZERO)
        a, b, tau = _arr._gibbs(gamma, lam, _vec("m0", m0, self.d))
        return _derived_kernel(a, b, tau, f"gamma = {gamma!r}, lam = {lam!r}")

    def tempered_bayes(self, temperature: float = 1.0, lam: float = 0.0, m0=0.0) -> GaussianKernel:
        """Tempered Bayes posterior: Gibbs with ``gamma = n / (2 s^2 T)`` (THEORY §6)."""
        t = check_scalar("temperature", temperature, MODEL_SCALE)
        gamma = float(_arr._bayes_gamma(t, self.n, self.s))
        if not MODEL_SCALE.contains(gamma):
            lo = max(MODEL_SCALE.low, self.n / (2 * self.s * self.s * MODEL_SCALE.high))
            hi = min(MODEL_SCALE.high, self.n / (2 * self.s * self.s * MODEL_SCALE.low))
            raise ValueError(
                f"temperature must lie in [{lo:g}, {hi:g}] for this model (s = {self.s!r}, "
                f"n = {self.n}: gamma = n/(2 s^2 T) must lie in {MODEL_SCALE.describe()}), "
                f"got {short_repr(temperature)}"
            )
        return self.gibbs(gamma=gamma, lam=lam, m0=m0)

    def kd_student(
        self,
        teacher: GaussianKernel,
        alpha: float,
        gamma: float,
        lam: float,
        m0=0.0,
        teacher_sample: bool = False,
    ) -> GaussianKernel:
        """KD student: Gibbs on ``alpha L_D(w) + (1 - alpha) ||w - mu_T(D)||^2`` (THEORY §6):
        ``a_S = k_S (alpha + (1-alpha) a_T)``, ``b_S = k_S (1-alpha) b_T + lam m0/(lam + 2 gamma)``,
        ``tau_S^2 = 1/(lam + 2 gamma)`` (``+ (k_S (1-alpha) tau_T)^2`` for a sampled soft label),
        ``k_S = 2 gamma/(lam + 2 gamma)``."""
        self._check_kernel("teacher", teacher)
        alpha = check_scalar("alpha", alpha, UNIT_CLOSED)
        gamma = check_scalar("gamma", gamma, MODEL_SCALE)
        lam = check_scalar("lam", lam, MODEL_SCALE_OR_ZERO)
        m0 = _vec("m0", m0, self.d)
        a, b, tau = _arr._kd_student(
            teacher.a,
            teacher.b,
            teacher.tau,
            alpha,
            gamma,
            lam,
            m0,
            _flag("teacher_sample", teacher_sample),
        )
        return _derived_kernel(a, b, tau, f"alpha = {alpha!r}, gamma = {gamma!r}, lam = {lam!r}")

    def tilt_student(self, teacher: GaussianKernel, kappa: float) -> GaussianKernel:
        """Tilt student ``mu_S = mu_T + kappa (Zbar - m)``, ``tau_S = tau_T`` (THEORY §6): the
        equality witness of Theorem U1 (``kappa > 0`` upper side, ``kappa < 0`` lower side)."""
        self._check_kernel("teacher", teacher)
        kappa = check_scalar("kappa", kappa, MODEL_REAL)
        a, b, tau = _arr._tilt_student(teacher.a, teacher.b, teacher.tau, kappa, self.m)
        return _derived_kernel(a, b, tau, f"kappa = {kappa!r}")

    def _check_kernel(self, name: str, k) -> None:
        if not isinstance(k, GaussianKernel):
            raise TypeError(f"{name} must be a GaussianKernel, got {type(k).__name__}")
        if k.d != self.d:
            raise ValueError(f"{name} has dimension {k.d}, the model has d = {self.d}")

    # -- exact quantities ---------------------------------------------------------------------
    def offset(self, k: GaussianKernel) -> np.ndarray:
        """``c_K = (a - 1) m + b``, so ``W - m = a delta + c_K + tau xi`` (THEORY §6)."""
        self._check_kernel("kernel", k)
        return _arr._offset(k.a, k.b, self.m)

    def gen(self, k: GaussianKernel) -> float:
        """Expected generalization gap ``gen = 2 a d s^2 / n`` (THEORY §6.1)."""
        self._check_kernel("kernel", k)
        return float(_arr._gen(k.a, self.n, self.s, self.d))

    def dgen(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """``gen_S - gen_T = 2 (a_S - a_T) d s^2 / n`` (THEORY §6.1), computed from the difference of
        the slopes so that a student close to its teacher loses no digits to cancellation."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        return float(_arr._gen(student.a - teacher.a, self.n, self.s, self.d))

    def divergence_parts(self, student: GaussianKernel, teacher: GaussianKernel) -> dict:
        """``K_n`` split into offset, estimation and spread (THEORY §6.2):
        ``||c_Delta||^2/(2 tau_T^2)``, ``da^2 d v/(2 tau_T^2)``, ``(d/2) phi(tau_S^2/tau_T^2)``."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        parts = _arr._divergence_parts(
            self.m, self.n, self.s, *self._abt(student), *self._abt(teacher)
        )
        return {k: float(v) for k, v in parts.items()}

    @staticmethod
    def _abt(k: GaussianKernel) -> tuple:
        return k.a, k.b, k.tau

    def distillation_divergence(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """``K_n = E_D KL(P_{W_S|D} || P_{W_T|D})`` (THEORY §1, §6.2)."""
        return float(sum(self.divergence_parts(student, teacher).values()))

    def kl_given_data(self, student: GaussianKernel, teacher: GaussianKernel, zbar) -> float:
        """Per-dataset ``KL_D`` at sample mean ``zbar``, from the closed-form KL registry."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        zbar = _vec("zbar", zbar, self.d)
        return float(
            kl(
                IsotropicGaussian(student.a * zbar + student.b, student.tau**2),
                IsotropicGaussian(teacher.a * zbar + teacher.b, teacher.tau**2),
            )
        )

    def conditional_proxy(self, teacher: GaussianKernel) -> float:
        """``E_D sigma_D^2 = 4 tau_T^2 d s^2 / n``; given D, ``g(W_T, D)`` is Gaussian with variance
        ``sigma_D^2 = 4 tau_T^2 ||delta||^2`` (THEORY §6.4)."""
        self._check_kernel("teacher", teacher)
        return float(_arr._conditional_proxy(teacher.tau, self.n, self.s, self.d))

    def information_ratio(self, k: GaussianKernel) -> float:
        """``q = a^2 v / tau^2`` (THEORY §6.3)."""
        self._check_kernel("kernel", k)
        return float(_arr._information_ratio(k.a, k.tau, self.n, self.s))

    def _information(self, kind: str, k: GaussianKernel) -> float:
        self._check_kernel("kernel", k)
        return float(_arr._information(kind, k.a, k.tau, self.n, self.s, self.d))

    def mutual_information(self, k: GaussianKernel) -> float:
        """``I(W; D) = (d/2) log(1 + q)`` (THEORY §6.3)."""
        return self._information("mutual", k)

    def lautum_information(self, k: GaussianKernel) -> float:
        """Lautum information ``d q - (d/2) log(1 + q)`` (THEORY §6.3)."""
        return self._information("lautum", k)

    def symmetrized_information(self, k: GaussianKernel) -> float:
        """``I_SKL = I + lautum = d q`` (THEORY §6.3); a Gibbs kernel has ``gen = I_SKL/gamma``."""
        return self._information("symmetrized", k)

    def closed_form(self, name: str):
        """The closed form of the Model A quantity ``name`` (e.g. ``"K_n"``, ``"gen"``,
        ``"kd_a_S"``) as a :class:`~kdtheory.formulas.gaussian_mean.Formula`: its sympy
        expression (``.expr``), its symbols with LaTeX, domain and meaning (``.symbols``) and
        its THEORY reference (``.ref``).  The same for every instance: the expression is in
        symbols (``d``, ``n``, ``s``, kernel parameters), not in this model's numbers.  The
        numbers of the methods above come from these expressions."""
        from ..formulas.gaussian_mean import closed_form

        return closed_form(name)

    def theorem_values(self, student: GaussianKernel, teacher: GaussianKernel) -> dict:
        """Exact values of the symbols of the upper bounds (``dgen``, ``K_n``, ``Esigma2``,
        ``gen_S``, ``gen_T``, ``sigma_bar = inf``)."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        vals = _arr._theorem_values(
            self.m, self.n, self.s, *self._abt(student), *self._abt(teacher)
        )
        return {**{k: float(v) for k, v in vals.items()}, "sigma_bar": math.inf}

    # -- the per-dataset expectation of Theorem U0 --------------------------------------------
    def expectation_over_data(
        self, integrand, student: GaussianKernel, teacher: GaussianKernel, epsrel: float = 1e-13
    ):
        """``E_D integrand(sigma_D, KL_D)`` by adaptive quadrature in polar coordinates about
        ``c_Delta`` (THEORY §6.4): ``||delta|| = sqrt(v) R`` with ``R ~ chi_d`` and ``psi`` the angle
        between ``delta`` and ``c_Delta`` (density ∝ ``sin^(d-2) psi``; for d = 1, psi in {0, pi}).

        ``integrand`` takes keyword arguments ``sigma_D`` and ``KL_D`` (e.g. a theorem's
        :attr:`~kdtheory.theorems.Theorem.integrand_function`).  Relative accuracy ~1e-13.
        """
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        if not callable(integrand):
            raise TypeError(f"integrand must be callable, got {type(integrand).__name__}")
        epsrel = check_scalar("epsrel", epsrel, _EPSREL)
        d, v = self.d, self.v
        t2 = teacher.tau**2
        da = student.a - teacher.a
        c_delta = self.offset(student) - self.offset(teacher)
        cn = float(np.linalg.norm(c_delta))
        spread = float(_arr._f("spread")(d, student.tau, teacher.tau))

        def f(r, cos_psi):
            sq = cn**2 + 2 * da * math.sqrt(v) * cn * r * cos_psi + da**2 * v * r**2
            kl_d = max(sq, 0.0) / (2 * t2) + spread
            sigma_d = 2 * teacher.tau * math.sqrt(v) * r
            return float(integrand({"sigma_D": sigma_d, "KL_D": kl_d}))

        log_norm_r = (1 - d / 2) * math.log(2) - special.gammaln(d / 2)

        def chi_pdf(r):
            if r == 0.0:
                return 1.0 * math.exp(log_norm_r) if d == 1 else 0.0
            return math.exp(log_norm_r + (d - 1) * math.log(r) - r * r / 2)

        r_max = math.sqrt(d) + 40.0
        opts = {"epsabs": 0.0, "epsrel": epsrel, "limit": 400}

        if cn == 0.0 or da == 0.0:
            g = lambda r: f(r, 0.0) * chi_pdf(r)  # noqa: E731 - angle irrelevant
        elif d == 1:
            g = lambda r: 0.5 * (f(r, 1.0) + f(r, -1.0)) * chi_pdf(r)  # noqa: E731
        else:
            log_norm_psi = (
                special.gammaln(d / 2) - special.gammaln((d - 1) / 2) - 0.5 * math.log(math.pi)
            )

            def g(r):
                inner = integrate.quad(
                    lambda psi: f(r, math.cos(psi)) * math.sin(psi) ** (d - 2),
                    0.0,
                    math.pi,
                    **opts,
                )[0]
                return inner * math.exp(log_norm_psi) * chi_pdf(r)

        mode = math.sqrt(max(d - 1, 0))
        pts = sorted({0.0, mode, r_max})
        total = 0.0
        for lo, hi in zip(pts[:-1], pts[1:], strict=False):
            if hi > lo:
                total += integrate.quad(g, lo, hi, **opts)[0]
        return total

    # -- simulation (the Monte Carlo twin) ----------------------------------------------------
    def simulate(self, kernel: GaussianKernel, size: int, rng: np.random.Generator):
        """Draw ``size`` datasets and one weight per dataset: returns ``(Z, W)`` with
        ``Z.shape == (size, n, d)`` and ``W.shape == (size, d)``."""
        self._check_kernel("kernel", kernel)
        size = _mc_size(size, self.n * self.d, minimum=1)
        check_rng("rng", rng)
        z = self.m + self.s * rng.standard_normal((size, self.n, self.d))
        zbar = z.mean(axis=1)
        w = kernel.a * zbar + kernel.b + kernel.tau * rng.standard_normal((size, self.d))
        return z, w

    def gap(self, w: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``g(w, D) = L_mu(w) - L_D(w)`` evaluated from its definition (THEORY §1, §6):
        ``L_mu(w) = ||w - m||^2 + d s^2``, ``L_D(w) = mean_i ||w - Z_i||^2``."""
        pop = np.sum((w - self.m) ** 2, axis=-1) + self.d * self.s**2
        emp = np.mean(np.sum((w[..., None, :] - z) ** 2, axis=-1), axis=-1)
        return pop - emp

    def monte_carlo_gen(self, kernel: GaussianKernel, size: int, rng: np.random.Generator):
        """``(estimate, standard error)`` of ``gen`` from simulated datasets and weights
        (``size >= 2``: the standard error needs two draws)."""
        size = _mc_size(size, self.n * self.d)
        z, w = self.simulate(kernel, size, rng)
        g = self.gap(w, z)
        return float(g.mean()), float(g.std(ddof=1) / math.sqrt(size))

    def monte_carlo_divergence(
        self, student: GaussianKernel, teacher: GaussianKernel, size: int, rng: np.random.Generator
    ):
        """``(estimate, standard error)`` of ``K_n``: the average over simulated datasets of the
        log-density ratio ``log p_S(W|D) - log p_T(W|D)`` at ``W ~ P_{W_S|D}`` (``size >= 2``)."""
        self._check_kernel("teacher", teacher)
        size = _mc_size(size, self.n * self.d)
        z, w = self.simulate(student, size, rng)
        zbar = z.mean(axis=1)
        mu_s, mu_t = student.a * zbar + student.b, teacher.a * zbar + teacher.b
        ts2, tt2 = student.tau**2, teacher.tau**2
        lr = (
            -np.sum((w - mu_s) ** 2, axis=1) / (2 * ts2)
            + np.sum((w - mu_t) ** 2, axis=1) / (2 * tt2)
            - 0.5 * self.d * math.log(ts2 / tt2)
        )
        return float(lr.mean()), float(lr.std(ddof=1) / math.sqrt(size))
