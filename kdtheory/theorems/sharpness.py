"""Sharpness-aware bounds: Theorem S (local curvature), Theorem S' (smoothing) and the local
tightness radius ``rho_0^loc`` (THEORY §5).

``rho_0^loc`` is *derived* here with sympy as the positive root of ``s_rho = sigma``
(:data:`RHO_0_LOCAL`); numbers come from the cancellation-free form
``2 sigma / (G1 + sqrt(G1^2 + 2 beta sigma))`` (:data:`RHO_0_LOCAL_STABLE`), which the tests prove
equal to the derived root (``sympy.simplify`` of the difference is 0) and which is also exact at
``beta = 0`` (THEORY §5: "use the second form in code").
"""

from __future__ import annotations

import math
from functools import cache

import sympy as sp

from .._lazy import lazy_module
from ..assumptions import Sharpness, SubGaussian
from ..symbols import NONNEGATIVE, POSITIVE, check_in, symbol
from .base import Status, Theorem
from .registry import register

np = lazy_module("numpy", globals())  # numpy on first use: kdtheory list needs none

__all__ = [
    "THEOREM_S",
    "THEOREM_S_SMOOTH",
    "RHO_0_LOCAL_STABLE",
    "local_variation",
    "rho_0_local_root",
    "tightness_radius_local",
    "tightness_radius_local_value",
]

_G1, _beta, _sigma, _rho = symbol("G1"), symbol("beta"), symbol("sigma"), symbol("rho")
_dgen, _K_n = symbol("dgen"), symbol("K_n")


def local_variation() -> sp.Expr:
    """``s_rho = G1 rho + beta rho^2 / 2``: how far g can move from ``g(w_T)`` on the ball
    (Taylor, THEORY §5); taken from the :class:`~kdtheory.assumptions.Sharpness` assumption."""
    return Sharpness().variation()


_S_SKETCH = (
    r"By Taylor's theorem on the ball $B(w_T(D),\rho)$, $|g(w,D)-g(w_T,D)|\le G_1\rho+\beta\rho^2/2"
    r"=:s_\rho$, so $g(W_T,D)$ lies in an interval of length $2s_\rho$ and is $s_\rho$-sub-Gaussian "
    r"under the teacher (Hoeffding's lemma). The conditional sub-Gaussian bound with "
    r"$\sigma_D=s_\rho$ for every $D$ gives "
    r"$|\Delta\mathrm{gen}|\le s_\rho\sqrt{2K_n}$."
)

THEOREM_S = register(
    Theorem(
        id="S",
        name="Sharpness-aware bound, local curvature",
        status=Status.RECONSTRUCTED,
        ref="THEORY §5",
        statement=sp.Le(sp.Abs(_dgen), local_variation() * sp.sqrt(2 * _K_n)),
        assumptions=(Sharpness(),),
        proof_sketch=_S_SKETCH,
        notes=(
            r"For $K_n>0$ it is strictly tighter than the sub-Gaussian bound with a global proxy "
            r"$\sigma$ iff $\rho<\rho_0=2\sigma/\bigl(G_1+\sqrt{G_1^2+2\beta\sigma}\bigr)$; it "
            r"needs a teacher of bounded support."
        ),
        proof="proofs/sharpness.py",
        tests=("tests/test_sharpness.py", "tests/test_vectorised_ball.py"),
        tags=("sharpness",),
    )
)

_S_SMOOTH_SKETCH = (
    r"With the smoothed teacher $T^\rho=P_{W_T|D}*N(0,\rho^2I)$, split"
    r"\[\Delta\mathrm{gen}=[\mathrm{gen}_S-\mathrm{gen}(T^\rho)]+[\mathrm{gen}(T^\rho)-"
    r"\mathrm{gen}_T].\]The "
    r"conditional sub-Gaussian bound against $T^\rho$ bounds the first bracket by "
    r"$\sqrt{2\,\mathbb{E}_D\sigma_{\rho,D}^2\,K_n(\rho)}$; the second is the expected-sharpness "
    r"gap $\mathrm{Sh}_\rho$."
)

THEOREM_S_SMOOTH = register(
    Theorem(
        id="S-smooth",
        name="Smoothing bound, perturbed teacher",
        status=Status.EXTENSION,
        ref="THEORY §5, §6.6",
        statement=sp.Le(
            symbol("gen_S"),
            symbol("gen_T")
            + symbol("Sh_rho")
            + sp.sqrt(2 * symbol("Esigma2_rho") * symbol("K_n_rho")),
        ),
        reference=symbol("gen_T") + symbol("Sh_rho"),
        assumptions=(
            SubGaussian(conditional=True, under=r"$T^\rho = P_{W_T|D} * N(0, \rho^2 I)$"),
        ),
        proof_sketch=_S_SMOOTH_SKETCH,
        notes=(
            r"The right-hand side is the smoothing bound $B(\rho)$ on $\mathrm{gen}_S$; $B(0)$ is "
            r"the conditional sub-Gaussian bound. In the Gaussian mean model "
            r"$\mathrm{Sh}_\rho=0$ and $B(\rho)<B(0)$ exactly for $0<\rho<\rho_0^{\mathrm{sm}}$ "
            r"(THEORY §6.6)."
        ),
        proof="proofs/sharpness.py",
        tests=("tests/test_smoothing.py", "tests/test_sharpness.py"),
        tags=("sharpness",),
    )
)


# -- the local tightness radius -------------------------------------------------------------------
@cache
def rho_0_local_root() -> sp.Expr:
    """``rho_0^loc`` derived by sympy: the unique positive root in ``rho`` of
    ``G1 rho + beta rho^2/2 = sigma`` for ``beta > 0`` (THEORY §5).  Equal to
    ``(sqrt(G1^2 + 2 beta sigma) - G1) / beta``."""
    b = sp.Symbol("beta_pos", positive=True)
    r = sp.Symbol("rho_pos", positive=True)
    roots = sp.solve(sp.Eq(local_variation().subs({_beta: b, _rho: r}), _sigma), r)
    if len(roots) != 1:  # pragma: no cover - guards a change in sympy's solver
        raise RuntimeError(f"expected one positive root, got {roots}")
    return roots[0].subs(b, _beta)


#: THEORY §5, the second (cancellation-free) form of ``rho_0^loc``; exact at ``beta = 0``.
RHO_0_LOCAL_STABLE: sp.Expr = 2 * _sigma / (_G1 + sp.sqrt(_G1**2 + 2 * _beta * _sigma))


def tightness_radius_local(G1=_G1, beta=_beta, sigma=_sigma) -> sp.Expr:
    """Symbolic local tightness radius ``rho_0^loc`` (THEORY §5) at the given sympy values
    (default: the symbols): the positive root of ``s_rho = sigma`` derived by
    :func:`rho_0_local_root`.  Theorem S is strictly tighter than Theorem U with global proxy
    ``sigma`` iff ``rho < rho_0^loc``."""
    return rho_0_local_root().subs({_G1: G1, _beta: beta, _sigma: sigma}, simultaneous=True)


@cache
def _stable_fn():
    """:data:`RHO_0_LOCAL_STABLE` compiled to numpy on first use (``lambdify`` loads numpy's
    lazily imported submodules: kept out of ``import kdtheory.theorems``, issue 15 item 5)."""
    return sp.lambdify((_G1, _beta, _sigma), RHO_0_LOCAL_STABLE, modules="numpy")


def tightness_radius_local_value(G1, beta, sigma):
    """Numeric ``rho_0^loc = 2 sigma / (G1 + sqrt(G1^2 + 2 beta sigma))`` (THEORY §5), from the
    sympy expression :data:`RHO_0_LOCAL_STABLE` (proved equal to the derived root in the tests).

    ``G1 >= 0``, ``beta >= 0``, ``sigma > 0`` (floats or broadcastable arrays).  ``G1 = beta = 0``
    (g constant on every ball) gives ``inf``: Theorem S is then tighter at every radius.
    """
    g1 = check_in("G1", G1, NONNEGATIVE)
    b = check_in("beta", beta, NONNEGATIVE)
    s = check_in("sigma", sigma, POSITIVE)
    for label, x in (("G1", g1), ("beta", b)):
        if np.any(np.isinf(x)):
            raise ValueError(f"{label} must be finite (in [0, inf)), got inf")
    flat = (np.asarray(g1) == 0) & (np.asarray(b) == 0)
    with np.errstate(divide="ignore"):
        out = np.where(flat, math.inf, _stable_fn()(g1, b, s))
    return float(out) if out.ndim == 0 else out
