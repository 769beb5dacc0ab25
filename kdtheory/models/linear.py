"""Model C: the paper's linear-Gaussian case study with matrix-normal kernels (THEORY §7).

Labels ``Y = W* X + E`` with ``X`` a fixed ``d x n`` design (inputs as columns), ``W*`` ``k x d`` and
``E`` iid ``N(0, nu^2)``.  Losses ``L_D(W) = ||Y - W X||_F^2 / n`` and
``L_mu(W) = ||(W - W*) X||_F^2 / n + k nu^2``, so
``g(W, Y) = k nu^2 - ||E||_F^2/n + (2/n) <(W - W*) X, E>_F`` (affine in W).

Kernels ``W | Y ~ MN(P Y H + B, I_k, Sigma)`` (:class:`MatrixNormalKernel`).  Every quantity below
is exact and checked against :meth:`LinearGaussianModel.simulate` in the tests.

Two evaluation paths (THEORY §7):

* **spectral** -- the kernels built by :meth:`~LinearGaussianModel.gibbs`,
  :meth:`~LinearGaussianModel.bayes_teacher`, :meth:`~LinearGaussianModel.kd_student` (of a
  spectral teacher) and :meth:`~LinearGaussianModel.tilt_student` (of one) are diagonal in the
  eigenbasis ``U`` of ``X X^T`` (:class:`SpectralKernel`: ``H = X^T U diag(h) U^T``,
  ``B = b U^T``, ``Sigma = U diag(v) U^T``, ``P = I``).  Their parameters come from the compiled
  kernel maps of :mod:`kdtheory.formulas.linear_gaussian`, and ``gen``, ``K_n`` and its parts,
  ``Esigma2``, the informations and the rank profile's matrices are sums over the directions of
  its compiled per-direction formulas;
* **matrix** -- any other kernel (:meth:`~LinearGaussianModel.kernel`, the projection students, a
  teacher with ``P != I``) need not be diagonal in that basis, so its trace forms stay numeric
  (Cholesky-whitened, cancellation-free; :meth:`~LinearGaussianModel.divergence_parts`), written
  once for one case and for stacks of cases in :mod:`kdtheory.models.linear_matrix` (the audit's
  vectorised sampler uses the same functions).  The tests check the two paths agree to 1e-12
  relative on spectral kernels.

At large ``d`` the spectral path costs one SVD of ``X`` per model (thin for ``d <= n``) and a
few matrix products per kernel (its ``H``, ``B``, ``Sigma``); ``K_n`` and the theorem values
then cost O(d k).  No eigen-decomposition checks the PSD of ``Sigma = U diag(v) U^T``, the
precision's or a covariance's singularity (their eigenvalues are known), and ``X X^T`` is formed
only for the matrix path (``benchmarks/bench_linear.py``).
  Model A (THEORY §6) is the special case
``X = 1_n^T``, ``k = d_A``, ``W* = m``, ``nu = s`` with ``P = I``, ``H = (a/n) 1_n``, ``B = b``,
``Sigma = [tau^2]``.

**Symbolic in, symbolic out** (issue 11 item 3) on the spectral path: the noise ``nu`` and the
hyper-parameters of the spectral constructors (``gamma``, ``lam``, ``temperature``, ``alpha``,
``kappa``) may be sympy symbols; ``X`` and ``W_star`` (hence the SVD) stay numeric.  See
:class:`LinearGaussianModel`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import linalg

from .. import display
from ..divergences import SINGULAR_RTOL, Divergence, kl
from ..formulas.table import closed_form_method
from ..matrix_normal import (
    DEGENERATE_STUDENT,
    DEGENERATE_TEACHER,
    MatrixNormal,
    is_singular,
    psd_matrix,
    real_matrix,
)
from ..symbols import (
    MODEL_BOUND,
    MODEL_REAL,
    MODEL_SCALE,
    MODEL_SCALE_OR_ZERO,
    UNIT_CLOSED,
    Domain,
    check_int,
    check_real,
    check_rng,
    check_scalar,
    check_size,
    is_symbolic,
    numeric_only,
    short_repr,
)
from . import linear_matrix as lm
from .gaussian_mean import _any_symbolic, _out
from .rank import (
    label_space_decomposition,
    numerical_rank,
    tail_sum,
    weight_space_decomposition,
)

__all__ = [
    "MatrixNormalKernel",
    "LinearGaussianModel",
    "RankProfile",
    "SpectralDesign",
    "SpectralKernel",
]

#: most numbers a Monte Carlo twin may draw (``size * k * max(d, n)``; memory bound)
MC_BUDGET = 10**8


class RankProfile(dict):
    """The result of :meth:`LinearGaussianModel.rank_profile`: a plain ``dict`` of arrays
    (``rank``, ``rank_bottleneck``, ``K_n``, ``projection``) that displays in a notebook as a
    table with one row per rank (:func:`kdtheory.display.rank_profile_html`)."""

    def _repr_html_(self) -> str:
        return display.rank_profile_html(self)


def _profile(ranks, bottleneck, k_out, k_in) -> RankProfile:
    """The rank profile from the costs of the output- and input-side projection students: the
    cheaper side per rank (:meth:`LinearGaussianModel.rank_profile`)."""
    return RankProfile(
        rank=ranks,
        rank_bottleneck=bottleneck,
        K_n=np.minimum(k_out, k_in),
        projection=np.where(k_out <= k_in, "output", "input"),
    )


def _matrix(name: str, value) -> np.ndarray:
    """A finite real matrix with entries in the models' supported range (THEORY §7)."""
    return real_matrix(name, value, bound=MODEL_BOUND)


def _f(name: str):
    """The compiled Model C formula ``name`` (:mod:`kdtheory.formulas.linear_gaussian`, derived
    and compiled on first use)."""
    from ..formulas.linear_gaussian import compiled

    return compiled(name)


def _per_direction(x):
    """A per-direction array ``(..., d)`` against per-coordinate ones ``(..., k, d)``."""
    return np.asarray(x)[..., None, :]


def _spectral_gen(h, s, nu, n, k):
    """``gen`` of spectral kernels with slopes ``h`` (``(..., d)``): the compiled ``gen_dir``
    summed over the directions (THEORY §7); linear in ``h``, so ``dgen`` is this at the slope
    differences (no cancellation between two totals)."""
    return np.sum(_f("gen_dir")(h, s, nu, n, k), axis=-1)


def _spectral_parts(student, teacher, s, omega, nu, k) -> dict:
    """``K_n``'s parts of two spectral kernels ``(h, b, v)`` (``h``, ``v`` of shape ``(..., d)``,
    ``b`` of shape ``(..., k, d)``): the compiled ``offset_dir`` (with ``c_Delta``, summed over the
    k coordinates), ``estimation_dir`` and ``spread_dir`` summed over the directions (THEORY
    §7).  ``nu`` broadcasts against ``(..., d)``.  Generic over floats and sympy objects."""
    (h_s, b_s, v_s), (h_t, b_t, v_t) = student, teacher
    c_delta = _f("c_Delta")(
        _per_direction(h_s), b_s, _per_direction(h_t), b_t, _per_direction(s), omega
    )
    c2 = np.sum(c_delta**2, axis=-2)
    return {
        "offset": np.sum(_f("offset_dir")(c2, v_t), axis=-1),
        "estimation": np.sum(_f("estimation_dir")(h_s, h_t, s, nu, v_t, k), axis=-1),
        "spread": np.sum(_f("spread_dir")(v_s, v_t, k), axis=-1),
    }


def _spectral_proxy(v_t, s, nu, n, k):
    """``Esigma2`` of a spectral teacher: the compiled ``Esigma2_dir`` summed (THEORY §7)."""
    return np.sum(_f("Esigma2_dir")(v_t, s, nu, n, k), axis=-1)


@dataclass(frozen=True, eq=False)
class SpectralDesign:
    """The eigen-decomposition of the design (THEORY §7, spectral form): ``X X^T = U diag(s) U^T``
    from a full SVD of ``X`` (``s`` the squared singular values, zero past ``min(d, n)``), and
    ``omega = W* U`` (column ``i``: ``W* u_i``).  Numeric: the SVD is LAPACK's."""

    U: np.ndarray
    s: np.ndarray
    omega: np.ndarray


@dataclass(frozen=True, eq=False)
class SpectralKernel:
    """A kernel of the spectral family (THEORY §7): ``W u_i | Y ~ N(h_i Y X^T u_i + b_i, v_i I_k)``
    independently over the directions ``u_i`` of ``design``; ``h``, ``v`` of shape ``(d,)``,
    ``b = B U`` of shape ``(k, d)``: float arrays, or ``dtype=object`` arrays of sympy
    expressions for a kernel built from symbolic hyper-parameters (:attr:`symbolic`)."""

    design: SpectralDesign
    h: np.ndarray
    b: np.ndarray
    v: np.ndarray

    @property
    def symbolic(self) -> bool:
        """``True`` if the parameters are sympy expressions (``dtype=object`` arrays)."""
        return self.h.dtype == object


class MatrixNormalKernel:
    """``W | Y ~ MN(P Y H + B, I_k, Sigma)`` (THEORY §7): ``P`` k x k, ``H`` n x d, ``B`` k x d,
    ``Sigma`` d x d PSD.  Build it with :meth:`LinearGaussianModel.kernel` or a constructor.
    A spectral kernel built from symbolic hyper-parameters is :attr:`symbolic`: ``H``, ``B``,
    ``Sigma`` are then ``dtype=object`` matrices of sympy expressions (``U diag(h) U^T`` and so
    on, with the numeric eigenbasis ``U``) and :attr:`spectral` holds the per-direction
    expressions.  A numeric spectral kernel forms ``P``, ``H``, ``B``, ``Sigma`` on first access:
    the spectral path never reads them (at ``d = 2000`` that saves a few ``d^3`` products per
    kernel).  Immutable; equality is identity."""

    __slots__ = ("_matrices", "_build", "_shape", "spectral")

    def __init__(self, P, H, B, Sigma, spectral: SpectralKernel | None = None):
        self._set(_matrices=(P, H, B, Sigma), _build=None, spectral=spectral)
        self._set(_shape=(P.shape[0], Sigma.shape[0], H.shape[0]))

    @classmethod
    def _deferred(cls, shape: tuple, build, spectral: SpectralKernel) -> MatrixNormalKernel:
        """A kernel of shape ``(k, d, n)`` whose matrices ``build() -> (P, H, B, Sigma)`` forms on
        first access."""
        kern = object.__new__(cls)
        kern._set(_matrices=None, _build=build, _shape=tuple(shape), spectral=spectral)
        return kern

    def _set(self, **values) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"MatrixNormalKernel is immutable: cannot set {name!r}")

    def _get(self) -> tuple:
        if self._matrices is None:
            self._set(_matrices=self._build(), _build=None)
        return self._matrices

    @property
    def P(self) -> np.ndarray:  # noqa: N802 - THEORY §7's name
        return self._get()[0]

    @property
    def H(self) -> np.ndarray:  # noqa: N802
        return self._get()[1]

    @property
    def B(self) -> np.ndarray:  # noqa: N802
        return self._get()[2]

    @property
    def Sigma(self) -> np.ndarray:  # noqa: N802
        return self._get()[3]

    @property
    def k(self) -> int:
        return self._shape[0]

    @property
    def symbolic(self) -> bool:
        """``True`` for a kernel with sympy parameters (:attr:`SpectralKernel.symbolic`)."""
        return self.spectral is not None and self.spectral.symbolic

    @property
    def d(self) -> int:
        return self._shape[1]

    @property
    def n(self) -> int:
        return self._shape[2]

    def mean(self, Y: np.ndarray) -> np.ndarray:
        """``M(Y) = P Y H + B`` (``Y`` of shape ``(k, n)`` or a batch ``(..., k, n)``)."""
        return self.P @ Y @ self.H + self.B

    def given(self, Y: np.ndarray) -> MatrixNormal:
        """The law ``MN(M(Y), I_k, Sigma)`` of ``W`` given the labels ``Y``."""
        return MatrixNormal(self.mean(Y), self.Sigma)

    def __repr__(self) -> str:
        return f"MatrixNormalKernel(k={self.k}, d={self.d}, n={self.n})"


def _arrays(kern: MatrixNormalKernel) -> tuple:
    """``(P, H, B, Sigma)``: a kernel as the tuple of :mod:`kdtheory.models.linear_matrix`."""
    return kern.P, kern.H, kern.B, kern.Sigma


def _singular(kern: MatrixNormalKernel) -> bool:
    """``is_singular(Sigma)`` for a numeric kernel -- for a spectral one from its variances ``v``,
    the eigenvalues of ``Sigma = U diag(v) U^T`` (the registry's relative threshold, no
    eigen-decomposition); a symbolic (spectral) kernel's variances are expressions taken
    positive (the kernel maps give positive ``v`` for valid parameters)."""
    if kern.symbolic:
        return False
    if kern.spectral is not None:
        return _singular_spectrum(kern.spectral.v)
    return is_singular(kern.Sigma)


def _singular_spectrum(eigenvalues) -> bool:
    """The registry's singularity test (:data:`kdtheory.divergences.SINGULAR_RTOL`) on known
    eigenvalues of a PSD matrix."""
    top = float(np.max(eigenvalues))
    return bool(top <= 0 or float(np.min(eigenvalues)) <= SINGULAR_RTOL * top)


class LinearGaussianModel:
    """Model C of THEORY §7: ``LinearGaussianModel(X, W_star, nu)``, ``X`` d x n (columns are
    inputs), ``W_star`` k x d, noise sd ``nu > 0``.

    >>> import numpy as np
    >>> model = LinearGaussianModel(X=np.ones((1, 7)), W_star=[[0.5], [-1.0], [2.0]], nu=1.3)
    >>> teacher = model.gibbs(gamma=2.0, lam=0.7, M0=0.2)
    >>> round(model.gen(teacher), 12)  # = Model A's gen_T (THEORY §9)
    1.23282674772

    **Symbolic in, symbolic out** (issue 11 item 3).  ``X`` and ``W_star`` are numbers (the
    eigen-decomposition of ``X X^T`` is a numeric SVD), but ``nu`` and the hyper-parameters of
    the spectral constructors -- ``gamma``, ``lam`` of :meth:`gibbs`; ``lam``, ``temperature``
    of :meth:`bayes_teacher`; ``alpha``, ``gamma``, ``lam`` of :meth:`kd_student` (of a
    spectral teacher); ``kappa`` of :meth:`tilt_student` -- may be real sympy expressions.  They
    give a :attr:`~MatrixNormalKernel.symbolic` spectral kernel whose per-direction parameters
    are the compiled kernel maps of :mod:`kdtheory.formulas.linear_gaussian` with the arguments
    substituted, and then :meth:`gen`, :meth:`dgen`, :meth:`divergence_parts`,
    :meth:`distillation_divergence` (``K_n``), :meth:`conditional_proxy` (``Esigma2``), the three
    informations and :meth:`theorem_values` are sympy expressions: the per-direction formulas
    with the arguments substituted, summed over the numeric eigenvalues ``s_i`` (nothing
    retyped; ``phi``/``log1p`` stay sympy functions, :func:`kdtheory.formulas.compile.definition`
    expands them).  Numbers still give floats.  Bad input is refused naming the parameter
    (:func:`kdtheory.symbols.check_real`: strings and complex symbols ``TypeError``, ``alpha =
    1.5`` or an expression proved outside the domain ``ValueError``).  Needs numbers
    (``TypeError`` for a symbolic kernel or ``nu``): the matrix path (kernels outside the
    spectral family: :meth:`kernel`, the projection students, and a symbolic ``nu`` with them),
    :meth:`mean_over_data`, :meth:`kl_given_data`, the soft labels, :meth:`decomposition`, the
    rank profile and the simulations.  The numeric non-singularity check of the precision is
    skipped for symbolic ``gamma``/``lam`` (a symbolic ``lam`` is taken positive).

    >>> import sympy
    >>> alpha = sympy.Symbol("alpha", real=True)
    >>> student = model.kd_student(teacher, alpha=alpha, gamma=1.0, lam=2.0)
    >>> k_alpha = model.distillation_divergence(student, teacher)
    >>> k_alpha.free_symbols, round(float(k_alpha.subs(alpha, 0.3)), 12)  # THEORY §9's K_n
    ({alpha}, 2.360596433621)
    >>> flat = model.gibbs(gamma=2.0, lam=0.7)  # zero prior means
    >>> k_alpha = model.distillation_divergence(model.kd_student(flat, alpha, 2.0, 0.5), flat)
    >>> [round(float(x), 12) for x in sympy.solve(sympy.diff(k_alpha, alpha), alpha)]
    [0.714285714286]
    >>> round(2.0 * 0.5 / (2.0 * 0.7), 12)  # the design value gamma_T lam_S / (gamma_S lam_T)
    0.714285714286
    """

    closed_form = closed_form_method("linear_gaussian", "linear-Gaussian (Model C)")

    def __init__(self, X, W_star, nu: float):
        self.X = _matrix("X", X)
        if not np.any(self.X):
            raise ValueError("X must not be the zero matrix (valid domain: real d x n, nonzero)")
        self.d, self.n = self.X.shape
        self.W_star = _matrix("W_star", W_star)
        if self.W_star.shape[1] != self.d:
            raise ValueError(
                f"W_star must have shape (k, {self.d}) to match X ({self.d} x {self.n}), "
                f"got {self.W_star.shape}"
            )
        self.k = self.W_star.shape[0]
        self.nu = check_real("nu", nu, MODEL_SCALE)
        #: ``True`` if ``nu`` is symbolic (then every quantity is, on the spectral path only)
        self.symbolic = is_symbolic(self.nu)

    def __repr__(self) -> str:
        return f"LinearGaussianModel(k={self.k}, d={self.d}, n={self.n}, nu={self.nu!r})"

    @functools.cached_property
    def XXt(self) -> np.ndarray:
        """``X X^T`` (d x d), computed on first use (the matrix path of a Gibbs precision)."""
        return self.X @ self.X.T

    @functools.cached_property
    def design(self) -> SpectralDesign:
        """The eigen-decomposition ``X X^T = U diag(s) U^T`` and ``omega = W* U`` (THEORY §7,
        spectral form), from one SVD of ``X`` (more accurate than an eigen-decomposition of
        ``X X^T`` for the small ``s_i``), computed once per model: for ``d <= n`` the thin SVD
        (its ``U`` is already ``d x d``; no ``n x n`` factor), for ``d > n`` the full one (``U``
        completed by the directions with ``s_i = 0``)."""
        u, sv, _ = np.linalg.svd(self.X, full_matrices=self.d > self.n)
        s = np.zeros(self.d)
        s[: sv.size] = sv * sv
        return SpectralDesign(U=u, s=s, omega=self.W_star @ u)

    def _spectral(self, *kernels) -> list[SpectralKernel] | None:
        """The spectral parameters of ``kernels`` if every one is in the spectral family of this
        model's design, else None (then the matrix path is used; ``TypeError`` if the model or a
        kernel is symbolic, as the matrix path is numeric)."""
        out = [getattr(kern, "spectral", None) for kern in kernels]
        if all(sk is not None and sk.design is self.design for sk in out):
            return out
        if self.symbolic or any(getattr(kern, "symbolic", False) for kern in kernels):
            raise TypeError(
                "symbolic parameters need kernels of the spectral family of this model (gibbs, "
                "bayes_teacher, and kd_student / tilt_student of such a teacher); a kernel "
                "outside it is evaluated by matrix code, numerically only"
            )
        return None

    def _spectral_kernel(self, h, b, v) -> MatrixNormalKernel:
        """The kernel with per-direction parameters ``h``, ``b = B U``, ``v`` (THEORY §7):
        ``H = X^T U diag(h) U^T``, ``B = b U^T``, ``Sigma = U diag(v) U^T``, ``P = I``."""
        u = self.design.U
        if _any_symbolic(h, b, v):
            return self._symbolic_spectral_kernel(h, b, v)
        h = np.broadcast_to(np.asarray(h, dtype=float), (self.d,))
        v = np.broadcast_to(np.asarray(v, dtype=float), (self.d,))
        b = np.broadcast_to(np.asarray(b, dtype=float), (self.k, self.d))
        x = self.X

        def matrices():
            # Sigma = U diag(v) U^T is PSD by construction (its eigenvalues are the v_i > 0, up to
            # rounding d eps max v): only finiteness is checked, no eigen-decomposition
            sigma = (u * v) @ u.T
            H, B = x.T @ ((u * h) @ u.T), b @ u.T
            self._check_finite(H=H, Sigma=sigma, B=B)
            return np.eye(self.k), H, B, (sigma + sigma.T) / 2

        # the matrices are formed on first access; their entries are at most ||X||_F max|h|,
        # max v and ||b||_F, so a kernel that would overflow is refused now, as before
        bounds = (np.linalg.norm(x) * np.max(np.abs(h)), np.max(v), np.linalg.norm(b))
        if not all(np.isfinite(bounds)) or max(bounds) > 1e300:
            matrices()  # raises, naming the matrix that leaves double range
        spec = SpectralKernel(self.design, h, b, v)
        return MatrixNormalKernel._deferred((self.k, self.d, self.n), matrices, spec)

    def _symbolic_spectral_kernel(self, h, b, v) -> MatrixNormalKernel:
        """:meth:`_spectral_kernel` for sympy parameters: ``dtype=object`` arrays (numbers as exact
        binary ``sympy.Float``) and the matrices ``H``, ``B``, ``Sigma`` as object matrices in the
        numeric eigenbasis (no finiteness or PSD check: the parameters are expressions)."""
        u = self.design.U

        def obj(x, shape):
            return np.frompyfunc(sp.sympify, 1, 1)(
                np.broadcast_to(np.asarray(x, dtype=object), shape)
            )

        h, b, v = obj(h, (self.d,)), obj(b, (self.k, self.d)), obj(v, (self.d,))
        spec = SpectralKernel(self.design, h, b, v)
        return MatrixNormalKernel(
            P=np.eye(self.k),
            H=self.X.T @ ((u * h) @ u.T),
            B=b @ u.T,
            Sigma=(u * v) @ u.T,
            spectral=spec,
        )

    # -- validation ---------------------------------------------------------------------------
    def _labels(self, Y) -> np.ndarray:
        y = _matrix("Y", Y)
        if y.shape != (self.k, self.n):
            raise ValueError(f"Y must have shape ({self.k}, {self.n}), got {y.shape}")
        return y

    def _check_kernel(self, name: str, kern, symbolic: bool = False) -> None:
        """``kern`` a kernel of this model's shapes; unless ``symbolic``, the caller needs numbers
        (``TypeError`` for a symbolic kernel or model)."""
        if not isinstance(kern, MatrixNormalKernel):
            raise TypeError(f"{name} must be a MatrixNormalKernel, got {type(kern).__name__}")
        if (kern.k, kern.d, kern.n) != (self.k, self.d, self.n):
            raise ValueError(
                f"{name} has (k, d, n) = {(kern.k, kern.d, kern.n)}, the model has "
                f"{(self.k, self.d, self.n)}"
            )
        if not symbolic and (kern.symbolic or self.symbolic):
            raise numeric_only(
                f"{name} {kern!r}" if kern.symbolic else f"the model {self!r}",
                "the spectral kernel maps, gen, dgen, K_n and its parts, Esigma2, the "
                "informations, theorem_values",
            )

    def _prior_mean(self, M0) -> np.ndarray:
        """``M0``: None (zero), a scalar (broadcast) or a k x d matrix."""
        if M0 is None:
            return np.zeros((self.k, self.d))
        if not isinstance(M0, (list, tuple, np.ndarray)) or getattr(M0, "ndim", 1) == 0:
            return np.full((self.k, self.d), check_scalar("M0", M0, MODEL_REAL))
        arr = _matrix("M0", M0)
        if arr.shape != (self.k, self.d):
            raise ValueError(
                f"M0 must be a scalar or have shape ({self.k}, {self.d}), got {arr.shape}"
            )
        return arr

    def _along_directions(self, m0: np.ndarray, M0) -> np.ndarray:
        """A prior mean's components ``M0 U`` along the design's directions (zero, without a
        ``k x d x d`` product, when ``M0`` is None)."""
        return np.zeros((self.k, self.d)) if M0 is None else m0 @ self.design.U

    def _projector(self, name: str, basis, dim: int) -> np.ndarray:
        """Orthogonal projector onto the span of the columns of ``basis`` (dim x r, full rank)."""
        u = _matrix(name, basis)
        if u.shape[0] != dim or u.shape[1] > dim:
            raise ValueError(
                f"{name} must have shape ({dim}, r) with 0 <= r <= {dim}, got {u.shape}"
            )
        if u.shape[1] and numerical_rank(u) < u.shape[1]:
            raise ValueError(f"{name} must have full column rank {u.shape[1]}")
        return lm.projector(u)

    @staticmethod
    def _scalar_identity(P: np.ndarray) -> float | None:
        """``p`` if ``P = p I`` (to 1e-12 relative), else None."""
        p = float(np.trace(P)) / P.shape[0]
        scale = max(abs(p), 1.0)
        return p if np.allclose(P, p * np.eye(P.shape[0]), rtol=0, atol=1e-12 * scale) else None

    # -- kernels ------------------------------------------------------------------------------
    def kernel(self, H, Sigma, P=None, B=None) -> MatrixNormalKernel:
        """The kernel ``W | Y ~ MN(P Y H + B, I_k, Sigma)`` (THEORY §7); ``P`` defaults to ``I_k``,
        ``B`` to 0.  ``Sigma`` may be singular (a degenerate student, ``K_n = inf``)."""
        P = np.eye(self.k) if P is None else _matrix("P", P)
        if P.shape != (self.k, self.k):
            raise ValueError(f"P must have shape ({self.k}, {self.k}), got {P.shape}")
        H = _matrix("H", H)
        if H.shape != (self.n, self.d):
            raise ValueError(f"H must have shape ({self.n}, {self.d}), got {H.shape}")
        B = np.zeros((self.k, self.d)) if B is None else _matrix("B", B)
        if B.shape != (self.k, self.d):
            raise ValueError(f"B must have shape ({self.k}, {self.d}), got {B.shape}")
        sigma = psd_matrix("Sigma", Sigma, self.d, bound=MODEL_BOUND)
        top = float(np.max(np.abs(sigma)))
        if 0 < top < 1 / MODEL_BOUND:
            raise ValueError(
                f"Sigma must be 0 (a deterministic kernel) or have largest entry in "
                f"{MODEL_SCALE.describe()}, got largest entry {top!r}"
            )
        return MatrixNormalKernel(P=P, H=H, B=B, Sigma=sigma)

    def _gibbs_precision(self, gamma: float, lam: float, spectral: bool = False):
        """The posterior precision ``lam I + (2 gamma/n) X X^T``, checked to be numerically
        non-singular (``ValueError`` naming ``lam`` otherwise).  ``spectral``: checked from its
        eigenvalues ``lam + (2 gamma/n) s_i`` on the design's spectrum (no matrix, no
        eigen-decomposition; returns None)."""
        if spectral:
            prec = None
            singular = _singular_spectrum(lam + (2 * gamma / self.n) * self.design.s)
        else:
            prec = lam * np.eye(self.d) + (2 * gamma / self.n) * self.XXt
            singular = is_singular(prec)
        if lam == 0 and singular:
            raise ValueError(
                "lam = 0 (flat prior) needs X X^T invertible (rank d <= n); valid domain of lam "
                "for this design: (0, inf)"
            )
        if singular:
            raise ValueError(
                f"lam = {lam!r} is too small for this design (gamma = {gamma!r}): the posterior "
                "precision lam I + (2 gamma/n) X X^T is numerically singular (condition number "
                "above 1e13); increase lam or use a better-conditioned X"
            )
        return prec

    def _check_precision(self, gamma, lam) -> None:
        """:meth:`_gibbs_precision`'s check for numbers; for symbolic ``gamma`` or ``lam`` only
        that a flat prior (``lam = 0``) needs ``X X^T`` invertible (a symbolic ``lam`` is taken
        positive: the kernel holds where the precision is)."""
        if not _any_symbolic(gamma, lam):
            self._gibbs_precision(gamma, lam, spectral=True)
        elif lam == 0:
            self._gibbs_precision(1.0, 0.0, spectral=True)

    def _gibbs_parts(self, gamma: float, lam: float):
        """``Sigma = (lam I + (2 gamma/n) X X^T)^-1`` and ``G = (2 gamma/n) X^T Sigma`` (THEORY §7),
        from one Cholesky factor of the precision: ``G^T = (2 gamma/n) solve(prec, X)`` (a solve,
        not a product with the computed inverse).  O(d^3 + d^2 n).  The matrix path of
        :meth:`kd_student` for a teacher outside the spectral family."""
        self._gibbs_precision(gamma, lam)
        try:
            return lm.gibbs_parts(self.X, gamma, lam)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"lam = {lam!r}, gamma = {gamma!r}: the posterior precision is not numerically "
                "positive definite for this X; increase lam or use a better-conditioned X"
            ) from None

    def gibbs(self, gamma: float, lam: float, M0=None) -> MatrixNormalKernel:
        """Gibbs kernel ``P(W|Y) ∝ exp(-(lam/2)||W - M0||_F^2 - gamma L_D(W))`` (THEORY §7):
        ``Sigma = (lam I + (2 gamma/n) X X^T)^-1``, ``H = (2 gamma/n) X^T Sigma``, ``P = I``,
        ``B = lam M0 Sigma``.  ``lam = 0`` (flat prior) needs ``X X^T`` invertible.

        Spectral: per direction the compiled kernel maps ``gibbs_h``, ``gibbs_b``, ``gibbs_v`` of
        :mod:`kdtheory.formulas.linear_gaussian` (``v_i = n/(2 gamma s_i + lam n)``, ...)."""
        gamma = check_real("gamma", gamma, MODEL_SCALE)
        lam = check_real("lam", lam, MODEL_SCALE_OR_ZERO)
        m0 = self._prior_mean(M0)
        self._check_precision(gamma, lam)
        s, n = self.design.s, self.n
        return self._spectral_kernel(
            _f("gibbs_h")(gamma, lam, s, n),
            _f("gibbs_b")(gamma, lam, self._along_directions(m0, M0), s, n),
            _f("gibbs_v")(gamma, lam, s, n),
        )

    def bayes_teacher(self, lam: float = 1.0, temperature: float = 1.0, M0=None):
        """Tempered Bayes posterior: Gibbs with ``gamma = n / (2 nu^2 T)`` (THEORY §7); at
        ``T = 1`` the exact posterior under the prior rows ``N(M0 row, I/lam)``."""
        t = check_real("temperature", temperature, MODEL_SCALE)
        nu2 = self.nu * self.nu
        gamma = self.n / (2 * nu2 * t)
        if _any_symbolic(gamma):
            return self.gibbs(gamma=gamma, lam=lam, M0=M0)
        if not MODEL_SCALE.contains(gamma):
            lo = max(MODEL_SCALE.low, self.n / (2 * nu2 * MODEL_SCALE.high))
            hi = min(MODEL_SCALE.high, self.n / (2 * nu2 * MODEL_SCALE.low))
            raise ValueError(
                f"temperature must lie in [{lo:g}, {hi:g}] for this model (nu = {self.nu!r}, "
                f"n = {self.n}: gamma = n/(2 nu^2 T) must lie in {MODEL_SCALE.describe()}), "
                f"got {short_repr(temperature)}"
            )
        return self.gibbs(gamma=gamma, lam=lam, M0=M0)

    def kd_student(
        self,
        teacher: MatrixNormalKernel,
        alpha: float,
        gamma: float,
        lam: float,
        M0=None,
        teacher_sample: bool = False,
    ) -> MatrixNormalKernel:
        """KD student (THEORY §7): Gibbs at inverse temperature ``gamma``, prior rows
        ``N(M0 row, I/lam)``, on ``alpha L_D(W) + (1-alpha) ||M_T(Y) X - W X||_F^2 / n``:
        ``Sigma_S = (lam I + (2 gamma/n) X X^T)^-1``,
        ``H_S = (alpha I_n + (1-alpha) H_T X)(2 gamma/n) X^T Sigma_S``,
        ``B_S = (1-alpha) B_T X (2 gamma/n) X^T Sigma_S + lam M0 Sigma_S`` (for a teacher with
        ``P_T = I``; ``P_T = p I`` scales ``H_T`` by ``p``; any ``P_T`` when ``alpha = 0``).
        ``teacher_sample=True``: the soft label is ``W_T X`` for one teacher draw, which adds
        ``(1-alpha)^2 G^T X^T Sigma_T X G`` (``G = (2 gamma/n) X^T Sigma_S``) to ``Sigma_S``.

        Spectral teacher: the compiled kernel maps ``kd_h_S``, ``kd_b_S``, ``kd_v_S`` (or
        ``kd_v_S_sampled``) per direction; otherwise the matrix forms above (numbers only)."""
        self._check_kernel("teacher", teacher, symbolic=True)
        alpha = check_real("alpha", alpha, UNIT_CLOSED)
        gamma = check_real("gamma", gamma, MODEL_SCALE)
        lam = check_real("lam", lam, MODEL_SCALE_OR_ZERO)
        if not isinstance(teacher_sample, (bool, np.bool_)):
            raise TypeError(
                f"teacher_sample must be True or False, got {short_repr(teacher_sample)}"
            )
        m0 = self._prior_mean(M0)
        spec = self._spectral_or_numbers(teacher, alpha, gamma, lam)
        if spec is not None:
            self._check_precision(gamma, lam)
            (t,), s, n = spec, self.design.s, self.n
            v_s = (
                _f("kd_v_S_sampled")(t.v, alpha, gamma, lam, s, n)
                if teacher_sample
                else _f("kd_v_S")(gamma, lam, s, n)
            )
            return self._spectral_kernel(
                _f("kd_h_S")(t.h, alpha, gamma, lam, s, n),
                _f("kd_b_S")(t.b, alpha, gamma, lam, self._along_directions(m0, M0), s, n),
                v_s,
            )
        p = self._scalar_identity(teacher.P)
        if p is not None:
            self._gibbs_parts(gamma, lam)  # the precision's checks, with their messages
            kern = lm.kd_student(self.X, _arrays(teacher), alpha, gamma, lam, m0, teacher_sample, p)
            return self._derived_kernel(kern[1], kern[3], kern[0], kern[2])
        if alpha != 0:
            raise ValueError(
                "kd_student with 0 < alpha <= 1 needs a teacher with P_T = p I (the soft-label "
                "mixture alpha Y + (1-alpha) P_T Y H_T X is then of the form Y H); got teacher.P "
                f"= {teacher.P.tolist()!r}"
            )
        sigma0, g = self._gibbs_parts(gamma, lam)
        xg = self.X @ g  # d x d: no n x n product anywhere (O(d^2 n))
        sigma = sigma0
        if teacher_sample:
            sigma = sigma0 + xg.T @ teacher.Sigma @ xg
        return self._derived_kernel(
            teacher.H @ xg, sigma, teacher.P, teacher.B @ xg + lam * m0 @ sigma0
        )

    def tilt_student(self, teacher: MatrixNormalKernel, kappa: float) -> MatrixNormalKernel:
        """Tilt student ``M_S(Y) = M_T(Y) + (kappa/n) (Y - W* X) X^T Sigma_T``, ``Sigma_S = Sigma_T``
        (THEORY §7; the Model C form of THEORY §6.4's tilt): per dataset the log-likelihood ratio is
        proportional to the gap, so it attains Theorem U1 with equality (``kappa > 0`` the upper
        side, ``kappa < 0`` the lower).  In Model A coordinates it is the tilt with
        ``kappa_A = kappa tau_T^2``.  Needs ``P_T = p I``.  Spectral teacher: the compiled maps
        ``tilt_h_S``, ``tilt_b_S`` per direction (``v_S = v_T``); otherwise numbers only."""
        self._check_kernel("teacher", teacher, symbolic=True)
        kappa = check_real("kappa", kappa, MODEL_REAL)
        spec = self._spectral_or_numbers(teacher, kappa)
        if spec is not None:
            (t,), n, dz = spec, self.n, self.design
            return self._spectral_kernel(
                _f("tilt_h_S")(t.h, kappa, t.v, n),
                _f("tilt_b_S")(t.b, kappa, t.v, dz.s, dz.omega, n),
                t.v,
            )
        p = self._scalar_identity(teacher.P)
        if p is None:
            raise ValueError(
                f"tilt_student needs a teacher with P_T = p I, got {teacher.P.tolist()!r}"
            )
        kern = lm.tilt_student(self.X, self.W_star, _arrays(teacher), kappa, p)
        return self._derived_kernel(kern[1], kern[3], kern[0], kern[2])

    def _spectral_or_numbers(self, teacher, *hyper) -> list[SpectralKernel] | None:
        """:meth:`_spectral` of ``teacher``; a teacher outside the spectral family (the matrix
        path) with symbolic hyper-parameters is refused (``TypeError``)."""
        spec = self._spectral(teacher)
        if spec is None and _any_symbolic(*hyper):
            raise TypeError(
                "symbolic hyper-parameters need a teacher of the spectral family (gibbs, "
                "bayes_teacher, kd_student or tilt_student of one); this teacher is evaluated "
                "by matrix code, numerically only"
            )
        return spec

    def output_projection_student(self, teacher: MatrixNormalKernel, U, Sigma=None):
        """Fixed-subspace rank-r student ``M_S(Y) = Q_U M_T(Y)`` with ``Q_U = U U^T`` the orthogonal
        projector onto the span of ``U`` (k x r, full column rank; orthonormalised): ``P_S = Q_U P_T``,
        ``B_S = Q_U B_T``, ``H_S = H_T``; ``Sigma_S = Sigma`` (default ``Sigma_T``; a singular
        ``Sigma`` is a degenerate student, ``K_n = inf``)."""
        self._check_kernel("teacher", teacher)
        q = self._projector("U", U, self.k)
        p, h, b, _ = lm.output_projection(_arrays(teacher), q)
        return self.kernel(H=h, Sigma=teacher.Sigma if Sigma is None else Sigma, P=p, B=b)

    def input_projection_student(self, teacher: MatrixNormalKernel, V, Sigma=None):
        """Fixed-subspace rank-r student projecting the teacher's *whitened* rows:
        ``M_S(Y) Sigma_T^{-1/2} = M_T(Y) Sigma_T^{-1/2} Q_V`` (``V`` d x r, full column rank), i.e.
        ``H_S = H_T Pi``, ``B_S = B_T Pi`` with ``Pi = Sigma_T^{-1/2} Q_V Sigma_T^{1/2}``;
        ``Sigma_S = Sigma`` (default ``Sigma_T``).  Needs a non-singular ``Sigma_T``."""
        self._check_kernel("teacher", teacher)
        self._require_regular("teacher", teacher)
        q = self._projector("V", V, self.d)
        p, h, b, _ = lm.input_projection(_arrays(teacher), q)
        return self.kernel(H=h, Sigma=teacher.Sigma if Sigma is None else Sigma, P=p, B=b)

    def _mc_size(self, size, minimum: int = 2) -> int:
        """Monte Carlo ``size``: an integer ``>= minimum`` (2 where a standard error is returned),
        at most ``MC_BUDGET`` random numbers in all."""
        per_draw = self.k * (max(self.d, self.n) + self.d)
        return check_size("size", size, minimum, max(minimum, MC_BUDGET // per_draw))

    @staticmethod
    def _check_finite(**arrays) -> None:
        """A derived kernel's matrices must be finite (``ValueError`` naming the matrix)."""
        for name, arr in arrays.items():
            if not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"the inputs give a kernel whose {name} leaves double range; keep the "
                    f"parameters in {MODEL_SCALE.describe()}"
                )

    def _derived_kernel(self, H, Sigma, P, B) -> MatrixNormalKernel:
        """A kernel computed from validated inputs: finiteness and PSD only (no range check, so an
        error never blames a derived ``H`` or ``Sigma`` for the user's extreme inputs)."""
        self._check_finite(H=H, Sigma=Sigma, P=P, B=B)
        return MatrixNormalKernel(P=P, H=H, B=B, Sigma=psd_matrix("Sigma", Sigma, self.d))

    def _require_regular(self, name: str, kern: MatrixNormalKernel) -> None:
        if _singular(kern):
            raise ValueError(f"{name}.Sigma must be positive definite here, got a singular matrix")

    # -- exact quantities ---------------------------------------------------------------------
    def mean_over_data(self, kern: MatrixNormalKernel) -> np.ndarray:
        """``E_Y M(Y) = P W* X H + B`` (THEORY §7)."""
        self._check_kernel("kernel", kern)
        return kern.P @ self.W_star @ self.X @ kern.H + kern.B

    def gen(self, kern: MatrixNormalKernel) -> float:
        """Expected generalization gap ``gen = (2 nu^2 / n) tr(P) tr(H X)`` (THEORY §7); for a
        spectral kernel the sum over directions of the compiled ``gen_dir``."""
        self._check_kernel("kernel", kern, symbolic=True)
        spec = self._spectral(kern)
        if spec is not None:
            return self._gen_spectral(spec[0].h)
        return self._gen_matrix(kern)

    def _gen_spectral(self, h) -> float:
        """The compiled ``gen_dir`` at the slopes ``h``, summed over the directions."""
        return _out(_spectral_gen(h, self.design.s, self.nu, self.n, self.k))

    def _gen_matrix(self, kern: MatrixNormalKernel) -> float:
        return float(lm.gen(self.X, self.nu, _arrays(kern)))

    def _gen_pair(self, student, teacher) -> tuple[float, float, float]:
        """``(dgen, gen_S, gen_T)`` by one path for both kernels (so that a student equal to the
        teacher has ``dgen = 0`` exactly): two spectral kernels through ``gen_dir``, with
        ``dgen`` from the slope differences (``gen_dir`` is linear in ``h``: no cancellation
        between two totals); otherwise both by matrix code, ``dgen`` from the differences of the
        stored matrices (:func:`kdtheory.models.linear_matrix.dgen`)."""
        spec = self._spectral(student, teacher)
        if spec is not None:
            (st, te) = spec
            return (
                self._gen_spectral(st.h - te.h),
                self._gen_spectral(st.h),
                self._gen_spectral(te.h),
            )
        dgen = float(lm.dgen(self.X, self.nu, _arrays(student), _arrays(teacher)))
        return dgen, self._gen_matrix(student), self._gen_matrix(teacher)

    def dgen(self, student: MatrixNormalKernel, teacher: MatrixNormalKernel) -> float:
        """``gen_S - gen_T`` (both kernels by the same path, :meth:`_gen_pair`)."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        return self._gen_pair(student, teacher)[0]

    def divergence_parts(self, student: MatrixNormalKernel, teacher: MatrixNormalKernel) -> dict:
        """``K_n`` split into offset, estimation and spread (THEORY §7), in trace form with the
        Cholesky factor ``Sigma_T = L L^T`` (no Kronecker product, no explicit inverse;
        O(d^3 + d^2 (n + k) + k^2 d)):

        * offset ``(1/2) tr(Sigma_T^-1 Dbar^T Dbar) = (1/2)||L^-1 Dbar^T||_F^2``,
          ``Dbar = E_Y[M_S(Y) - M_T(Y)]``;
        * estimation ``(nu^2/2)[tr(Sigma_T^-1 H_S^T H_S) tr(P_S P_S^T) - 2 tr(Sigma_T^-1 H_S^T H_T)
          tr(P_S P_T^T) + tr(Sigma_T^-1 H_T^T H_T) tr(P_T P_T^T)]``, which equals
          ``(nu^2/2)||G_S ⊗ P_S - G_T ⊗ P_T||_F^2`` with ``G = L^-1 H^T``; evaluated by
          :func:`~kdtheory.models.linear_matrix.kron_difference_norm2` from
          ``L^-1 (H_S - H_T)^T`` and ``G_T`` (cancellation-free, the product never formed);
        * spread ``(k/2)[tr(Sigma_T^-1 Sigma_S) - d - log det(Sigma_T^-1 Sigma_S)]
          = (k/2) sum_i phi(r_i)`` over the eigenvalues ``r_i`` of the pencil
          ``(Sigma_S, Sigma_T)`` (Cholesky-reduced; the sum of ``phi`` is free of the cancellation of
          ``tr - d - log det`` when ``Sigma_S ≈ Sigma_T``); ``inf`` for a singular ``Sigma_S``.

        ``Sigma_T`` must be positive definite.  Symbolic kernels: the spectral sums, as sympy
        expressions."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        self._require_regular("teacher", teacher)
        return self._parts(student, teacher, singular_student=_singular(student))

    def _parts(self, student, teacher, singular_student: bool) -> dict:
        """:meth:`divergence_parts` for checked kernels with a positive definite ``Sigma_T``:
        for two spectral kernels the sums over directions of the compiled ``offset_dir``
        (with ``c_Delta``), ``estimation_dir`` and ``spread_dir``; else :meth:`_matrix_parts`."""
        spec = self._spectral(student, teacher)
        if spec is None or singular_student:
            return self._matrix_parts(student, teacher, singular_student)
        (st, te), dz = spec, self.design
        parts = _spectral_parts(
            (st.h, st.b, st.v), (te.h, te.b, te.v), dz.s, dz.omega, self.nu, self.k
        )
        return {key: _out(v) for key, v in parts.items()}

    def _matrix_parts(self, student, teacher, singular_student: bool) -> dict:
        """The trace forms of :meth:`divergence_parts` by matrix code (any kernels;
        :func:`kdtheory.models.linear_matrix.divergence_parts`)."""
        parts = lm.divergence_parts(
            self.X, self.W_star, self.nu, _arrays(student), _arrays(teacher), not singular_student
        )
        out = {k: float(v) for k, v in parts.items()}
        if singular_student:
            out["spread"] = math.inf
        return out

    def distillation_divergence(
        self, student: MatrixNormalKernel, teacher: MatrixNormalKernel
    ) -> Divergence:
        """``K_n = E_Y KL(P_{W_S|Y} || P_{W_T|Y})`` (THEORY §1, §7); ``inf`` with the reason for a
        singular (degenerate, deterministic) student or teacher covariance.  A sympy expression
        (the spectral sum of ``K_n_dir``'s parts) where the model or a kernel is symbolic."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        if self.symbolic or student.symbolic or teacher.symbolic:
            return sum(self.divergence_parts(student, teacher).values())
        sing_s, sing_t = _singular(student), _singular(teacher)
        if sing_s and not sing_t:
            return Divergence(math.inf, DEGENERATE_STUDENT)
        if sing_t and not sing_s:
            return Divergence(math.inf, DEGENERATE_TEACHER)
        if sing_s and sing_t:
            raise NotImplementedError(
                "K_n with both covariances singular is not implemented (use kl_given_data per Y)"
            )
        return Divergence(sum(self._parts(student, teacher, singular_student=False).values()))

    def kl_given_data(self, student, teacher, Y) -> Divergence:
        """Per-dataset ``KL_Y`` from the closed-form KL registry (``MatrixNormal`` pair, THEORY §7)."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        y = self._labels(Y)
        return kl(student.given(y), teacher.given(y))

    def conditional_proxy(self, teacher: MatrixNormalKernel) -> float:
        """``E_Y sigma_Y^2 = (4 nu^2 k / n^2) tr(Sigma_T X X^T)`` (THEORY §7); given ``Y``,
        ``g(W_T, Y)`` is Gaussian with variance :meth:`conditional_proxy_given_data`."""
        self._check_kernel("teacher", teacher, symbolic=True)
        spec = self._spectral(teacher)
        if spec is not None:  # the compiled Esigma2_dir summed over the directions
            return _out(_spectral_proxy(spec[0].v, self.design.s, self.nu, self.n, self.k))
        return float(lm.conditional_proxy(self.X, self.nu, self.k, teacher.Sigma))

    def conditional_proxy_given_data(self, teacher: MatrixNormalKernel, Y) -> float:
        """``sigma_Y^2 = (4/n^2) tr(Sigma_T X E^T E X^T)``, ``E = Y - W* X``: the exact variance of the
        affine gap ``g(W_T, Y)`` under ``W_T ~ P_{W_T|Y}`` (THEORY §7)."""
        self._check_kernel("teacher", teacher)
        e = self._labels(Y) - self.W_star @ self.X
        xe = self.X @ e.T
        return float(4 / self.n**2 * np.trace(teacher.Sigma @ xe @ xe.T))

    def _information_eigs(self, kern: MatrixNormalKernel):
        """Eigenvalues ``lam_a`` of ``Sigma^-1 H^T H`` and ``mu_b`` of ``P P^T``."""
        self._check_kernel("kernel", kern)
        self._require_regular("kernel", kern)
        lam = np.clip(linalg.eigh(kern.H.T @ kern.H, kern.Sigma, eigvals_only=True), 0.0, None)
        mu = np.clip(np.linalg.eigvalsh(kern.P @ kern.P.T), 0.0, None)
        return lam, mu

    def _spectral_information(self, name: str, kern: MatrixNormalKernel) -> float | None:
        """The compiled ``{name}_dir`` summed over the directions, for a spectral kernel."""
        self._check_kernel("kernel", kern, symbolic=True)
        spec = self._spectral(kern)
        if spec is None:
            return None
        t, dz = spec[0], self.design
        return _out(np.sum(_f(f"{name}_dir")(t.h, t.v, dz.s, self.nu, self.k)))

    def mutual_information(self, kern: MatrixNormalKernel) -> float:
        """``I(W; Y) = (1/2) log det(I + nu^2 (Sigma^-1 H^T H) ⊗ (P P^T))
        = (1/2) sum_{a,b} log(1 + nu^2 lam_a mu_b)`` (THEORY §7; Model A: ``(d/2) log(1+q)``);
        spectral kernels: the compiled ``mutual_information_dir`` summed."""
        spectral = self._spectral_information("mutual_information", kern)
        if spectral is not None:
            return spectral
        lam, mu = self._information_eigs(kern)
        return 0.5 * float(np.sum(np.log1p(self.nu**2 * np.outer(lam, mu))))

    def symmetrized_information(self, kern: MatrixNormalKernel) -> float:
        """``I_SKL = I + lautum = nu^2 tr(P P^T) tr(Sigma^-1 H^T H)`` (THEORY §7); a Gibbs kernel has
        ``gen = I_SKL / gamma``."""
        spectral = self._spectral_information("symmetrized_information", kern)
        if spectral is not None:
            return spectral
        lam, mu = self._information_eigs(kern)
        return float(self.nu**2 * np.sum(lam) * np.sum(mu))

    def lautum_information(self, kern: MatrixNormalKernel) -> float:
        """Lautum information ``I_SKL - I`` (THEORY §7); spectral kernels: the compiled
        ``lautum_information_dir`` summed (``q - log1p(q)/2`` per direction, no cancellation
        between two totals)."""
        spectral = self._spectral_information("lautum_information", kern)
        if spectral is not None:
            return spectral
        return self.symmetrized_information(kern) - self.mutual_information(kern)

    def theorem_values(self, student: MatrixNormalKernel, teacher: MatrixNormalKernel) -> dict:
        """Exact values of the symbols of the upper bounds (``dgen``, ``gen_S``, ``gen_T``, ``K_n``,
        ``Esigma2``, ``sigma_bar = inf``), the keys of ``GaussianMeanModel.theorem_values``;
        sympy expressions (``sigma_bar = sympy.oo``) where the model or a kernel is symbolic."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        dgen, gen_s, gen_t = self._gen_pair(student, teacher)
        symbolic = self.symbolic or student.symbolic or teacher.symbolic
        return {
            "dgen": dgen,
            "gen_S": gen_s,
            "gen_T": gen_t,
            "K_n": _out(self.distillation_divergence(student, teacher)),
            "Esigma2": self.conditional_proxy(teacher),
            "sigma_bar": sp.oo if symbolic else math.inf,
        }

    # -- soft labels (label space) ------------------------------------------------------------
    def soft_label_law(self, teacher: MatrixNormalKernel, Y) -> MatrixNormal:
        """Teacher soft labels ``Yhat | (X, Y) = W_T X + noise``, ``W_T ~ P_{W_T|Y}``:
        ``MN(Wbar_T X, I_k, nu^2 I_n + X^T Sigma_T X)``, i.e. column-major covariance
        ``nu^2 I + (X^T Sigma_T X) ⊗ I_k`` (THEORY §7, label space)."""
        self._check_kernel("teacher", teacher)
        y = self._labels(Y)
        return MatrixNormal(
            teacher.mean(y) @ self.X,
            self.nu**2 * np.eye(self.n) + self.X.T @ teacher.Sigma @ self.X,
        )

    def simulate_soft_labels(self, teacher, Y, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` soft labels ``W_T X + nu xi`` (a teacher draw per label), shape (size, k, n)."""
        self._check_kernel("teacher", teacher)
        size = self._mc_size(size, minimum=1)
        check_rng("rng", rng)
        w = teacher.given(self._labels(Y)).sample(size, rng)
        return w @ self.X + self.nu * rng.standard_normal((size, self.k, self.n))

    # -- decomposition and design guidance ----------------------------------------------------
    def decomposition(self, student, teacher, Y, rank: int | None = None) -> dict:
        """Bias / rank bottleneck / variance of ``KL_Y`` (THEORY §7), for a student of rank ``rank``
        (default: the numerical rank of ``M_S(Y)``).

        Weight space (top-level keys, see :func:`~kdtheory.models.rank.weight_space_decomposition`):
        ``bias``, ``rank_bottleneck``, ``variance``, ``kl`` (= ``KL_Y``), ``exact`` (True: the student
        mean lies in the top-r whitened singular subspace and ``kl = bias + rank_bottleneck +
        variance``; False: only the Eckart–Young lower bound ``kl >= rank_bottleneck + variance``).
        ``label``: the label-space form with ``Wbar_T = M_T(Y)`` and reference ``M = M_S(Y)``
        (:func:`~kdtheory.models.rank.label_space_decomposition`): the exact soft-label ``kl`` next
        to the ``convexity_bound`` and the ``rank_cost`` from the singular values of ``Wbar_T X``."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        self._require_regular("teacher", teacher)
        y = self._labels(Y)
        m_s, m_t = student.mean(y), teacher.mean(y)
        out = weight_space_decomposition(m_s, student.Sigma, m_t, teacher.Sigma, rank)
        out["label"] = label_space_decomposition(
            m_t, teacher.Sigma, m_s, self.X, self.nu, out["rank"]
        )
        return out

    def _second_moments(self, teacher: MatrixNormalKernel):
        """``Abar = E_Y[M_T] Sigma_T^{-1/2}``, ``S_out = E[A_w A_w^T]``, ``S_in = E[A_w^T A_w]`` with
        ``A_w = M_T(Y) Sigma_T^{-1/2}`` (``E[E C E^T] = nu^2 tr(C) I``).

        Spectral teacher: from the compiled ``whitened_mean`` (the columns ``abar_i`` of
        ``Abar U``) and ``estimation_weight`` (``e_i``): ``S_out = sum_i abar_i abar_i^T +
        (sum_i e_i) I_k``, ``S_in = U (Abar_U^T Abar_U + k diag(e)) U^T``; the eigenvalues the
        rank profile takes of them stay numeric (they mix the directions)."""
        self._check_kernel("teacher", teacher)
        self._require_regular("teacher", teacher)
        moments = self._spectral_moments(teacher)
        if moments is not None:
            (abar_u, e), dz = moments, self.design
            s_out = abar_u @ abar_u.T + float(np.sum(e)) * np.eye(self.k)
            s_in = dz.U @ (abar_u.T @ abar_u + self.k * np.diag(e)) @ dz.U.T
            return abar_u @ dz.U.T, s_out, (s_in + s_in.T) / 2
        return lm.second_moments(self.X, self.W_star, self.nu, _arrays(teacher))

    def _spectral_moments(self, teacher: MatrixNormalKernel):
        """``(Abar U, e)`` of a spectral teacher from the compiled ``whitened_mean`` (k x d) and
        ``estimation_weight`` (d,), else None."""
        spec = self._spectral(teacher)
        if spec is None:
            return None
        t, dz = spec[0], self.design
        return (
            _f("whitened_mean")(t.h, t.b, dz.s, dz.omega, t.v),
            _f("estimation_weight")(t.h, dz.s, self.nu, t.v),
        )

    def _spectral_rank_costs(self, abar_u: np.ndarray, e: np.ndarray, ranks) -> tuple:
        """``(rank_bottleneck, K_n output side, K_n input side)`` of a spectral teacher: the
        compiled ``projection_cost`` (the K_n of the rank-r projection student per coordinate and
        direction, ``(1-q)^2 (abar^2 + e)/2``) summed in the Ky Fan bases -- the eigenvectors of
        ``E[A_w A_w^T]`` (output coordinates kept or not), of ``E[A_w^T A_w]`` (whitened input
        directions, with the weight ``sum_i V_ij^2 e_i`` of direction j) and the left singular
        vectors of ``Abar`` (``e = 0``: the Eckart–Young cost).  The bases are numeric (LAPACK);
        a kept coordinate costs exactly 0, so every cost is exactly 0 at full rank."""
        cost = _f("projection_cost")
        s_out = abar_u @ abar_u.T + float(np.sum(e)) * np.eye(self.k)
        v_out = np.linalg.eigh(s_out)[1][:, ::-1]
        v_in = np.linalg.eigh(abar_u.T @ abar_u + self.k * np.diag(e))[1][:, ::-1]
        # thin SVD: the columns of Abar lie in the span of its min(k, d) left singular vectors
        u_sv = np.linalg.svd(abar_u, full_matrices=False)[0]
        a_out, a_in, a_sv = v_out.T @ abar_u, abar_u @ v_in, u_sv.T @ abar_u
        e_in = (v_in * v_in).T @ e
        kept_rows = np.arange(self.k)[:, None]
        kept_cols = np.arange(self.d)[None, :]

        def side(a, keep, weight):
            return np.array([float(np.sum(cost((keep < r) * 1.0, a, weight))) for r in ranks])

        return (
            side(a_sv, kept_rows[: a_sv.shape[0]], 0.0),
            side(a_out, kept_rows, e[None, :]),
            side(a_in, kept_cols, e_in[None, :]),
        )

    def rank_profile(self, teacher: MatrixNormalKernel) -> RankProfile:
        """Design guidance (THEORY §7): for every rank ``r = 0..min(k, d)`` (numpy arrays)

        * ``rank_bottleneck[r] = (1/2) sum_{i>r} varsigma_i^2(Abar)``, ``Abar = E_Y[M_T(Y)] Sigma_T^{-1/2}``:
          the Eckart–Young cost of a rank-r map at the data-averaged whitened teacher mean — a lower
          bound on the offset part of ``K_n`` for every student whose mean stays in a fixed rank-r
          subspace;
        * ``K_n[r]``: the exact ``K_n`` of the best fixed-subspace rank-r student with
          ``Sigma_S = Sigma_T`` (:meth:`best_rank_student`): ``(1/2) sum_{i>r}`` of the eigenvalues of
          ``E[A_w A_w^T]`` (output projection) or ``E[A_w^T A_w]`` (whitened input projection),
          whichever is smaller (Ky Fan); ``K_n[r] >= rank_bottleneck[r]``, both 0 at full rank;
        * ``projection[r]``: ``"output"`` or ``"input"``, the side of that best student.

        Spectral teacher: every cost is the compiled ``projection_cost`` (the K_n of a rank-r
        projection student, from ``K_n_dir``) summed in the Ky Fan bases
        (:meth:`_spectral_rank_costs`); only the bases are numeric.  Otherwise matrix code.
        """
        ranks = np.arange(min(self.k, self.d) + 1)
        self._check_kernel("teacher", teacher)
        self._require_regular("teacher", teacher)
        moments = self._spectral_moments(teacher)
        if moments is not None:
            bottleneck, k_out, k_in = self._spectral_rank_costs(*moments, ranks)
            return _profile(ranks, bottleneck, k_out, k_in)
        abar, s_out, s_in = self._second_moments(teacher)
        sv2 = np.linalg.svd(abar, compute_uv=False) ** 2
        ev_out = np.clip(np.linalg.eigvalsh(s_out), 0.0, None)  # PSD: rounding negatives -> 0
        ev_in = np.clip(np.linalg.eigvalsh(s_in), 0.0, None)
        k_out = np.array([0.5 * tail_sum(ev_out, r) for r in ranks])
        k_in = np.array([0.5 * tail_sum(ev_in, r) for r in ranks])
        bottleneck = np.array([0.5 * tail_sum(sv2, r) for r in ranks])
        return _profile(ranks, bottleneck, k_out, k_in)

    def best_rank_student(self, teacher: MatrixNormalKernel, r: int) -> MatrixNormalKernel:
        """The fixed-subspace rank-r student attaining ``rank_profile(teacher)["K_n"][r]``: the
        projection onto the top-r eigenvectors of ``E[A_w A_w^T]`` (output) or ``E[A_w^T A_w]``
        (whitened input), ``Sigma_S = Sigma_T`` (THEORY §7)."""
        r = check_int("r", r, Domain(0, min(self.k, self.d), True, True, integer=True))
        profile = self.rank_profile(teacher)
        _, s_out, s_in = self._second_moments(teacher)
        if profile["projection"][r] == "output":
            basis = np.linalg.eigh(s_out)[1][:, ::-1][:, :r]
            return self.output_projection_student(teacher, basis)
        basis = np.linalg.eigh(s_in)[1][:, ::-1][:, :r]
        return self.input_projection_student(teacher, basis)

    # -- simulation (the Monte Carlo twin) ----------------------------------------------------
    def simulate_labels(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` label matrices ``Y = W* X + E``, shape (size, k, n)."""
        size = self._mc_size(size, minimum=1)
        check_rng("rng", rng)
        return self.W_star @ self.X + self.nu * rng.standard_normal((size, self.k, self.n))

    def simulate(self, kern: MatrixNormalKernel, size: int, rng: np.random.Generator):
        """``(Y, W)``: ``size`` label matrices (size, k, n) and one weight draw each (size, k, d)."""
        self._check_kernel("kernel", kern)
        y = self.simulate_labels(size, rng)
        return y, MatrixNormal(np.zeros((self.k, self.d)), kern.Sigma).sample(
            size, rng
        ) + kern.mean(y)

    def gap(self, W: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """``g(W, Y) = L_mu(W) - L_D(W)`` from its definition (THEORY §7):
        ``L_mu(W) = ||(W - W*) X||_F^2 / n + k nu^2``, ``L_D(W) = ||Y - W X||_F^2 / n``."""
        pop = (
            np.sum(((W - self.W_star) @ self.X) ** 2, axis=(-2, -1)) / self.n + self.k * self.nu**2
        )
        emp = np.sum((Y - W @ self.X) ** 2, axis=(-2, -1)) / self.n
        return pop - emp

    def monte_carlo_gen(self, kern: MatrixNormalKernel, size: int, rng: np.random.Generator):
        """``(estimate, standard error)`` of ``gen`` from simulated labels and weights
        (``size >= 2``)."""
        size = self._mc_size(size)
        y, w = self.simulate(kern, size, rng)
        g = self.gap(w, y)
        return float(g.mean()), float(g.std(ddof=1) / math.sqrt(size))

    def monte_carlo_divergence(self, student, teacher, size: int, rng: np.random.Generator):
        """``(estimate, standard error)`` of ``K_n``: the average over simulated label matrices of
        ``log p_S(W|Y) - log p_T(W|Y)`` at ``W ~ P_{W_S|Y}`` (rows independent Gaussians)."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        self._require_regular("student", student)
        self._require_regular("teacher", teacher)
        size = self._mc_size(size)
        y, w = self.simulate(student, size, rng)

        def logpdf(kern):
            chol = np.linalg.cholesky(kern.Sigma)
            resid = w - kern.mean(y)  # (size, k, d)
            z = np.linalg.solve(chol, np.swapaxes(resid, -1, -2))
            return -0.5 * np.sum(z * z, axis=(-2, -1)) - self.k * np.sum(np.log(np.diag(chol)))

        lr = logpdf(student) - logpdf(teacher)
        return float(lr.mean()), float(lr.std(ddof=1) / math.sqrt(size))
