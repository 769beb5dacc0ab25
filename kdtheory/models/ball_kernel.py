"""A bounded-support kernel model for validating Theorem S numerically (THEORY §5).

Theorem S needs a teacher kernel supported in a ball ``B(w_T(D), rho)``; the Gaussian kernels of
Model A have unbounded support (THEORY §5, last paragraph).  Here the data are Model A's
(``Z_i ~ N(m, s^2 I_d)``), the loss is the bump loss of THEORY §6 A-bump,
``l(w, z) = 1 - exp(-||w - z||^2 / (2 omega^2))``, and the kernels are *uniform on a ball*:

    W | D ~ Uniform(B(a Zbar + b, R)),   i.e.  W - m = a delta + c_K + U,  U ~ Unif(B(0, R)),

with ``c_K = (a - 1) m + b``.  Given ``U``, ``W - Z_i`` and ``W - Z'`` (fresh ``Z'``) are Gaussian
with per-coordinate variances ``v_tr = s^2 (1 - 2a/n + a^2/n)`` and ``v_te = s^2 (1 + a^2/n)``
(THEORY §6 A-bump with ``tau = 0``), so ``gen = Psi(v_tr) - Psi(v_te)`` with

    Psi(x) = E_U (omega^2/q)^(d/2) exp(-||c_K + U||^2 / (2 q)),   q = omega^2 + x,
           = (2 pi omega^2)^(d/2) / vol(B(0, R)) * P(chi'^2_d(||c_K||^2/q) <= R^2/q)

(the Gaussian integral over the ball is a non-central chi-square probability).  Evaluated in
log space (the registered function :class:`kdtheory.formulas.compile.ball_average`, numerics in
:mod:`kdtheory.formulas.ncx2`): a small-ball expansion for
``radius^2 (d + ||c_K||^2/q)/q <= 1e-8`` (any radius down to the smallest float), ``scipy.stats
.ncx2.cdf`` where it is at least 1e-280, and an extended-precision Poisson mixture in the far
tail where scipy flushes to 0 (large ``d``, or a ball far from the origin).  Relative accuracy
~``eps (1 + d log d)`` (the log-prefactor's rounding), checked against 50-digit quadrature of
the definition for ``radius`` down to 1e-300 and ``d`` up to 1000
(``tests/test_numerics_extreme.py``); an offset ``||c_K|| > ~1e154`` raises ``ValueError``.
A non-centrality below machine epsilon is evaluated as 0 (``chndtr`` is wrong for subnormal
ones; the error of doing so is below ``nc/2`` relative).  The tests also cross-check it against
adaptive quadrature (d = 1, 2), a Poisson series and the Monte Carlo twin (4 standard errors).

Every closed form is a formula of :mod:`kdtheory.formulas.ball` (derived there from the
definitions; ``kdtheory derive gen --model ball-kernel``).  This module is batch-aware: the
private functions after the class take ``n``, ``s``, ``omega`` and a kernel's ``a`` and
``radius`` of batch shape ``(...)``, ``m`` and ``b`` of shape ``(..., d)`` with one common
``d`` (scalars broadcast), evaluate the compiled formulas and do no validation; they serve the
model's methods and the vectorised audit claim ``S``.

Sharpness constants valid for *every* dataset (so Theorem S applies with them):
``||grad l|| <= 1/(omega sqrt(e))`` and ``||Hess l||_op <= 1/omega^2``; for ``L_mu(w) = 1 - C
exp(-||w - m||^2/(2 sigma2))``, ``sigma2 = omega^2 + s^2``, ``C = (omega^2/sigma2)^(d/2)``, the same
bounds times ``C`` with ``omega^2 -> sigma2``.  Hence ``g = L_mu - L_D`` has
``G1 = (1/omega + C/sqrt(sigma2)) / sqrt(e)`` and ``beta = 1/omega^2 + C/sigma2``.

A student kernel has ``KL_D < inf`` for a.e. ``D`` iff its ball lies inside the teacher's for
every ``D``: same ``a`` and ``||b_S - b_T|| + R_S <= R_T``; then ``KL_D = K_n = d log(R_T/R_S)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..divergences import Divergence
from ..formulas.table import closed_form_method
from ..symbols import (
    MODEL_BOUND,
    MODEL_COUNT,
    MODEL_DIM,
    MODEL_REAL,
    MODEL_SCALE,
    POSITIVE,
    Domain,
    check_int,
    check_rng,
    check_scalar,
)
from .bump import _test_variance, _train_variance, bump_gap_floor, monte_carlo_gap
from .gaussian_mean import _mc_size, _offset, _vec

__all__ = ["BallKernel", "BallKernelModel"]

#: containment slack for ``||b_S - b_T|| + R_S <= R_T`` (relative, absorbs rounding)
CONTAIN_RTOL = 1e-12


#: the radius of a ball kernel: any positive float up to the model bound (the closed forms
#: use ``radius^2 / q`` and the log-space ball average, exact down to the smallest float)
BALL_RADIUS = Domain(
    0.0, MODEL_BOUND, False, True, note="the supported range of radii", math=POSITIVE
)


@dataclass(frozen=True, eq=False)
class BallKernel:
    """``W | D ~ Uniform(B(a Zbar + b, radius))``; build it with :meth:`BallKernelModel.kernel`."""

    a: float
    b: np.ndarray
    radius: float

    @property
    def d(self) -> int:
        return self.b.shape[0]

    def __repr__(self) -> str:
        return f"BallKernel(a={self.a!r}, b={self.b.tolist()!r}, radius={self.radius!r})"


class BallKernelModel:
    """Uniform-ball kernels with the bump loss of width ``omega`` (module docstring; THEORY §5,
    §6 A-bump).

    >>> model = BallKernelModel(d=1, n=5, s=1.0, m=0.0, omega=1.0)
    >>> teacher = model.kernel(a=1.0, b=0.0, radius=0.5)
    >>> student = model.kernel(a=1.0, b=0.1, radius=0.3)
    >>> round(model.distillation_divergence(student, teacher), 12)
    0.510825623766
    """

    closed_form = closed_form_method("ball", "ball-kernel")

    def __init__(self, d: int, n: int, s: float, m=0.0, omega: float = 1.0):
        self.d = check_int("d", d, MODEL_DIM)
        self.n = check_int("n", n, MODEL_COUNT)
        self.s = check_scalar("s", s, MODEL_SCALE)
        self.m = _vec("m", m, self.d)
        self.omega = check_scalar("omega", omega, MODEL_SCALE)
        self.v = self.s * self.s / self.n

    def __repr__(self) -> str:
        return (
            f"BallKernelModel(d={self.d}, n={self.n}, s={self.s!r}, m={self.m.tolist()!r}, "
            f"omega={self.omega!r})"
        )

    # -- kernels ------------------------------------------------------------------------------
    def kernel(self, a: float, b=0.0, radius: float = 1.0) -> BallKernel:
        """``W | D ~ Uniform(B(a Zbar + b, radius))`` (``b`` scalar or d-vector, ``radius > 0``)."""
        radius = check_scalar("radius", radius, BALL_RADIUS)
        return BallKernel(a=check_scalar("a", a, MODEL_REAL), b=_vec("b", b, self.d), radius=radius)

    def _check_kernel(self, name: str, k) -> None:
        if not isinstance(k, BallKernel):
            raise TypeError(f"{name} must be a BallKernel, got {type(k).__name__}")
        if k.d != self.d:
            raise ValueError(f"{name} has dimension {k.d}, the model has d = {self.d}")

    def offset(self, k: BallKernel) -> np.ndarray:
        """``c_K = (a - 1) m + b`` (THEORY §6)."""
        self._check_kernel("kernel", k)
        return (k.a - 1) * self.m + k.b

    # -- exact quantities -----------------------------------------------------------------------
    def ball_average(self, k: BallKernel, x: float) -> float:
        """``Psi(x) = E_U (omega^2/q)^(d/2) exp(-||c_K + U||^2/(2q))``, ``q = omega^2 + x``, by the
        non-central chi-square form of the module docstring (formula ``Psi``)."""
        c = self.offset(k)
        return float(_ball_average(np.sum(c * c), k.radius, self.omega, x, self.d))

    def gen(self, k: BallKernel) -> float:
        """``gen = Psi(v_tr) - Psi(v_te)`` (module docstring; THEORY §6 A-bump with a ball)."""
        self._check_kernel("kernel", k)
        return float(_gen(k.a, k.b, k.radius, self.m, self.n, self.s, self.omega))

    def dgen(self, student: BallKernel, teacher: BallKernel) -> float:
        """``gen_S - gen_T``."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        return self.gen(student) - self.gen(teacher)

    def distillation_divergence(self, student: BallKernel, teacher: BallKernel) -> Divergence:
        """``K_n = d log(R_T / R_S)`` when the student's ball lies in the teacher's for every D
        (same ``a``, ``||b_S - b_T|| + R_S <= R_T``); otherwise ``inf`` with the reason."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        k_n = float(
            _distillation_divergence(
                student.a, student.b, student.radius, teacher.a, teacher.b, teacher.radius, self.d
            )
        )
        if math.isfinite(k_n):
            return Divergence(k_n)
        if student.a != teacher.a:
            return Divergence(
                math.inf,
                "a_S != a_T: the centres differ by (a_S - a_T) Zbar + const, unbounded in D, so "
                "the student's ball leaves the teacher's with positive probability",
            )
        shift = float(_centre_shift(student.b, teacher.b))
        return Divergence(
            math.inf,
            f"||b_S - b_T|| + R_S = {shift + student.radius!r} > R_T = {teacher.radius!r}: "
            "the student's ball is not inside the teacher's",
        )

    def gap_floor(self) -> float:
        """``C``: the gap lies in ``(-C, 1]`` (THEORY §6 A-bump)."""
        return bump_gap_floor(self.d, self.s, self.omega)

    def sharpness_constants(self) -> dict:
        """``G1 = (1/omega + C/sqrt(omega^2 + s^2))/sqrt(e)`` and
        ``beta = 1/omega^2 + C/(omega^2 + s^2)``: bounds on ``||grad g||`` and ``||Hess g||_op``
        valid at every ``w`` and every dataset (module docstring; THEORY §5)."""
        g1, beta = _sharpness_constants(self.d, self.s, self.omega)
        return {"G1": float(g1), "beta": float(beta)}

    def theorem_values(self, student: BallKernel, teacher: BallKernel) -> dict:
        """Exact values of the symbols of Theorem S (``dgen``, ``K_n``, ``G1``, ``beta``,
        ``rho = R_T``) and of Theorem U-uniform (``sigma_bar = (1 + C)/2``, Hoeffding), from the
        batch function :func:`_theorem_values` (THEORY §5)."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        vals = _theorem_values(
            self.m,
            self.n,
            self.s,
            self.omega,
            student.a,
            student.b,
            student.radius,
            teacher.a,
            teacher.b,
            teacher.radius,
        )
        return {k: float(v) for k, v in vals.items()}

    # -- simulation (the Monte Carlo twin) ------------------------------------------------------
    def simulate(self, kernel: BallKernel, size: int, rng: np.random.Generator):
        """``(Z, W)``: ``size`` datasets ``Z`` (``size, n, d``) and one weight per dataset, uniform
        on its ball (direction uniform on the sphere, radius ``R V^(1/d)``, ``V ~ U(0, 1)``)."""
        self._check_kernel("kernel", kernel)
        size = _mc_size(size, (self.n + 2) * self.d, minimum=1)
        check_rng("rng", rng)
        z = self.m + self.s * rng.standard_normal((size, self.n, self.d))
        x = rng.standard_normal((size, self.d))
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        u *= kernel.radius * rng.uniform(size=(size, 1)) ** (1 / self.d)
        return z, kernel.a * z.mean(axis=1) + kernel.b + u

    def monte_carlo_gen(self, kernel: BallKernel, size: int, rng: np.random.Generator):
        """``(estimate, standard error)`` of ``gen`` from simulated (dataset, weight, fresh test
        point) triples, the loss evaluated from its definition (``size >= 2``)."""
        size = _mc_size(size, (self.n + 3) * self.d)
        z, w = self.simulate(kernel, size, rng)
        z_new = self.m + self.s * rng.standard_normal((size, self.d))
        return monte_carlo_gap(z, w, z_new, self.omega)


# -- batch functions: the compiled formulas of kdtheory.formulas.ball ----------------------------
def _f(name: str):
    """The compiled ball-kernel formula ``name`` (:mod:`kdtheory.formulas.ball`)."""
    from ..formulas.ball import compiled

    return compiled(name)


def _ball_average(ck2, radius, omega, x, d):
    """``Psi(x) = E_U (omega^2/q)^(d/2) exp(-||c_K + U||^2/(2q))``, ``U ~ Unif(B(0, radius))``,
    ``q = omega^2 + x``, ``ck2 = ||c_K||^2`` (formula ``Psi``: the registered ``ball_average``,
    evaluated in log space by :func:`kdtheory.formulas.ncx2.ball_average_numpy`; an offset
    beyond ~1e154 raises ``ValueError``)."""
    return _f("Psi")(ck2, radius, omega, x, d)


def _ball_averages(a, b, radius, m, n, s, omega):
    """``(Psi(v_tr), Psi(v_te))`` with Model A-bump's variances at ``tau = 0`` (formulas
    ``v_tr``, ``v_te`` of :mod:`kdtheory.formulas.bump`; THEORY §6 A-bump): given the ball offset
    ``U``, ``W - Z_i`` and ``W - Z'`` are Gaussian with these variances."""
    c = _offset(a, b, m)
    with np.errstate(over="ignore"):  # an overflow is refused by _ball_average
        ck2 = np.sum(c * c, axis=-1)
    d = np.shape(m)[-1]
    return (
        _ball_average(ck2, radius, omega, _train_variance(a, 0.0, n, s), d),
        _ball_average(ck2, radius, omega, _test_variance(a, 0.0, n, s), d),
    )


def _gen(a, b, radius, m, n, s, omega):
    """``gen = Psi(v_tr) - Psi(v_te)`` (THEORY §6 A-bump with a uniform ball kernel; formula
    ``gen``)."""
    psi_tr, psi_te = _ball_averages(a, b, radius, m, n, s, omega)
    return psi_tr - psi_te


def _centre_shift(b_s, b_t):
    """``||b_S - b_T||``: how far the student's ball centre sits from the teacher's (same ``a``;
    formula ``centre_shift``)."""
    diff = b_s - b_t
    return _f("centre_shift")(np.sum(diff * diff, axis=-1))


def _inside(a_s, b_s, r_s, a_t, b_t, r_t):
    """Whether the student's ball lies in the teacher's for every dataset: ``a_S = a_T`` and
    ``||b_S - b_T|| + R_S <= R_T`` (formula ``inside``, with the relative slack
    :data:`CONTAIN_RTOL` on ``R_T``)."""
    return (a_s == a_t) & _f("inside")(_centre_shift(b_s, b_t), r_s, r_t * (1 + CONTAIN_RTOL))


def _distillation_divergence(a_s, b_s, r_s, a_t, b_t, r_t, d):
    """``K_n = d log(R_T / R_S)`` (formula ``K_n``) where the student's ball lies in the
    teacher's for every dataset (:func:`_inside`), ``+inf`` elsewhere (the student's law is then
    not absolutely continuous w.r.t. the teacher's with positive probability; THEORY §1, §5)."""
    inside = _inside(a_s, b_s, r_s, a_t, b_t, r_t)
    # R_S within the containment slack above R_T is R_S = R_T up to rounding: K_n = 0, not < 0
    with np.errstate(divide="ignore"):
        return np.where(inside, np.maximum(_f("K_n")(d, r_s, r_t), 0.0), np.inf)


def _sharpness_constants(d, s, omega):
    """``(G1, beta)`` with ``G1 = (1/omega + C/sqrt(omega^2 + s^2))/sqrt(e)`` and
    ``beta = 1/omega^2 + C/(omega^2 + s^2)``, ``C = (omega^2/(omega^2 + s^2))^(d/2)``: bounds on
    ``||grad g||`` and ``||Hess g||_op`` at every ``w`` and every dataset (THEORY §5; formulas
    ``G1``, ``beta``)."""
    return _f("G1")(d, s, omega), _f("beta")(d, s, omega)


def _hoeffding_scale(d, s, omega):
    """``sigma_bar = (1 + C)/2``: Hoeffding's sub-Gaussian scale of a gap in ``(-C, 1]`` under any
    law (THEORY §3, §6 A-bump; formula ``sigma_bar``)."""
    return _f("sigma_bar")(d, s, omega)


def _theorem_values(m, n, s, omega, a_s, b_s, r_s, a_t, b_t, r_t):
    """Exact values of Theorem S's symbols (``dgen``, ``K_n``, ``G1``, ``beta``, ``rho = R_T``)
    and of Theorem U-uniform's (``sigma_bar``) for uniform-ball students and teachers (THEORY §3,
    §5, §6 A-bump)."""
    d = np.shape(m)[-1]
    gen_s = _gen(a_s, b_s, r_s, m, n, s, omega)
    gen_t = _gen(a_t, b_t, r_t, m, n, s, omega)
    g1, beta = _sharpness_constants(d, s, omega)
    return {
        "dgen": gen_s - gen_t,
        "gen_S": gen_s,
        "gen_T": gen_t,
        "K_n": _distillation_divergence(a_s, b_s, r_s, a_t, b_t, r_t, d),
        "G1": g1,
        "beta": beta,
        "rho": r_t,
        "sigma_bar": _hoeffding_scale(d, s, omega),
    }
