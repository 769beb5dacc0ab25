"""Exact joint CGF of the Gaussian mean model's gap, and what is built on it (THEORY §3-§4, §6.5-§6.6).

One batch-aware module (issue 11 item 2): :class:`GaussianMeanCGF` (one case) and the
module-level functions (a batch; the vectorised audit of Theorems U-gamma, L-gamma, L, U-joint
and U-joint-lower) evaluate the same private ``_``-prefixed kernels.

:class:`GaussianMeanCGF` is a mixin of :class:`~kdtheory.models.GaussianMeanModel`: it uses the
host's ``d, n, s, v``, :meth:`offset`, :meth:`gen`, :meth:`distillation_divergence`,
:meth:`simulate` and :meth:`gap`.

The batch functions broadcast like those of :mod:`kdtheory.models.gaussian_mean`: a kernel
``(a, tau)`` of batch shape, ``v = s^2/n`` and ``n`` of batch shape, ``ck2 = ||c_K||^2`` of batch
shape and the dimension ``d`` an integer.  The private kernels do no validation; the public
functions validate (``ValueError`` naming the parameter, the value and the domain) and return
float arrays.  The per-case roots (``eta_c``, THEORY §4/§6.6, and the U-joint optimum
``theta*``, THEORY §3) are found for all cases at once by :func:`_last_nonpositive`: a geometric
bracket towards the domain's edge, then bisection on the active cases until the bracket is two
adjacent doubles.

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

from ..formulas.compile import _is_ball
from ..symbols import (
    MODEL_REAL,
    POSITIVE,
    POSITIVE_INTEGER,
    REAL,
    Domain,
    check_in,
    check_rng,
    check_scalar,
    check_size,
)
from ..theorems.lower import (
    THEOREM_L_GAMMA,
    THEOREM_U_GAMMA,
    THEOREM_U_JOINT,
    THEOREM_U_JOINT_LOWER,
)

__all__ = [  # noqa: F822 (CGF_EXPR, CGF_SYMBOLS: lazy)
    "GaussianMeanCGF",
    "CGFBound",
    "CGF_EXPR",
    "CGF_SYMBOLS",
    "cgf_domain",
    "centred_cgf",
    "central_slack",
    "chaos_eigenvalues",
    "eta_central",
    "eta_central_of",
    "gap_variance",
    "joint_optimum",
    "sub_gamma_constants",
]

SIDES = ("upper", "lower")
_NONNEG_FINITE = Domain(0.0, math.inf, True, False)


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
    """The compiled Model A CGF formula ``name`` (:func:`kdtheory.formulas.gaussian_cgf.compiled`)."""
    from ..formulas.gaussian_cgf import compiled

    return compiled(name)


def _df(name: str):
    """sympy's ``d/dtheta`` of the CGF formula ``name``, compiled."""
    from ..formulas.gaussian_cgf import compiled_derivative

    return compiled_derivative(name, "theta")


# -- private kernels (no validation) ------------------------------------------------------------
# The closed forms are not typed here: each kernel evaluates a formula of
# kdtheory.formulas.gaussian_cgf (derived there, THEORY §6.5; compiled once on first use).
def _chaos_eigenvalues(a, tau, v):
    """``(mu_+, mu_-)``, the chaos eigenvalues of g (THEORY §6.5; formulas ``chaos_mu_plus``,
    ``chaos_mu_minus``: the roots of ``mu^2 - (2a-1) v mu - tau^2 v``, the one of larger modulus
    by the quadratic formula, the other from ``mu_+ mu_- = -tau^2 v``), ``mu_- < 0 < mu_+``."""
    a, tau, v = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, tau, v)))
    return _f("chaos_mu_plus")(a, tau, v), _f("chaos_mu_minus")(a, tau, v)


def _gap_variance(a, tau, ck2, d, n, v):
    """``Var g`` under the joint law (THEORY §6.5; formula ``gap_variance``)."""
    return _f("gap_variance")(a, tau, ck2, d, n, v)


def _sub_gamma_constants(a, tau, ck2, d, n, v, side: str):
    """``(V_g, b_g)`` of the sub-gamma envelope of ``Lambda`` (THEORY §6.5): ``V_g = Var g``,
    ``b_g = 2 max(mu_+, 0)`` (``side='upper'``, formula ``b_g_upper``) or ``2 max(-mu_-, v)``
    (``'lower'``, formula ``b_g_lower``)."""
    if side not in SIDES:
        raise ValueError(f"side must be 'upper' or 'lower', got {side!r}")
    if not any(_is_ball(x) for x in (a, tau, v)):  # arb balls (the certified path) stay balls
        a, tau, v = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, tau, v)))
    b = _f("b_g_upper" if side == "upper" else "b_g_lower")(a, tau, v)
    return _gap_variance(a, tau, ck2, d, n, v), b


def _cgf_domain(a, tau, v, n):
    """Open interval ``(lo, hi)`` where ``E exp(theta g) < inf`` (THEORY §6.5; formulas
    ``cgf_lo``, ``cgf_hi``): ``lo = max(1/(2 mu_-), -1/(2v))``, ``hi = 1/(2 mu_+)``; for
    ``n = 1`` (no ``S_D`` term) ``lo = 1/(2 mu_-)``."""
    a, tau, v, n = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, tau, v, n)))
    return _f("cgf_lo")(a, tau, n, v), _f("cgf_hi")(a, tau, v)


def _inside(th, a, tau, v, n):
    """``theta`` strictly inside :func:`_cgf_domain` *and* with every log argument positive as
    computed (``p(theta) > 0`` and ``1 + q > 0``, ``q = p - 1`` the argument of ``log1pmx``, both
    as the compiled formulas ``cgf_p``, ``cgf_q`` compute them; ``1 + 2 theta v > 0`` when
    ``n > 1``): at the edge the endpoint formula and ``p`` can disagree by an ulp, and the CGF is
    ``+inf`` there (THEORY §6.5)."""
    lo, hi = _cgf_domain(a, tau, v, n)
    p = _f("cgf_p")(th, a, tau, v)
    q = _f("cgf_q")(th, a, tau, v)
    ok = (th > lo) & (th < hi) & (p > 0) & (1 + q > 0)
    return ok & ((np.asarray(n) <= 1) | (1 + 2 * th * v > 0))


def _centred_terms(th, a, tau, ck2, d, n, v):
    """``Lambda(theta)`` and ``Lambda'(theta)`` (THEORY §3, §6.5) in a cancellation-free form,
    valid inside the domain (elsewhere the values are meaningless; see :func:`_centred_cgf`).

    ``Lambda`` is the formula ``centred_cgf`` (``joint_cgf - theta gen`` with the linear terms
    cancelled exactly and the registered stable ``log1pmx(x) = log(1+x) - x``; proved equal in
    :mod:`kdtheory.formulas.gaussian_cgf`), evaluated as its two parts ``centred_cgf_sd`` (the
    ``S_D`` term, absent for ``n = 1``, where ``1 + 2 theta v`` may be ``<= 0``: evaluated at
    ``theta = 0`` there) and ``centred_cgf_gauss``; ``Lambda'`` is sympy's derivative of each."""
    th = np.asarray(th, dtype=float)
    has_sd = np.asarray(n) > 1
    ths = np.where(has_sd, th, 0.0)
    chi = np.where(has_sd, _f("centred_cgf_sd")(ths, a, tau, ck2, d, n, v), 0.0)
    dchi = np.where(has_sd, _df("centred_cgf_sd")(ths, a, tau, ck2, d, n, v), 0.0)
    lam = chi + _f("centred_cgf_gauss")(th, a, tau, ck2, d, n, v)
    dlam = dchi + _df("centred_cgf_gauss")(th, a, tau, ck2, d, n, v)
    return lam, dlam


def _centred_cgf(th, a, tau, ck2, d, n, v):
    """``Lambda(theta) = log E exp(theta (g - gen))`` (THEORY §3, §6.5) by :func:`_centred_terms`;
    ``+inf`` outside :func:`_inside`."""
    th = np.asarray(th, dtype=float)
    inside = _inside(th, a, tau, v, n)
    lam, _ = _centred_terms(np.where(inside, th, 0.0), a, tau, ck2, d, n, v)
    return np.where(inside, lam, math.inf)


def _central_slack(eta, gen, a, tau, ck2, d, n, v):
    """Best slack ``c*(eta) = 1 - (Lambda(-eta)/eta)/gen_T`` (THEORY §4; no cancellation);
    ``-inf`` beyond the domain (and where ``Lambda(-eta)/(eta gen_T)`` overflows, e.g. for a
    subnormal ``gen_T``).  Needs ``eta > 0``, ``gen_T > 0``."""
    with np.errstate(over="ignore"):
        return 1 - (_centred_cgf(-eta, a, tau, ck2, d, n, v) / eta) / gen


def _flat(*arrays):
    """The arrays broadcast to one shape and flattened (for index-array gathering)."""
    out = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in arrays))
    return out[0].shape, [x.ravel() for x in out]


def _last_nonpositive(fn, edge):
    """For each case ``i``: the largest double ``t in [0, edge_i)`` with ``fn(t, i) <= 0``, for
    ``fn(., i)`` increasing from ``fn(0) < 0`` to ``+inf`` at ``edge_i`` (vectorised over cases).

    ``fn(t, idx)`` evaluates the cases ``idx`` (an index array) at ``t``.  Bracket: the first
    ``t_k = edge (1 - 2^-k)``, ``k = 1, 2, ...``, with ``fn > 0``; if ``fn <= 0`` at every such
    double below the edge, the root lies closer to the edge than double precision resolves and
    ``nextafter(edge, 0)`` is returned.  Then bisection with the invariant ``fn(lo) <= 0 < fn(hi)``
    (``lo = 0`` first; from ``lo = 0`` a step to ``hi 2^-64``, geometric means while ``hi > 4 lo``,
    arithmetic midpoints after) until ``lo`` and ``hi`` are adjacent doubles: ``lo`` is returned,
    so ``fn <= 0`` holds there as computed.  About 70 evaluations per case."""
    edge = np.asarray(edge, dtype=float)
    size = edge.size
    hi = np.full(size, math.nan)
    todo = np.arange(size)
    for k in range(1, 60):
        t = edge[todo] * (1 - 2.0**-k)
        below = t < edge[todo]
        todo, t = todo[below], t[below]
        if todo.size == 0:
            break
        up = fn(t, todo) > 0
        hi[todo[up]] = t[up]
        todo = todo[~up]
    out = np.nextafter(edge, 0.0)  # the unresolved cases keep this
    act = np.flatnonzero(~np.isnan(hi))
    lo, hi = np.zeros(act.size), hi[act]
    for _ in range(400):  # ~70 needed: 1 + log2(64 + 1075) geometric + 54 arithmetic steps
        if act.size == 0:
            break
        geo = hi > 4 * lo
        mid = np.where(
            lo == 0, hi * 2.0**-64, np.where(geo, np.sqrt(lo) * np.sqrt(hi), lo + (hi - lo) / 2)
        )
        done = (mid <= lo) | (mid >= hi)
        out[act[done]] = lo[done]
        keep = ~done
        act, lo, hi, mid = act[keep], lo[keep], hi[keep], mid[keep]
        if act.size == 0:
            break
        up = fn(mid, act) > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    else:  # pragma: no cover - the loop provably ends within ~70 steps
        raise RuntimeError("bisection did not converge")
    return out


def _eta_central(gen, a, tau, ck2, d, n, v):
    """``eta_c = sup{eta > 0 : E exp(-eta g) <= 1}`` (THEORY §4, §6.6), elementwise: the positive
    root of ``f(eta) = log E exp(-eta g)``, or ``0`` where ``gen_T <= 0``.  ``f`` is convex with
    ``f(0) = 0``, ``f'(0) = -gen_T`` and tends to ``+inf`` at the domain's edge ``-lo``, so
    ``h(eta) = f(eta)/eta = -gen_T + Lambda(-eta)/eta`` increases from ``-gen_T``; the result is
    the largest double with ``h <= 0`` (:func:`_last_nonpositive`), so the central condition holds
    at it exactly; within one ulp of the edge if ``f < 0`` at every double tried (``f`` blows up
    only logarithmically when ``c_K = 0``, ``n = 1``)."""
    shape, (gen, a, tau, ck2, d, n, v) = _flat(gen, a, tau, ck2, d, n, v)
    out = np.zeros(gen.shape)
    pos = np.flatnonzero(gen > 0)
    if pos.size:
        g, aa, tt, cc, dd, nn, vv = (x[pos] for x in (gen, a, tau, ck2, d, n, v))

        def h(eta, i):
            lam = _centred_cgf(-eta, aa[i], tt[i], cc[i], dd[i], nn[i], vv[i])
            return -g[i] + lam / eta

        out[pos] = _last_nonpositive(h, -_cgf_domain(aa, tt, vv, nn)[0])
    return out.reshape(shape)


def _joint_optimum(k_n, sign, a, tau, ck2, d, n, v):
    """``(theta*, Lambda(sign theta*))``, elementwise: ``theta* > 0`` minimising
    ``(K_n + Lambda(sign theta))/theta`` (THEORY §3; ``sign = +1`` the upper side of U-joint,
    ``-1`` the lower).  Unimodal: the minimiser is the root of ``theta Lambda'(theta) - Lambda(theta)
    = K_n`` (the left side increases from 0 to ``+inf`` on the domain), found by
    :func:`_last_nonpositive`; where the root is closer to the edge than a double resolves,
    the last double below the edge.  Needs ``K_n > 0``."""
    shape, (k_n, a, tau, ck2, d, n, v) = _flat(k_n, a, tau, ck2, d, n, v)
    lo, hi = _cgf_domain(a, tau, v, n)
    edge = hi if sign > 0 else -lo

    def g(t, i):
        th = sign * t
        args = (a[i], tau[i], ck2[i], d[i], n[i], v[i])
        inside = _inside(th, args[0], args[1], args[5], args[4])
        lam, dlam = _centred_terms(np.where(inside, th, 0.0), *args)
        return np.where(inside, t * sign * dlam - lam - k_n[i], math.inf)

    theta = _last_nonpositive(g, edge)
    lam = _centred_cgf(sign * theta, a, tau, ck2, d, n, v)
    return theta.reshape(shape), lam.reshape(shape)


# -- the batch API, validated --------------------------------------------------------------------------
def _args(a, tau, ck2, d, n, s):
    a = np.asarray(check_in("a", a, REAL), dtype=float)
    tau = np.asarray(check_in("tau", tau, POSITIVE), dtype=float)
    ck2 = np.asarray(check_in("ck2", ck2, _NONNEG_FINITE), dtype=float)
    d = int(check_in("d", d, POSITIVE_INTEGER))
    n = np.asarray(check_in("n", n, POSITIVE_INTEGER), dtype=float)
    s = np.asarray(check_in("s", s, POSITIVE), dtype=float)
    return a, tau, ck2, d, n, s**2 / n


def chaos_eigenvalues(a, tau, n, s):
    """``(mu_+, mu_-)`` of kernels ``(a, tau)`` in models ``(n, s)`` (THEORY §6.5), elementwise."""
    a, tau, _, _, _, v = _args(a, tau, 0.0, 1, n, s)
    return _chaos_eigenvalues(a, tau, v)


def gap_variance(a, tau, ck2, d, n, s):
    """``Var g`` of the gap under the joint law (THEORY §6.5), elementwise; ``ck2 = ||c_K||^2``."""
    return _gap_variance(*_args(a, tau, ck2, d, n, s))


def sub_gamma_constants(a, tau, ck2, d, n, s, side: str = "upper"):
    """``(V_g, b_g)`` of the sub-gamma envelope (THEORY §6.5), elementwise."""
    return _sub_gamma_constants(*_args(a, tau, ck2, d, n, s), side)


def _gen_args(a, tau, ck2, d, n, s):
    """Validated arguments and ``gen_T`` (THEORY §6.1; the formula ``gen`` of
    :mod:`kdtheory.formulas.gaussian_mean`) of the teacher ``(a, tau)``."""
    from ..formulas.gaussian_mean import compiled

    a, tau, ck2, d, n, v = _args(a, tau, ck2, d, n, s)
    s = np.asarray(s, dtype=float)
    return np.asarray(compiled("gen")(a, n, s, d), dtype=float), a, tau, ck2, d, n, v


def cgf_domain(a, tau, n, s):
    """``(lo, hi)``, the open domain of the joint CGF of kernels ``(a, tau)`` (THEORY §6.5)."""
    a, tau, _, _, n, v = _args(a, tau, 0.0, 1, n, s)
    return _cgf_domain(a, tau, v, n)


def centred_cgf(theta, a, tau, ck2, d, n, s):
    """``Lambda(theta)`` (THEORY §3, §6.5), elementwise; ``+inf`` outside :func:`cgf_domain`."""
    theta = np.asarray(check_in("theta", theta, REAL), dtype=float)
    return _centred_cgf(theta, *_args(a, tau, ck2, d, n, s))


def central_slack(eta, a, tau, ck2, d, n, s):
    """Best slack ``c*(eta)`` of the central condition (THEORY §4), elementwise; needs
    ``gen_T > 0``."""
    eta = np.asarray(check_in("eta", eta, POSITIVE), dtype=float)
    gen, *rest = _gen_args(a, tau, ck2, d, n, s)
    if not np.all(gen > 0):
        bad = np.asarray(gen)[~(np.asarray(gen) > 0)].ravel()[0]
        raise ValueError(f"central_slack needs gen_T > 0, got gen_T = {float(bad)!r}")
    return _central_slack(eta, gen, *rest)


def eta_central(a, tau, ck2, d, n, s):
    """``eta_c`` of the teacher ``(a, tau)`` (THEORY §4, §6.6), elementwise: the largest double
    with ``E exp(-eta g) <= 1`` (``0`` where ``gen_T <= 0``)."""
    return _eta_central(*_gen_args(a, tau, ck2, d, n, s))


def eta_central_of(pairs) -> np.ndarray:
    """``eta_c`` of each ``(model, teacher)`` pair (validated one-case objects, of any
    dimensions): :meth:`GaussianMeanCGF.eta_central` of each, bisected together by one call of the
    array kernel :func:`_eta_central` (the same numbers: every case follows its own bisection)."""
    params = [(model.gen(teacher), *model._cgf_params(teacher)) for model, teacher in pairs]
    if not params:
        return np.zeros(0)
    return _eta_central(*(np.array(col, dtype=float) for col in zip(*params, strict=True)))


def joint_optimum(k_n, a, tau, ck2, d, n, s, side: str = "upper"):
    """``(theta*, Lambda(+-theta*))`` of Theorem U-joint (THEORY §3), elementwise; ``side``
    ``'upper'`` (``Lambda(theta)``) or ``'lower'`` (``Lambda(-theta)``).  Needs ``K_n > 0``."""
    if side not in SIDES:
        raise ValueError(f"side must be 'upper' or 'lower', got {side!r}")
    k_n = np.asarray(check_in("K_n", k_n, POSITIVE), dtype=float)
    return _joint_optimum(k_n, 1 if side == "upper" else -1, *_args(a, tau, ck2, d, n, s))


# -- one case --------------------------------------------------------------------------------------
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
        mu_p, mu_m = _chaos_eigenvalues(kernel.a, kernel.tau, self.v)
        return float(mu_p), float(mu_m)

    def cgf_domain(self, kernel) -> tuple[float, float]:
        """Open interval ``(lo, hi)`` where ``E exp(theta g) < inf`` (THEORY §6.5):
        ``lo = max(1/(2 mu_-), -1/(2v))``, ``hi = 1/(2 mu_+)``.  For ``n = 1`` the ``S_D`` term
        is absent (``S_D = 0``) and ``lo = 1/(2 mu_-)``."""
        self._check_kernel("kernel", kernel)
        lo, hi = _cgf_domain(kernel.a, kernel.tau, self.v, self.n)
        return float(lo), float(hi)

    def _inside(self, kernel, th: np.ndarray) -> np.ndarray:
        """``theta`` strictly inside :meth:`cgf_domain` *and* with every log argument positive as
        computed (``p(theta) > 0``; ``1 + 2 theta v > 0`` when ``n > 1``): at the edge the
        endpoint formula and ``p`` can disagree by an ulp, and the CGF is ``+inf`` there."""
        self._check_kernel("kernel", kernel)
        return _inside(np.asarray(th, dtype=float), kernel.a, kernel.tau, self.v, self.n)

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
        return _centred_terms(theta, *self._cgf_params(kernel))

    def _cgf_params(self, kernel) -> tuple:
        """``(a, tau, ||c_K||^2, d, n, v)``, the arguments of the array kernels of
        this module."""
        self._check_kernel("kernel", kernel)
        return (kernel.a, kernel.tau, self._ck2(kernel), self.d, self.n, self.v)

    def centred_cgf(self, kernel, theta):
        """``Lambda(theta) = log E exp(theta (g - gen))`` (THEORY §3), i.e. :meth:`joint_cgf`
        minus ``theta gen``, evaluated without cancellation (see :meth:`_centred_terms`);
        ``+inf`` outside the domain."""
        theta = check_in("theta", theta, MODEL_REAL)
        out = _centred_cgf(theta, *self._cgf_params(kernel))
        return float(out) if out.ndim == 0 else out

    def gap_variance(self, kernel) -> float:
        """``Var g = 4 tau^2 d v + 4 v ||c_K||^2 + 2 d v^2 ((2a-1)^2 + n - 1)`` under the joint law
        (THEORY §6.5); equals the CGF's second derivative at 0."""
        self._check_kernel("kernel", kernel)
        return float(_gap_variance(kernel.a, kernel.tau, self._ck2(kernel), self.d, self.n, self.v))

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
        exp(-eta (1 - 2 eta s^2) ||w - m||^2) <= 1`` holds iff ``eta <= 1/(2 s^2)`` (THEORY §6.6;
        the formula ``loss_central_constant`` of :mod:`kdtheory.formulas.gaussian_cgf`)."""
        return float(_f("loss_central_constant")(self.s))

    def eta_central(self, teacher) -> float:
        """``eta_c = sup{eta > 0 : E exp(-eta g) <= 1}`` (THEORY §4, §6.6): the positive root of
        ``f(eta) = log E exp(-eta g)``, or ``0`` when ``gen_T <= 0``.  ``f`` is convex with
        ``f(0) = 0``, ``f'(0) = -gen_T`` and tends to ``+inf`` at the domain's edge, so the root
        of ``f(eta)/eta`` (increasing, ``-gen_T`` at 0) is bracketed on ``(0, -lo)`` and bisected
        to adjacent doubles by the array kernel
        :func:`_eta_central` (the one implementation).  If
        ``f < 0`` at every double tried below the edge (``f`` blows up only logarithmically when
        ``c_K = 0``, ``n = 1``), the root is within one ulp of the edge and that double is
        returned.  The result is the largest double at which ``f <= 0`` as computed (so the
        central condition holds at it exactly)."""
        self._check_kernel("teacher", teacher)
        gen = self.gen(teacher)
        return float(_eta_central(gen, *self._cgf_params(teacher)))

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
        return float(_central_slack(eta, gen, *self._cgf_params(teacher)))

    # -- U-joint (THEORY §3) -----------------------------------------------------------------
    def _joint_optimum(self, teacher, k_n: float, sign: int) -> tuple[float, float]:
        """``theta* > 0`` minimising ``(K_n + Lambda(sign theta))/theta`` and ``Lambda`` there.

        Unimodal (THEORY §3): the minimiser is the root of ``theta Lambda'(theta) - Lambda(theta)
        = K_n`` (the left side increases from 0 to +inf on the domain), bisected to adjacent
        doubles by the array kernel :func:`_joint_optimum`."""
        self._check_kernel("teacher", teacher)
        theta, lam = _joint_optimum(k_n, sign, *self._cgf_params(teacher))
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
        var, b = _sub_gamma_constants(
            teacher.a, teacher.tau, self._ck2(teacher), self.d, self.n, self.v, side
        )
        return float(var), float(b)

    def _gamma(self, theorem, side, student, teacher) -> CGFBound:
        self._check_kernel("student", student)
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
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        k_n = self.distillation_divergence(student, teacher)
        if not k_n > 0:
            raise ValueError(
                f"the CGF bounds need K_n > 0 (the infimum is 0 at theta -> 0), got K_n = {k_n!r}"
            )
        return k_n
