"""Model A-bump: Gaussian mean data and Gaussian kernels with a bounded "bump" loss (THEORY §6,
Model A-bump).

Data ``Z_i ~ N(m, s^2 I_d)``; kernels ``W | D ~ N(a Zbar + b, tau^2 I_d)`` (exactly as in Model A);
loss ``l(w, z) = 1 - exp(-||w - z||^2 / (2 omega^2))`` in ``[0, 1)``.  The public constructor
``BumpLossModel(d, n, s, m, beta)`` names the width ``beta``; the formulas write ``omega`` so that it
does not clash with the sharpness ``beta`` of THEORY §5.

With ``Phi(x) = (omega^2/(omega^2 + x))^(d/2) exp(-||c_K||^2 / (2 (omega^2 + x)))``,
``v_tr = s^2 (1 - 2a/n + a^2/n) + tau^2`` and ``v_te = s^2 (1 + a^2/n) + tau^2``:
``gen = Phi(v_tr) - Phi(v_te)``.  The gap lies in ``(-C, 1]`` with
``C = (omega^2/(omega^2 + s^2))^(d/2)``, so ``(1 + C)^2 / 4`` is a sub-Gaussian proxy under any law
(Hoeffding).  Smoothing the teacher changes ``gen``: ``Sh_rho(T) != 0`` and the teacher's
flatness moves the tightness radius ``rho_0^sm`` (found numerically here).

``Phi``, ``v_tr``, ``v_te``, gen, ``C`` and the Hoeffding proxy are the formulas of
:mod:`kdtheory.formulas.bump` (derived there from the definitions; ``kdtheory derive gen --model
bump``).  This module is batch-aware: the private functions after the class take ``n``, ``s``,
``omega`` and a kernel's ``a``, ``tau`` of batch shape, ``m`` and ``b`` of shape ``(..., d)``,
evaluate the compiled formulas (the vector offsets enter through ``||c_K||^2``) and do no
validation; they serve the model's methods and the vectorised audit.  They are generic over
the number type (Model A's private kernels are): sympy arguments give the formulas with the
arguments substituted (symbolic in, symbolic out; see :class:`BumpLossModel`).
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..formulas.table import closed_form_method
from ..symbols import MODEL_SCALE, check_real, is_symbolic, numeric_only
from .gaussian_mean import GaussianKernel, GaussianMeanModel, _mc_size, _offset, _out
from .gaussian_smoothing import GaussianMeanSmoothing

__all__ = ["BumpLossModel", "bump_loss", "bump_gap_floor", "monte_carlo_gap"]


def bump_loss(w: np.ndarray, z: np.ndarray, omega: float) -> np.ndarray:
    """``l(w, z) = 1 - exp(-||w - z||^2 / (2 omega^2))`` over the last axis (THEORY §6 A-bump)."""
    return -np.expm1(-np.sum((w - z) ** 2, axis=-1) / (2 * omega**2))


def bump_gap_floor(d: int, s: float, omega: float) -> float:
    """``C = (omega^2/(omega^2 + s^2))^(d/2)``: ``L_mu(w) = 1 - C exp(-||w - m||^2 /
    (2 (omega^2 + s^2))) >= 1 - C``, so the gap lies in ``(-C, 1]`` (THEORY §6 A-bump); a sympy
    expression for symbolic arguments (the formula ``gap_floor`` substituted)."""
    return _out(_gap_floor(d, s, omega))


def monte_carlo_gap(z: np.ndarray, w: np.ndarray, z_new: np.ndarray, omega: float):
    """``(estimate, standard error)`` of ``gen = E[l(W, Z') - L_D(W)]`` from simulated datasets
    ``z`` (``size, n, d``), one weight per dataset ``w`` (``size, d``) and one fresh test point per
    dataset ``z_new`` (``size, d``): the gap from its definition (THEORY §1), no closed form."""
    g = bump_loss(w, z_new, omega) - np.mean(bump_loss(w[:, None, :], z, omega), axis=1)
    return float(g.mean()), float(g.std(ddof=1) / math.sqrt(len(g)))


class BumpLossModel(GaussianMeanSmoothing):
    """Model A-bump of THEORY §6: ``BumpLossModel(d, n, s, m, beta)`` with bump width ``beta``.

    Kernels are :class:`~kdtheory.models.gaussian_mean.GaussianKernel` s built exactly as in
    Model A (``kernel``, ``gibbs``, ``tempered_bayes``, ``kd_student``, ``tilt_student``); the
    distillation divergence depends only on the kernels, so it is Model A's.

    >>> model = BumpLossModel(d=2, n=10, s=1.0, m=0.0, beta=1.0)
    >>> teacher = model.tempered_bayes(temperature=1.0)
    >>> round(model.gen(teacher), 12)
    0.045454545455

    **Symbolic in, symbolic out** (issue 11 item 3).  As in Model A, ``n``, ``s``, ``m`` and the
    width ``beta`` may be real sympy expressions, and so may the kernels' parameters (``kernel``,
    ``gibbs``, ``tempered_bayes``, ``kd_student``, ``tilt_student``: Model A's constructors,
    e.g. ``alpha=sympy.Symbol("alpha")``).  For a symbolic kernel or model :meth:`gen`,
    :meth:`dgen`, :meth:`train_variance`, :meth:`test_variance`, :meth:`gap_floor`,
    :meth:`hoeffding_proxy`, :meth:`conditional_proxy`, :meth:`distillation_divergence`
    (Model A's ``K_n``) and :meth:`theorem_values` return sympy expressions: the formulas of
    :mod:`kdtheory.formulas.bump` (and :mod:`kdtheory.formulas.gaussian_mean` for ``K_n``) with
    the arguments substituted, never retyped (``log1p``/``expm1`` stay as sympy functions;
    :func:`kdtheory.formulas.compile.definition` expands them).  Numbers still give floats.
    Bad input is refused naming the parameter (Model A's checks; ``beta`` by
    :func:`kdtheory.symbols.check_real`).  The tightness radius, the smoothing quantities and the
    simulations need numbers (``TypeError``).

    >>> import sympy
    >>> omega = sympy.Symbol("omega", positive=True)
    >>> wide = BumpLossModel(d=2, n=10, s=1.0, m=0.0, beta=omega)
    >>> float(wide.gen(teacher).subs(omega, 1.0))  # the float above
    0.045454545454545456
    """

    closed_form = closed_form_method("bump", "bump-loss")

    def __init__(self, d: int, n: int, s: float, m=0.0, beta: float = 1.0):
        self._data = GaussianMeanModel(d=d, n=n, s=s, m=m)
        self.d, self.n, self.s, self.m, self.v = (
            self._data.d,
            self._data.n,
            self._data.s,
            self._data.m,
            self._data.v,
        )
        #: the bump width (``omega`` in THEORY, ``beta`` in the constructor)
        self.omega = check_real("beta", beta, MODEL_SCALE)
        #: ``True`` if ``n``, ``s``, ``m`` or the width is symbolic (then every kernel's
        #: quantities are)
        self.symbolic = self._data.symbolic or is_symbolic(self.omega)

    @property
    def beta(self) -> float:
        """The bump width as the constructor names it (``omega`` in THEORY §6 A-bump)."""
        return self.omega

    def __repr__(self) -> str:
        return (
            f"BumpLossModel(d={self.d}, n={self.n}, s={self.s!r}, m={self.m.tolist()!r}, "
            f"beta={self.omega!r})"
        )

    # -- kernels and divergence: Model A's (THEORY §6) -------------------------------------------
    def kernel(self, a: float, b=0.0, tau: float = 1.0) -> GaussianKernel:
        """``W | D ~ N(a Zbar + b, tau^2 I)`` (THEORY §6)."""
        return self._data.kernel(a, b, tau)

    def gibbs(self, gamma: float, lam: float, m0=0.0) -> GaussianKernel:
        """Model A's Gibbs kernel for the squared loss (THEORY §6, constructors)."""
        return self._data.gibbs(gamma, lam, m0)

    def tempered_bayes(self, temperature: float = 1.0, lam: float = 0.0, m0=0.0) -> GaussianKernel:
        """Model A's tempered Bayes posterior (THEORY §6, constructors)."""
        return self._data.tempered_bayes(temperature, lam, m0)

    def kd_student(self, teacher, alpha, gamma, lam, m0=0.0, teacher_sample=False):
        """Model A's KD student (THEORY §6, constructors)."""
        return self._data.kd_student(teacher, alpha, gamma, lam, m0, teacher_sample)

    def tilt_student(self, teacher: GaussianKernel, kappa: float) -> GaussianKernel:
        """Model A's tilt student ``mu_S = mu_T + kappa (Zbar - m)`` (THEORY §6)."""
        return self._data.tilt_student(teacher, kappa)

    def _check_kernel(self, name: str, k, symbolic: bool = False) -> None:
        """``k`` a kernel of this model's dimension; unless ``symbolic``, the caller needs numbers
        (``TypeError`` for a symbolic kernel or model)."""
        self._data._check_kernel(name, k, symbolic=True)
        if not symbolic and (k.symbolic or self.symbolic):
            raise numeric_only(
                f"{name} {k!r}" if k.symbolic else f"the model {self!r}",
                "the kernel maps, gen, dgen, the variances, K_n, the gap floor, the proxies, "
                "theorem_values",
            )

    def offset(self, k: GaussianKernel) -> np.ndarray:
        """``c_K = (a - 1) m + b`` (THEORY §6)."""
        self._check_kernel("kernel", k, symbolic=True)
        return self._data.offset(k)

    def distillation_divergence(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """``K_n`` (THEORY §6.2): loss-independent, Model A's closed form."""
        return self._data.distillation_divergence(student, teacher)

    # -- exact quantities (THEORY §6 A-bump) -----------------------------------------------------
    def _phi(self, k: GaussianKernel, x: float) -> float:
        """``Phi(x) = (omega^2/(omega^2 + x))^(d/2) exp(-||c_K||^2 / (2 (omega^2 + x)))``
        (numbers only)."""
        self._check_kernel("kernel", k)
        c = self.offset(k)
        return float(_phi(float(np.sum(c * c)), self.omega, x, self.d))

    def train_variance(self, k: GaussianKernel) -> float:
        """``v_tr = s^2 (1 - 2a/n + a^2/n) + tau^2``: per-coordinate variance of ``W - Z_i``."""
        self._check_kernel("kernel", k, symbolic=True)
        return _out(_train_variance(k.a, k.tau, self.n, self.s))

    def test_variance(self, k: GaussianKernel) -> float:
        """``v_te = s^2 (1 + a^2/n) + tau^2``: per-coordinate variance of ``W - Z'`` (fresh Z')."""
        self._check_kernel("kernel", k, symbolic=True)
        return _out(_test_variance(k.a, k.tau, self.n, self.s))

    def gen(self, k: GaussianKernel) -> float:
        """Exact ``gen = Phi(v_tr) - Phi(v_te)`` (THEORY §6 A-bump)."""
        self._check_kernel("kernel", k, symbolic=True)
        return _out(_gen(k.a, k.b, k.tau, self.m, self.n, self.s, self.omega))

    def dgen(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """``gen_S - gen_T``."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        return self.gen(student) - self.gen(teacher)

    def gap_floor(self) -> float:
        """``C``: the gap lies in ``(-C, 1]`` (THEORY §6 A-bump)."""
        return bump_gap_floor(self.d, self.s, self.omega)

    def hoeffding_proxy(self) -> float:
        """``(1 + C)^2 / 4``: a sub-Gaussian proxy of the gap under any law (Hoeffding's lemma on
        the range ``(-C, 1]``, THEORY §3 and §6 A-bump)."""
        return _out(_hoeffding_proxy(self.d, self.s, self.omega))

    def conditional_proxy(self, teacher: GaussianKernel) -> float:
        """A valid (not exact) conditional proxy ``E_D sigma_D^2``: the Hoeffding proxy, which
        holds under every law, hence under every ``P_{W_T|D}`` and every ``T^rho``."""
        self._check_kernel("teacher", teacher, symbolic=True)
        return self.hoeffding_proxy()

    def theorem_values(self, student: GaussianKernel, teacher: GaussianKernel) -> dict:
        """Exact values of the symbols of the upper bounds: ``dgen``, ``gen_S``, ``gen_T``,
        ``K_n``, ``Esigma2`` and ``sigma_bar`` (both from the Hoeffding proxy); sympy
        expressions where the model or a kernel is symbolic."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        proxy = self.hoeffding_proxy()
        return {
            "dgen": self.dgen(student, teacher),
            "gen_S": self.gen(student),
            "gen_T": self.gen(teacher),
            "K_n": self.distillation_divergence(student, teacher),
            "Esigma2": proxy,
            "sigma_bar": sp.sqrt(proxy) if isinstance(proxy, sp.Basic) else math.sqrt(proxy),
        }

    # -- the tightness radius, numerically (THEORY §5) -----------------------------------------
    def tightness_radius(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """``rho_0^sm = sup{rho: B(r) < B(0) for all r in (0, rho)}``, found numerically
        (:meth:`tightness_radius_numeric`): here ``Sh_rho != 0``, so Model A's Lambert-W closed
        form does not apply."""
        return self.tightness_radius_numeric(student, teacher)

    def optimal_radius(self, student: GaussianKernel, teacher: GaussianKernel) -> float:
        """The minimiser of ``B`` on ``[0, rho_0^sm]``: the best point of a geometric grid (16
        points per octave from ``1e-4 tau_T`` to ``rho_0^sm``), refined by bounded Brent between
        its neighbours (``xatol = 1e-10 rho``); 0 when ``rho_0^sm = 0``."""
        r0 = self.tightness_radius(student, teacher)
        if r0 == 0.0:
            return 0.0
        if math.isinf(r0):
            raise ArithmeticError("B(rho) < B(0) at every radius searched: no bounded minimiser")
        lo = min(1e-4 * teacher.tau, r0 / 2)
        grid = np.concatenate(
            [[0.0], np.geomspace(lo, r0, max(3, int(16 * math.log2(r0 / lo)) + 1))]
        )
        vals = self.smoothing_bound(student, teacher, grid)
        i = int(np.argmin(vals))
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        from scipy import optimize  # imported on first use (start-up time)

        res = optimize.minimize_scalar(
            lambda r: self.smoothing_bound(student, teacher, r),
            bounds=(a, b),
            method="bounded",
            options={"xatol": 1e-10 * max(grid[i], lo)},
        )
        return float(res.x) if res.fun <= vals[i] else float(grid[i])

    # -- simulation (the Monte Carlo twin) -------------------------------------------------------
    def simulate(self, kernel: GaussianKernel, size: int, rng: np.random.Generator):
        """``(Z, W)`` as in Model A: ``Z.shape == (size, n, d)``, ``W.shape == (size, d)``."""
        self._check_kernel("kernel", kernel)
        return self._data.simulate(kernel, size, rng)

    def monte_carlo_gen(self, kernel: GaussianKernel, size: int, rng: np.random.Generator):
        """``(estimate, standard error)`` of ``gen`` from ``size`` simulated (dataset, weight,
        fresh test point) triples, the loss evaluated from its definition (``size >= 2``)."""
        self._check_kernel("kernel", kernel)
        size = _mc_size(size, (self.n + 1) * self.d)
        z, w = self.simulate(kernel, size, rng)
        z_new = self.m + self.s * rng.standard_normal((size, self.d))
        return monte_carlo_gap(z, w, z_new, self.omega)


# -- batch functions: the compiled formulas of kdtheory.formulas.bump -----------------------------
def _f(name: str):
    """The compiled Model A-bump formula ``name`` (:mod:`kdtheory.formulas.bump`)."""
    from ..formulas.bump import compiled

    return compiled(name)


def _phi(ck2, omega, x, d):
    """``Phi(x) = (omega^2/(omega^2 + x))^(d/2) exp(-||c_K||^2 / (2 (omega^2 + x)))`` (formula
    ``Phi``)."""
    return _f("Phi")(ck2, omega, x, d)


def _train_variance(a, tau, n, s):
    """``v_tr = s^2 (1 - 2a/n + a^2/n) + tau^2``: per-coordinate variance of ``W - Z_i``
    (formula ``v_tr``)."""
    return _f("v_tr")(a, tau, n, s)


def _test_variance(a, tau, n, s):
    """``v_te = s^2 (1 + a^2/n) + tau^2``: per-coordinate variance of ``W - Z'`` (formula
    ``v_te``)."""
    return _f("v_te")(a, tau, n, s)


def _gen(a, b, tau, m, n, s, omega):
    """``gen = Phi(v_tr) - Phi(v_te)`` (THEORY §6 A-bump; formula ``gen``), ``||c_K||^2`` from
    the vector offsets."""
    c = _offset(a, b, m)
    ck2 = np.sum(c * c, axis=-1)
    return _f("gen")(a, tau, ck2, n, s, omega, np.shape(m)[-1])


def _gap_floor(d, s, omega):
    """``C = (omega^2/(omega^2 + s^2))^(d/2)``: the gap lies in ``(-C, 1]`` (formula
    ``gap_floor``)."""
    return _f("gap_floor")(d, s, omega)


def _hoeffding_proxy(d, s, omega):
    """``(1 + C)^2 / 4``: Hoeffding's proxy on the range ``(-C, 1]`` (THEORY §3, §6 A-bump;
    formula ``hoeffding_proxy``)."""
    return _f("hoeffding_proxy")(d, s, omega)
