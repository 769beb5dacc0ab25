"""Equality-witness cases recomputed from their parameter records in arb ball arithmetic
(:mod:`kdtheory.audit.witness`, issue 10).

Each hook ``exact(record, num) -> {symbol: arb}`` rebuilds a witness case from the record that
the audit stores for it (every recorded float is an exact binary number; ``num`` turns it into
an arb point, or into a one-ulp ball to measure the case's condition) and returns the values
of the theorem's symbols.  Where the double-precision code of a model is generic over its
number type (Model A's array code, the scalar laws) the hook runs *that code* on balls; where
it is not (stacked LAPACK calls: the Gaussian pairs of Lemma DV and Model C), the hook
evaluates the definitional closed forms of THEORY §2 and §7 with ``flint.arb_mat``.

The last section encloses, for ``audit --certified`` (:mod:`kdtheory.audit.certify`), the
quantities that have no compiled closed form: the ball kernel's non-central chi-square
probability (a Poisson series with a rigorous tail bound) and Theorem U0's ``E_D`` (a
perturbation bound around its closed form, or arb's rigorous integration).
"""

from __future__ import annotations

import math

import numpy as np

from ..models import gaussian_mean as _arr
from ..models import scalar_laws as _laws

__all__ = [
    "gaussian_mean_exact",
    "smoothed_tilt_exact",
    "gaussian_law_exact",
    "dv_pair_exact",
    "dv_pair_values",
    "linear_tilt_exact",
    "local_regime_deviation",
    "smoothing_regime_deviation",
]


# -- Model A (THEORY §6): the array code itself, on balls ----------------------------------------
def gaussian_mean_exact(params: dict, num) -> dict:
    """Theorem U's symbols (``dgen``, ``gen_S``, ``gen_T``, ``K_n``, ``Esigma2``) of a Model A
    record (:func:`~kdtheory.audit.gaussian_cases.record_triple`)."""
    from .gaussian_cases import record_triple

    return _arr._theorem_values(*record_triple(params, num=num))


def _smoothing_values(m, n, s, student, teacher, rho) -> dict:
    from .sharpness_cases import smoothing_symbol_values

    d = m.shape[-1]
    return smoothing_symbol_values(
        m,
        n,
        s,
        student,
        teacher,
        rho,
        gen=lambda k: _arr._gen(k[0], n, s, d),
        proxy=lambda k: _arr._conditional_proxy(k[2], n, s, d),
    )


def smoothed_tilt_exact(params: dict, num) -> dict:
    """Theorem S' symbols of a tilt of the smoothed teacher ``T^rho`` (the S-smooth witness:
    ``params`` is a Model A record whose student is ``{"kind": "tilt of T^rho", "kappa"}`` and
    which holds ``rho``; THEORY §5, §6.6)."""
    from .gaussian_cases import record_model

    m, n, s, teacher = record_model(params, num)
    rho = num(params["rho"])
    a_t, b_t, tau_t = teacher
    smoothed = (a_t, b_t, (tau_t * tau_t + rho * rho).sqrt())
    student = _arr._tilt_student(*smoothed, num(params["student"]["kappa"]), m)
    return _smoothing_values(m, n, s, student, teacher, rho)


# -- Lemma SG (THEORY §2): the scalar-law code itself ---------------------------------------------
def gaussian_law_exact(record: dict, num) -> dict:
    """Lemma SG's symbols of a Gaussian-law record ``{"kind": "gaussian", "t", "mean", "sd"}``."""
    if record["kind"] != "gaussian":
        raise ValueError(f"only Gaussian laws are equality witnesses, got {record['kind']!r}")
    return _laws._gaussian(num(record["t"]), num(record["mean"]), num(record["sd"]))


# -- arb matrices -------------------------------------------------------------------------------
def _mat(rows, num):
    from flint import arb_mat

    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    return arb_mat([[num(x) for x in row] for row in rows])


def _eye(k: int):
    from flint import arb_mat

    return arb_mat([[1 if i == j else 0 for j in range(k)] for i in range(k)])


def _scal(c, a):
    """``c * a`` for an arb ``c`` and an arb_mat ``a``."""
    from flint import arb_mat

    return arb_mat([[c * a[i, j] for j in range(a.ncols())] for i in range(a.nrows())])


def _tr(a):
    return sum((a[i, i] for i in range(a.nrows())), 0 * a[0, 0])


def _logdet(a):
    return a.det().log()


# -- Lemma DV (THEORY §2) on Gaussian pairs: definitional closed forms ----------------------------
def dv_pair_exact(record: dict, num) -> dict:
    """Lemma DV's symbols for the witness ``f = log dQ/dP`` of a Gaussian-pair record
    ``{"d", "P": {"mean", "cov"}, "Q": {...}}`` (THEORY §2): ``f`` recomputed exactly,
    ``B = cov_P^-1 - cov_Q^-1``, ``a = cov_Q^-1 mu_Q - cov_P^-1 mu_P``
    (:func:`dv_pair_values`)."""
    return dv_pair_values(record, num, None, None)


def dv_pair_values(record: dict, num, a=None, B=None) -> dict:
    """Lemma DV's symbols for a Gaussian-pair record and the quadratic ``f = a'x + x'Bx/2``
    (``a``, ``B`` as recorded lists; None: ``f = log dQ/dP``, recomputed) (THEORY §2):
    ``E_Q f = a'mu_Q + tr(B (cov_Q + mu_Q mu_Q'))/2``;
    ``KL(Q||P) = [tr(cov_P^-1 cov_Q) - d + (mu_P-mu_Q)' cov_P^-1 (mu_P-mu_Q) + log det cov_P
    - log det cov_Q]/2``; ``log E_P e^f = a'mu_P + mu_P'B mu_P/2 + b'(cov_P^-1 - B)^-1 b/2
    - log det(I - cov_P B)/2`` with ``b = a + B mu_P``."""
    d = int(record["d"])
    mp = _mat([record["P"]["mean"]], num).transpose()
    mq = _mat([record["Q"]["mean"]], num).transpose()
    cp, cq = _mat(record["P"]["cov"], num), _mat(record["Q"]["cov"], num)
    cpi, cqi = cp.inv(), cq.inv()
    if a is None:
        B = cpi - cqi
        a = cqi * mq - cpi * mp
    else:
        a, B = _mat([a], num).transpose(), _mat(B, num)

    def quad(u, mat, v):
        return (u.transpose() * mat * v)[0, 0]

    e_q = (a.transpose() * mq)[0, 0] + (_tr(B * cq) + quad(mq, B, mq)) / 2
    dm = mp - mq
    kl = (_tr(cpi * cq) - d + quad(dm, cpi, dm) + _logdet(cp) - _logdet(cq)) / 2
    b = a + B * mp
    log_mgf = (
        (a.transpose() * mp)[0, 0]
        + quad(mp, B, mp) / 2
        + quad(b, (cpi - B).inv(), b) / 2
        - _logdet(_eye(d) - cp * B) / 2
    )
    return {"E_Q_f": e_q, "KL": kl, "logE_P_expf": log_mgf}


# -- Model C (THEORY §7): definitional trace forms ----------------------------------------------
def linear_tilt_exact(params: dict, num) -> dict:
    """Theorem U's symbols of a linear-Gaussian tilt-witness record (as made by
    :func:`~kdtheory.audit.linear_cases.build_linear_case` with a ``tilt`` student): the teacher
    rebuilt from its constructor parameters (Gibbs: ``Sigma_T = (lam I + (2 gamma/n) X X')^-1``,
    ``H_T = (2 gamma/n) X' Sigma_T``; tempered Bayes: ``gamma = n / (2 nu^2 T)``; generic: the
    recorded ``H, Sigma``) in ``arb_mat``, then the compiled arb functions of Model C's
    per-direction formulas (:mod:`kdtheory.formulas.linear_gaussian`, THEORY §7) at the traces.
    Each tilt term is a constant times ``s_i v_T,i`` and ``gen_dir`` is linear in ``h_i s_i``
    (``proofs/linear_gaussian.py``, PROVED), so the sums over the spectrum are the formulas at
    ``s = 1`` with ``v_T = tr(Sigma_T X X')`` and ``h = tr(H X)``: ``gen_T`` from ``gen_dir``,
    ``dgen`` from ``gen_dir`` at the tilt's slope shift ``tilt_h_S - h_T = kappa v_T / n``,
    ``K_n`` from ``K_n_dir`` (the offset is exactly 0: ``c_Delta = 0``), ``Esigma2`` from
    ``Esigma2_dir``."""
    from ..formulas.linear_gaussian import compiled, formula

    mod = params["model"]
    x = _mat(mod["X"], num)
    nu = num(mod["nu"])
    d, n = x.nrows(), x.ncols()
    k = len(mod["W_star"])
    xt = x.transpose()
    tp, sp_ = params["teacher"], params["student"]
    if sp_["kind"] != "tilt":
        raise ValueError(f"only tilt students are equality witnesses, got {sp_['kind']!r}")
    if tp["kind"] in ("gibbs", "bayes"):
        lam = num(tp["lam"])
        gamma = num(tp["gamma"]) if tp["kind"] == "gibbs" else n / (2 * nu * nu * num(tp["temperature"]))  # fmt: skip
        c = 2 * gamma / n
        sigma_t = (_scal(lam, _eye(d)) + _scal(c, x * xt)).inv()
        h_t = _scal(c, xt * sigma_t)
    elif tp["kind"] == "generic":
        h_t, sigma_t = _mat(tp["H"], num), _mat(tp["Sigma"], num)
    else:
        raise ValueError(f"unknown teacher kind {tp['kind']!r}")
    base = {"s": num(1), "nu": nu, "n": n, "k": k, "h_T": num(0), "c_Delta2": num(0)}
    base["v_T"] = base["v_S"] = _tr(sigma_t * x * xt)  # sum_i s_i v_T,i

    def f(name, **values):
        values = {**base, **values}
        return compiled(name).arb(*(values[a] for a in formula(name).args))

    shift = f("tilt_h_S", kappa=num(sp_["kappa"]))  # h_S - h_T, summed with weight s_i
    gen_t, dgen = f("gen_dir", h=_tr(h_t * x)), f("gen_dir", h=shift)
    return {
        "dgen": dgen,
        "gen_S": gen_t + dgen,
        "gen_T": gen_t,
        "K_n": f("K_n_dir", h_S=shift),
        "Esigma2": f("Esigma2_dir"),
    }


# -- the tightness-regime witnesses (THEORY §5, §6.6) ---------------------------------------------
def local_regime_deviation(record: dict, num):
    """``S(rho_0^loc) / U - 1`` as a ball for a local-regime record ``{G1, beta, sigma, K_n,
    ...}``: Theorem S's bound at the radius :data:`~kdtheory.theorems.sharpness.RHO_0_LOCAL_STABLE`
    against Theorem U's with the global proxy ``sigma`` (THEORY §5; equal in exact
    arithmetic)."""
    from ..certified import to_arb
    from ..theorems.registry import theorem
    from ..theorems.sharpness import RHO_0_LOCAL_STABLE
    from .witness import relative_difference

    vals = {k: num(record[k]) for k in ("G1", "beta", "sigma", "K_n")}
    rho0 = to_arb(RHO_0_LOCAL_STABLE, vals)
    s_bound = to_arb(theorem("S").rhs, {**vals, "rho": rho0})
    u_bound = to_arb(theorem("U-uniform").rhs, {"sigma_bar": vals["sigma"], "K_n": vals["K_n"]})
    return relative_difference(s_bound, u_bound)


def smoothing_radius_ball(tau_s, tau_t):
    """``rho_0^sm`` as a ball (THEORY §6.6): the arb compile of the formula ``tightness_radius``
    (``tau_S sqrt(exp(1 + W_0((t log t - t)/e)) - t)``, ``t = tau_T^2/tau_S^2``) for
    ``tau_S > tau_T``; 0 otherwise."""
    from ..formulas.gaussian_cgf import compiled

    if not tau_s > tau_t:
        return 0 * tau_s
    return compiled("tightness_radius").arb(tau_s, tau_t)


def smoothing_regime_deviation(record: dict, num):
    """``(B(rho_0^sm) - B(0)) / (|gen_T| + |B(0) - gen_T|)`` as a ball for a Model A record of
    the smoothing-regime check (THEORY §6.6: ``B(rho_0^sm) = B(0)`` in exact arithmetic)."""
    from ..certified import to_arb
    from ..theorems.registry import theorem
    from .gaussian_cases import record_triple

    m, n, s, *kernels = record_triple(record, num=num)
    student, teacher = tuple(kernels[:3]), tuple(kernels[3:])
    rhs = theorem("S-smooth").rhs

    def bound(rho):
        return to_arb(rhs, _smoothing_values(m, n, s, student, teacher, rho))

    b0 = bound(0 * teacher[2])
    b_r = bound(smoothing_radius_ball(student[2], teacher[2]))
    gen_t = _arr._gen(teacher[0], n, s, m.shape[-1])
    return (b_r - b0) / (abs(gen_t) + abs(b0 - gen_t))


# -- quantities without a compiled closed form, enclosed in arb (``audit --certified``) ---------
def _sqrt_nonnegative(x):
    """``sqrt`` of the part of the ball ``x`` in ``[0, inf)``: rigorous for a quantity known to be
    nonnegative (a sum of squares, ``phi >= 0``) whose ball reaches below 0 by rounding."""
    if x > 0:
        return x.sqrt()
    top = x.upper().sqrt()
    return (0 * top).union(top)


#: the relative tolerance of arb's rigorous integration in :func:`u0_expectation_ball` (the
#: enclosure is rigorous whatever it reaches; this only bounds the work)
E_D_REL_TOL = 2.0**-110
#: the perturbation enclosure of :func:`u0_expectation_ball` is used when it is at most this
#: wide, relative (far inside the quadrature's stated accuracy, 1e-10)
E_D_MAX_WIDTH = 1e-20


def u0_expectation_ball(params: dict, num):
    """``E_D sqrt(2 sigma_D^2 KL_D)`` of a Model A record (Theorem U0's ``E_D``, THEORY §6.4) as an
    arb ball, or ``None`` where it is not enclosed.

    In the polar coordinates of :meth:`~kdtheory.models.gaussian_mean.GaussianMeanModel.
    expectation_over_data` (``||delta|| = sqrt(v) R``, ``R ~ chi_d``, ``u`` a uniform direction):
    ``sigma_D = 2 tau_T sqrt(v) R`` and ``2 KL_D = ||c_Delta + w||^2 / tau_T^2 + 2 spread`` with
    ``w = (a_S - a_T) sqrt(v) R u``.  By the triangle inequality and ``sqrt(x + y) <= sqrt x +
    sqrt y``, ``sqrt(2 KL_D)`` lies within ``e = ||c_Delta||/tau_T + sqrt(2 spread)`` of
    ``||w||/tau_T``, so

    * (perturbation) ``E_D = 2 v |a_S - a_T| E R^2 +- 2 sqrt(v) tau_T e E R`` (``E R^2 = d``,
      ``E R`` a Gamma ratio): used when at most :data:`E_D_MAX_WIDTH` wide, relative -- the
      tilt student (``c_Delta = 0``, ``spread = 0`` exactly, as balls of radius ~2^-prec);
    * otherwise, when the angle drops out (``c_Delta = 0`` or ``a_S = a_T`` exactly) or ``d = 1``
      (the mean over ``u = +-1``), arb's rigorous integration (``acb.integral``, the square root
      with its ``analytic`` flag) over ``R in [0, R0]``, ``R0 = 40 + ceil(sqrt d)``, plus the rest
      ``[0, E(2 sqrt(v) (tau_T e + |a_S - a_T| sqrt(v) R) R; R > R0)]`` (upper incomplete
      gammas);
    * else (``d >= 2`` with both ``c_Delta`` and ``a_S - a_T`` nonzero: a double integral;
      nested ``acb.integral`` took seconds to minutes per case in Python) ``None``."""
    from flint import acb, arb

    from .gaussian_cases import record_triple

    m, n, s, a_s, b_s, tau_s, a_t, b_t, tau_t = record_triple(params, num=num)
    d = m.shape[-1]
    v = s * s / n
    sv = v.sqrt()
    da = a_s - a_t
    c = _arr._offset(a_s, b_s, m) - _arr._offset(a_t, b_t, m)
    cn2 = sum(c * c)
    spread = _arr._f("spread")(d, tau_s, tau_t)
    err = _sqrt_nonnegative(cn2) / tau_t + _sqrt_nonnegative(2 * spread)  # both are >= 0
    half_d = arb(d) / 2

    def moment(k, z):  # E(R^k; R^2/2 > z) for R ~ chi_d
        return arb(2) ** (arb(k) / 2) * z.gamma_upper(half_d + arb(k) / 2) * half_d.rgamma()

    zero = 0 * v
    width = 2 * sv * tau_t * err * moment(1, zero)
    near = 2 * v * abs(da) * moment(2, zero)
    if width < E_D_MAX_WIDTH * near:
        return near + (-width).union(width)
    cn = _sqrt_nonnegative(cn2)
    norm = arb(2) ** (1 - half_d) * half_d.rgamma()  # chi_d density: norm r^(d-1) e^(-r^2/2)

    def root(r, cos, real, analytic):  # sqrt(2 KL_D) at radius r and angle cos(psi)
        sq = cn2 + 2 * cos * da * sv * cn * r + da * da * v * r * r
        two_kl = sq / (tau_t * tau_t) + 2 * spread
        if real:  # real r and angle: KL_D >= 0 there, so the square root is real
            return acb(_sqrt_nonnegative(two_kl.real))
        return two_kl.sqrt(analytic=analytic)

    if cn2 == 0 or da == 0:  # the angle drops out

        def mean_root(r, analytic):
            return root(r, 0, r.imag == 0, analytic)

    elif d == 1:  # psi in {0, pi}

        def mean_root(r, analytic):
            return (root(r, 1, r.imag == 0, analytic) + root(r, -1, r.imag == 0, analytic)) / 2

    else:  # d >= 2 with both c_Delta and a_S - a_T nonzero: a double integral (not enclosed)
        return None

    def f(r, analytic):
        integrand = 2 * tau_t * sv * r * mean_root(r, analytic)
        return integrand * norm * r ** (d - 1) * (-r * r / 2).exp()

    r0 = 40 + math.ceil(math.sqrt(d))
    body = acb.integral(f, 0, r0, rel_tol=E_D_REL_TOL, abs_tol=E_D_REL_TOL * 1e-20).real
    z = arb(r0) ** 2 / 2
    rest = 2 * sv * (tau_t * err * moment(1, z) + abs(da) * sv * moment(2, z))
    out = body + (0 * rest).union(rest)
    return out if out.is_finite() else None
