"""Model C (THEORY §7, the linear-Gaussian case study) as data, in the SPECTRAL form: every
quantity a sympy expression derived from the definitions, per eigen-direction of the design.

**The spectral reduction.**  Write ``X X^T = U diag(s_1..s_d) U^T`` (``U`` orthonormal, ``s_i >= 0``
the squared singular values of ``X``, zero for ``i > n``), and for a ``k x d`` matrix ``W`` its
columns in that basis ``w_i = W u_i``.  Then ``L_D(W) = (||Y||^2 - 2 sum_i <w_i, z_i> + sum_i s_i
||w_i||^2)/n`` with ``z_i = Y X^T u_i``, and ``z_i = s_i omega_i + E X^T u_i`` where
``omega_i = W* u_i``; the projected noises ``E X^T u_i`` are independent ``N(0, nu^2 s_i I_k)``
(their cross-covariance is ``nu^2 u_i^T X X^T u_j I_k = nu^2 s_i delta_ij I_k``; proved for
symbolic ``n`` in ``proofs/linear_gaussian.py``).  A kernel of the *spectral family*

    ``W u_i | Y ~ N(h_i z_i + b_i, v_i I_k)`` independently over ``i``, i.e.
    ``P = I``, ``H = X^T U diag(h) U^T``, ``B = [b_1..b_d] U^T``, ``Sigma = U diag(v) U^T``,

(the Gibbs teacher, the KD student of a spectral teacher and the tilt student are in it) therefore
factorises over the eigen-directions and, within one, over the ``k`` output coordinates.  Each
quantity is derived for **one direction and one output coordinate** (scalars ``s, omega, h, b, v``,
standard normals ``xi`` for the label noise and ``zeta`` for the kernel noise) by the exact
Gaussian-moment engine (:func:`kdtheory.formulas.engine.gaussian_expectation`), then:

* coordinate-free parts are ``k`` times the per-coordinate value (``gen_dir``, ``estimation_dir``,
  ``spread_dir``, ``Esigma2_dir``, the informations, ``estimation_weight``);
* the offset part depends on the direction's vectors through ``c_Delta2 = ||c_Delta||^2`` with the
  per-coordinate ``c_Delta = (h_S - h_T) s omega + b_S - b_T``;
* kernel intercepts (``gibbs_b``, ``kd_b_S``, ``tilt_b_S``, ``c_Delta``, ``whitened_mean``) are
  per-coordinate formulas (:attr:`Formula.coordinate`);
* the model quantity is the **sum over the spectrum** of the per-direction term:
  :func:`spectral_sum` gives it as ``Sum(term(s[i], h[i], ...), (i, 0, d - 1))`` (what
  ``kdtheory derive --model linear-gaussian`` prints; not compiled: the model sums the compiled
  per-direction arrays).

**What stays numeric** (say so in the model's docstrings): the eigen-decomposition of ``X X^T``
itself (an SVD of ``X``); every quantity of a kernel *outside* the spectral family (a generic
``P, H, B, Sigma`` is not diagonal in the design's eigenbasis: the trace forms of THEORY §7 are
evaluated by matrix code); and the rank profile's Ky Fan step: its matrices
``E[A_w A_w^T] = sum_i abar_i abar_i^T + (sum_i e_i) I_k`` and ``E[A_w^T A_w] = Abar^T Abar +
k diag(e)`` are built from the formulas ``whitened_mean`` (``abar_i``) and ``estimation_weight``
(``e_i``), but their eigenvalues mix the directions through the ``k``-dimensional columns and are
numeric (``rank_K_n`` is the tail sum of them).

Nothing is derived at import (:class:`~kdtheory.formulas.table.FormulaTable`).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import sympy as sp

from ..symbols import PARAMS, POSITIVE, POSITIVE_INTEGER, REAL, UNIT_CLOSED, Domain, Param
from .compile import log1p
from .engine import gaussian_expectation
from .gaussian_mean import SYMBOLS as _MODEL_A
from .gaussian_mean import _as_phi, _coeffs, _gibbs_params, _kl_gauss
from .gaussian_mean import stationary_points as _stationary_points
from .table import Formula, FormulaTable, proved

__all__ = ["SYMBOLS", "TABLE", "INDEX", "formulas", "formula", "compiled", "closed_form",
           "expression", "spectral_sum", "stationary_points"]  # fmt: skip

_NONNEG = Domain(0.0, math.inf, True, False)


def _p(name, latex, domain, meaning) -> Param:
    return Param(name, latex, domain, meaning)


def _kernel_params(tag: str, whose: str) -> list[Param]:
    """``h``, ``b``, ``v`` (with suffix ``tag``): a spectral kernel
    ``W u_i | Y ~ N(h z_i + b, v I_k)`` along the direction ``u_i``."""
    sub = f"_{tag[1:]}" if tag else ""
    return [
        _p(f"{x}{tag}", f"{x}{sub}", dom, f"{whose} {what} along u_i")
        for x, dom, what in (
            ("h", REAL, "slope"),
            ("b", REAL, "intercept (one coordinate)"),
            ("v", POSITIVE, "variance"),
        )
    ]


#: The symbols of Model C's spectral formulas (name -> Param: LaTeX, domain, meaning).  Per
#: direction ``i`` (an eigenvector ``u_i`` of ``X X^T``); "one coordinate" = one output row.
SYMBOLS: dict[str, Param] = {
    p.name: p
    for p in [
        _p("k", "k", POSITIVE_INTEGER, "number of outputs (rows of W)"),
        _p("d", "d", POSITIVE_INTEGER, "input dimension (number of eigen-directions of X X^T)"),
        PARAMS["n"],
        _p("nu", r"\nu", POSITIVE, "label noise standard deviation"),
        _p("s", "s", _NONNEG, "eigenvalue of X X^T along the direction u_i"),
        _p("omega", r"\omega", REAL, "component of W* along u_i (one coordinate of W* u_i)"),
        _p("omega2", r"\|\omega\|^2", _NONNEG, "squared norm of W* u_i"),
        *_kernel_params("", "a spectral kernel's"),
        *_kernel_params("_S", "the student's"),
        *_kernel_params("_T", "the teacher's"),
        _p("c_Delta2", r"\|c_\Delta\|^2", _NONNEG, "squared norm of c_Delta (the formula)"),
        # the Gibbs / KD hyper-parameters are Model A's (THEORY §6, §7 use the same ones)
        *(_MODEL_A[x] for x in ("gamma_T", "lam_T", "alpha", "gamma_S", "lam_S")),
        _p("mu0_T", r"\mu_{0,T}", REAL, "teacher's prior mean along u_i (one coordinate)"),
        _p("mu0_S", r"\mu_{0,S}", REAL, "student's prior mean along u_i (one coordinate)"),
        _p("kappa", r"\kappa", REAL, r"tilt: $M_S = M_T + (\kappa/n)(Y - W^* X) X^T \Sigma_T$"),
        _p("q", "q", UNIT_CLOSED, "rank-r projection student: 1 if the coordinate is kept, else 0"),
        _p("abar", r"\bar a", REAL, "whitened teacher mean (one coordinate of one direction)"),
        _p("e", "e", _NONNEG, "estimation weight of one direction (Var(M_T u_i)/v_T)"),
    ]
}

_REF = "THEORY §7"
HOW = (
    "derived per eigen-direction by the Gaussian-moment engine (kdtheory.formulas.linear_gaussian)"
)

#: the summation index of :func:`spectral_sum` (directions ``i = 0..d-1``)
INDEX = sp.Symbol("i", integer=True, nonnegative=True)

_xi, _zeta, _zeta2 = sp.symbols("xi zeta zeta_2", real=True)  # independent N(0, 1)


def _derive(add, S) -> None:  # noqa: PLR0915 - one derivation per quantity, in order
    k, n, nu, s, omega = S("k"), S("n"), S("nu"), S("s"), S("omega")
    h, b, v = S("h"), S("b"), S("v")
    h_s, b_s, v_s, h_t, b_t, v_t = (S(x) for x in ("h_S", "b_S", "v_S", "h_T", "b_T", "v_T"))
    gamma_t, lam_t, mu0_t = S("gamma_T"), S("lam_T"), S("mu0_T")
    alpha, gamma_s, lam_s, mu0_s, kappa = (S(x) for x in ("alpha", "gamma_S", "lam_S", "mu0_S", "kappa"))  # fmt: skip
    z, w = sp.symbols("z w", real=True)
    noise = nu * sp.sqrt(s) * _xi  # one coordinate of E X^T u_i ~ N(0, nu^2 s)
    z_data = s * omega + noise

    def draw(slope, intercept, var):  # one coordinate of W u_i under a spectral kernel
        return slope * z_data + intercept + sp.sqrt(var) * _zeta

    # gap: g = k nu^2 - ||E||^2/n + (2/n) sum_i <w_i - omega_i, E X^T u_i>; the first two terms
    # have mean 0 (E ||E||_F^2 = k n nu^2) and do not involve W
    def gap_dir(wv):
        return 2 * (wv - omega) * noise / n

    e_noise2 = gaussian_expectation(sp.expand((nu * _xi) ** 2), [_xi])  # E E_ab^2
    if sp.simplify(k * nu**2 - k * n * e_noise2 / n) != 0:
        raise ArithmeticError("the label-noise part of the gap does not have mean 0")
    gen = sp.factor(k * gaussian_expectation(sp.expand(gap_dir(draw(h, b, v))), [_xi, _zeta]))
    add("gen_dir", gen, ("h", "s", "nu", "n", "k"),
        "direction i's term of gen = E[L_mu(W) - L_D(W)]", _REF, HOW)  # fmt: skip

    # K_n per direction: E_xi KL(N(h_S z + b_S, v_S) || N(h_T z + b_T, v_T)) per coordinate
    mu_s, mu_t = h_s * z_data + b_s, h_t * z_data + b_t
    # written with the slope difference as one factor: a student close to the teacher loses no
    # digits to h_S s omega - h_T s omega (the difference of stored slopes is exact)
    c_delta = proved((mu_s - mu_t).subs(_xi, 0), (h_s - h_t) * s * omega + b_s - b_t)
    add("c_Delta", c_delta, ("h_S", "b_S", "h_T", "b_T", "s", "omega"),
        "mean difference E_Y[M_S - M_T] u_i (one coordinate)", _REF, HOW)  # fmt: skip
    kl1 = gaussian_expectation(sp.expand(_kl_gauss(mu_s, sp.sqrt(v_s), mu_t, sp.sqrt(v_t))), [_xi])
    c = sp.Symbol("c", real=True)
    poly_c = sp.Poly(sp.expand(kl1.subs(b_s, sp.solve(sp.Eq(c_delta, c), b_s)[0])), c)
    if poly_c.degree() != 2 or sp.simplify(poly_c.coeff_monomial(c)) != 0:
        raise ArithmeticError("K_n per direction is not even quadratic in c_Delta")
    offset = sp.simplify(poly_c.coeff_monomial(c**2)) * S("c_Delta2")
    rest = sp.simplify(poly_c.coeff_monomial(1))
    spread1 = sp.simplify(rest.subs(h_s, h_t))
    estimation = sp.factor(k * sp.simplify(rest - spread1))
    if {str(x) for x in estimation.free_symbols} & {"v_S", "omega", "b_S", "b_T"}:
        raise ArithmeticError(f"the estimation part depends on the spread or means: {estimation}")
    spread = k * _as_phi(spread1, v_s / v_t)
    add("offset_dir", offset, ("c_Delta2", "v_T"), "direction i's offset part of K_n", _REF, HOW)
    add("estimation_dir", estimation, ("h_S", "h_T", "s", "nu", "v_T", "k"),
        "direction i's estimation part of K_n", _REF, HOW)  # fmt: skip
    add("spread_dir", spread, ("v_S", "v_T", "k"), "direction i's spread part of K_n", _REF,
        HOW + "; stable override phi")  # fmt: skip
    add("K_n_dir", offset + estimation + spread,
        ("c_Delta2", "h_S", "h_T", "v_S", "v_T", "s", "nu", "k"),
        "direction i's term of K_n = E_Y KL_Y", _REF, HOW)  # fmt: skip

    # conditional proxy: Var(g(W_T, Y) | Y) over the kernel noise, then E over the labels
    g_t = sp.expand(gap_dir(draw(h_t, b_t, v_t)))
    if sp.Poly(g_t, _zeta).degree() != 1:
        raise ArithmeticError("g(W_T, Y) | Y is not affine in the kernel noise")
    cond_var = gaussian_expectation(
        sp.expand((g_t - gaussian_expectation(g_t, [_zeta])) ** 2), [_zeta]
    )
    esig = sp.factor(k * gaussian_expectation(sp.expand(cond_var), [_xi]))
    add("Esigma2_dir", esig, ("v_T", "s", "nu", "n", "k"),
        "direction i's term of E_Y sigma_Y^2 (g(W_T,Y)|Y is Gaussian)", _REF, HOW)  # fmt: skip

    # informations: E_Y KL(P_{W|Y} || P_W) and its reverse, per direction and coordinate
    mean_w = gaussian_expectation(draw(h, b, v), [_xi, _zeta])
    var_w = gaussian_expectation(sp.expand((draw(h, b, v) - mean_w) ** 2), [_xi, _zeta])
    q = sp.factor(h**2 * nu**2 * s / v)
    mu_y = h * z_data + b
    mi1 = gaussian_expectation(sp.expand(_kl_gauss(mu_y, sp.sqrt(v), mean_w, sp.sqrt(var_w))), [_xi])  # fmt: skip
    la1 = gaussian_expectation(sp.expand(_kl_gauss(mean_w, sp.sqrt(var_w), mu_y, sp.sqrt(v))), [_xi])  # fmt: skip
    info_args = ("h", "v", "s", "nu", "k")
    add("mutual_information_dir", proved(k * mi1, k * log1p(q) / 2), info_args,
        "direction i's term of I(W; Y)", _REF, HOW + "; stable override log1p")  # fmt: skip
    add("lautum_information_dir", proved(k * la1, k * q - k * log1p(q) / 2), info_args,
        "direction i's term of the lautum information", _REF, HOW)  # fmt: skip
    add("symmetrized_information_dir", proved(k * (mi1 + la1), k * q), info_args,
        "direction i's term of I_SKL = I + lautum", _REF, HOW)  # fmt: skip

    # kernel maps.  Gibbs: -(lam/2)||w_i - mu0_i||^2 - (gamma/n)(s ||w_i||^2 - 2 <w_i, z_i>)
    log_gibbs = -lam_t * (w - mu0_t) ** 2 / 2 - gamma_t / n * (s * w**2 - 2 * w * z)
    g_mean, g_var = _gibbs_params(log_gibbs, w)
    g_h, g_b = _coeffs(g_mean, z)
    gibbs_how = HOW + ": completing the square of the Gibbs log-density along u_i"
    add("gibbs_h", g_h, ("gamma_T", "lam_T", "s", "n"), "slope h of the Gibbs kernel", _REF,
        gibbs_how)  # fmt: skip
    add("gibbs_b", g_b, ("gamma_T", "lam_T", "mu0_T", "s", "n"),
        "intercept b of the Gibbs kernel (one coordinate)", _REF, gibbs_how)  # fmt: skip
    add("gibbs_v", g_var, ("gamma_T", "lam_T", "s", "n"), "variance v of the Gibbs kernel", _REF,
        gibbs_how)  # fmt: skip

    # KD student on alpha L_D + (1 - alpha) ||M_T X - W X||^2/n (soft label m_T = M_T u_i)
    def kd_log_density(soft):
        fit = alpha * (s * w**2 - 2 * w * z) + (1 - alpha) * (s * w**2 - 2 * s * w * soft)
        return -lam_s * (w - mu0_s) ** 2 / 2 - gamma_s / n * fit

    teacher_mean = h_t * z + b_t
    kd_mean, kd_var = _gibbs_params(kd_log_density(teacher_mean), w)
    kd_h, kd_b = _coeffs(kd_mean, z, h_t, b_t, mu0_s)
    kd_how = HOW + ": completing the square of the KD student's log-density along u_i"
    add("kd_h_S", kd_h, ("h_T", "alpha", "gamma_S", "lam_S", "s", "n"),
        "slope of the KD student", _REF, kd_how)  # fmt: skip
    add("kd_b_S", kd_b, ("b_T", "alpha", "gamma_S", "lam_S", "mu0_S", "s", "n"),
        "intercept of the KD student (one coordinate)", _REF, kd_how)  # fmt: skip
    add("kd_v_S", kd_var, ("gamma_S", "lam_S", "s", "n"),
        "variance of the KD student (mean soft labels)", _REF, kd_how)  # fmt: skip
    smean, svar = _gibbs_params(kd_log_density(teacher_mean + sp.sqrt(v_t) * _zeta2), w)
    smean_d = gaussian_expectation(smean, [_zeta2])
    if sp.simplify(smean_d - kd_mean) != 0:
        raise ArithmeticError("sampled soft labels change the student's mean")
    tot_var = svar + sp.factor(gaussian_expectation(sp.expand((smean - smean_d) ** 2), [_zeta2]))
    add("kd_v_S_sampled", sp.factor(tot_var), ("v_T", "alpha", "gamma_S", "lam_S", "s", "n"),
        "variance of the KD student (soft label W_T X for one teacher draw)", _REF,
        kd_how + ", the teacher draw integrated out")  # fmt: skip

    # tilt: M_S u_i = M_T u_i + (kappa/n) (Y - W* X) X^T Sigma_T u_i = ... + (kappa/n) v_T (z - s omega)
    t_h, t_b = _coeffs(teacher_mean + kappa / n * v_t * (z - s * omega), z, h_t, b_t, omega)
    tilt_how = HOW + ": the tilt's mean along u_i"
    add("tilt_h_S", t_h, ("h_T", "kappa", "v_T", "n"), "slope of the tilt student", _REF, tilt_how)
    add("tilt_b_S", t_b, ("b_T", "kappa", "v_T", "s", "omega", "n"),
        "intercept of the tilt student (one coordinate)", _REF, tilt_how)  # fmt: skip

    # rank profile entries: the whitened teacher mean and its noise weight along u_i
    mean_t = gaussian_expectation(mu_t, [_xi])
    add("whitened_mean", sp.collect(sp.expand(mean_t), omega) / sp.sqrt(v_t),
        ("h_T", "b_T", "s", "omega", "v_T"),
        "E_Y[M_T] Sigma_T^-1/2 u_i (one coordinate): a column of Abar", _REF, HOW)  # fmt: skip
    ew = sp.factor(gaussian_expectation(sp.expand((mu_t - mean_t) ** 2), [_xi]) / v_t)
    add("estimation_weight", ew, ("h_T", "s", "nu", "v_T"),
        "e_i = Var(M_T(Y) u_i)/v_T per coordinate: the noise part of E[A_w^T A_w]", _REF,
        HOW)  # fmt: skip

    # rank-r projection student (THEORY §7): in an orthonormal basis of the kept subspace the
    # student keeps a coordinate (q = 1: the teacher's slope and intercept) or zeroes it (q = 0),
    # Sigma_S = Sigma_T; its K_n per coordinate and direction (K_n_dir at k = 1)
    q = S("q")
    proj = {h_s: q * h_t, b_s: q * b_t, v_s: v_t}
    add("projection_h_S", q * h_t, ("q", "h_T"), "slope of the rank-r projection student", _REF,
        HOW + ": the kept coordinates keep the teacher's map")  # fmt: skip
    add("projection_b_S", q * b_t, ("q", "b_T"),
        "intercept of the rank-r projection student (one coordinate)", _REF,
        HOW + ": the kept coordinates keep the teacher's map")  # fmt: skip
    cost = (offset + estimation + spread).subs(S("c_Delta2"), c_delta**2).subs(k, 1).subs(proj)
    whitened = {S("abar"): mean_t / sp.sqrt(v_t), S("e"): ew}
    form = (1 - q) ** 2 * (S("abar") ** 2 + S("e")) / 2
    proved(cost, form.subs(whitened))  # ArithmeticError unless equal
    add("projection_cost", form, ("q", "abar", "e"),
        "K_n of the rank-r projection student per coordinate and direction "
        "(abar = whitened_mean, e = estimation_weight)", _REF,
        HOW + ": K_n_dir at the projection student, proved equal to (1-q)^2 (abar^2 + e)/2")  # fmt: skip

    # K_n of a KD student (mean soft labels) of a Gibbs teacher, zero prior means (design helper)
    teacher = {h_t: g_h, b_t: g_b.subs(mu0_t, 0), v_t: g_var}
    hyper_t = ("gamma_T", "lam_T", "s", "nu", "n", "k")
    add("gen_T_gibbs_dir", sp.factor(gen.subs(h, g_h)), hyper_t,
        "direction i's term of gen of the Gibbs teacher", _REF, HOW + " (gen_dir at gibbs_h)")  # fmt: skip
    add("gen_S_kd_dir", sp.factor(gen.subs(h, kd_h.subs(teacher))),
        ("alpha", "gamma_S", "lam_S", *hyper_t),
        "direction i's term of gen of the KD student of the Gibbs teacher", _REF,
        HOW + " (gen_dir at kd_h_S of gibbs_h)")  # fmt: skip
    add("Esigma2_gibbs_dir", sp.factor(esig.subs(v_t, g_var)), hyper_t,
        "direction i's term of E_Y sigma_Y^2 of the Gibbs teacher", _REF,
        HOW + " (Esigma2_dir at gibbs_v)")  # fmt: skip
    student = {h_s: kd_h.subs(teacher), b_s: kd_b.subs(teacher).subs(mu0_s, 0), v_s: kd_var}
    c_kd = sp.factor(sp.expand(c_delta.subs(student).subs(teacher)) / omega)  # c = A omega
    k_kd = (offset + estimation + spread).subs(S("c_Delta2"), c_kd**2 * S("omega2"))
    k_kd = k_kd.subs(student).subs(teacher)
    add("K_n_kd_dir", k_kd,
        ("alpha", "gamma_S", "lam_S", "gamma_T", "lam_T", "s", "omega2", "nu", "n", "k"),
        "direction i's term of K_n of a KD student (mean soft labels) of a Gibbs teacher, "
        "zero prior means", _REF, HOW)  # fmt: skip


TABLE = FormulaTable("linear-gaussian", SYMBOLS, _derive)
formulas, formula, compiled, _expression, _closed_form = TABLE.api()

#: the per-direction symbols (indexed in :func:`spectral_sum`)
PER_DIRECTION = {
    "s", "omega", "omega2", "h", "b", "v", "h_S", "b_S", "v_S", "h_T", "b_T", "v_T",
    "c_Delta2", "mu0_T", "mu0_S",
}  # fmt: skip

#: model quantities: name -> (the per-direction formula it sums, meaning)
SUMS = {
    "gen": ("gen_dir", "expected generalization gap gen = (2 nu^2/n) tr(P) tr(H X)"),
    "K_n": ("K_n_dir", "distillation divergence K_n = E_Y KL_Y"),
    "offset": ("offset_dir", "offset part of K_n"),
    "estimation": ("estimation_dir", "estimation part of K_n"),
    "spread": ("spread_dir", "spread part of K_n"),
    "Esigma2": ("Esigma2_dir", "E_Y sigma_Y^2 = (4 nu^2 k/n^2) tr(Sigma_T X X^T)"),
    "mutual_information": ("mutual_information_dir", "I(W; Y)"),
    "lautum_information": ("lautum_information_dir", "lautum information"),
    "symmetrized_information": ("symmetrized_information_dir", "I_SKL = I + lautum"),
    "gen_T_gibbs": ("gen_T_gibbs_dir", "gen of the Gibbs teacher"),
    "gen_S_kd": ("gen_S_kd_dir", "gen of the KD student (mean soft labels) of the Gibbs teacher"),
    "Esigma2_gibbs": ("Esigma2_gibbs_dir", "E_Y sigma_Y^2 of the Gibbs teacher"),
    "K_n_kd": (
        "K_n_kd_dir",
        "K_n of a KD student (mean soft labels) of a Gibbs teacher, zero prior means",
    ),
}


@functools.cache
def spectral_sum(name: str) -> sp.Expr:
    """The model quantity ``name`` (a key of :data:`SUMS`) as the sum over the spectrum
    ``Sum(term_i, (i, 0, d - 1))`` of its per-direction formula, the per-direction symbols
    indexed (``s[i]``, ``h[i]``, ...; THEORY §7).  An expression to read and differentiate; the
    model evaluates the compiled per-direction formula on arrays and sums."""
    term = formula(SUMS[name][0]).expr
    idx = {x: sp.IndexedBase(x)[INDEX] for x in term.free_symbols if str(x) in PER_DIRECTION}
    return sp.Sum(term.subs(idx, simultaneous=True), (INDEX, 0, SYMBOLS["d"].symbol - 1))


def closed_form(name: str) -> Formula:
    """A per-direction formula by name, or a model quantity of :data:`SUMS` as a
    :class:`Formula` whose ``expr`` is its :func:`spectral_sum` (``args`` are those of the
    per-direction term it sums); ``KeyError`` lists both."""
    if name in SUMS:
        per_dir, meaning = SUMS[name]
        f = formula(per_dir)
        how = f"the sum over the spectrum of X X^T of {per_dir} ({f.how})"
        return dataclasses.replace(f, name=name, expr=spectral_sum(name), meaning=meaning, how=how)
    try:
        return _closed_form(name)
    except KeyError:
        raise KeyError(
            f"unknown linear-gaussian quantity {name!r}; model quantities: {', '.join(SUMS)}; "
            f"per-direction formulas: {', '.join(formulas())}"
        ) from None


def _summed(term, limits) -> sp.Expr:
    """``Sum(term, *limits)`` with the factors of ``term`` free of the index taken outside."""
    index = limits[0][0]
    inside, outside = [], []
    for f in sp.Mul.make_args(sp.factor(term)):
        (inside if f.has(index) else outside).append(f)
    return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), *limits)


def _pull_out(expr: sp.Expr, wrt: sp.Symbol) -> sp.Expr:
    """``expr`` with each ``Sum`` whose summand is a polynomial in ``wrt`` written as
    ``sum_p wrt^p Sum(coefficient_p)`` (the index does not involve ``wrt``; factors free of the
    index outside the sums), so that it is a rational function of ``wrt`` with sums as
    constants."""

    def split(sm):
        term, limits = sm.function, sm.limits
        if not term.has(wrt) or not term.is_polynomial(wrt):
            return sm
        poly = sp.Poly(sp.expand(term), wrt)
        return sum(wrt ** p[0] * _summed(cf, limits) for p, cf in poly.terms())

    return expr.replace(lambda e: isinstance(e, sp.Sum), split)


def stationary_points(expr: sp.Expr, wrt: sp.Symbol):
    """:func:`kdtheory.formulas.gaussian_mean.stationary_points` of ``expr`` with its spectral
    sums written as polynomials in ``wrt`` with summed coefficients (:func:`_pull_out`; the sums
    are held as constants while sympy solves): e.g. ``K_n_kd`` is a quadratic in ``alpha`` with
    coefficients summed over the spectrum.  For a product of square roots (e.g. the U1 bound
    ``sqrt(2 Esigma2 K_n)``) the points are those of its square (the square root is
    increasing)."""
    roots = all((f.is_Pow and f.exp == sp.S.Half) or f.is_positive for f in sp.Mul.make_args(expr))
    target = _pull_out(expr**2 if roots else expr, wrt)  # a product of square roots: its square
    deriv = _pull_out(sp.diff(_pull_out(expr, wrt), wrt), wrt)
    if any(sm.has(wrt) for sm in target.atoms(sp.Sum)):
        return (
            deriv,
            None,
            (
                f"a spectral sum is not a polynomial in {wrt}: no closed-form solve attempted "
                "(the stationary point depends on the whole spectrum)"
            ),
        )
    held = {sm: sp.Dummy(f"S{j}") for j, sm in enumerate(target.atoms(sp.Sum))}
    _, points, how = _stationary_points(target.subs(held), wrt)
    if points is not None:
        back = {dm: sm for sm, dm in held.items()}
        points = [sp.simplify(p.subs(back)) for p in points]
    return deriv, points, how


def expression(quantity: str) -> tuple[sp.Expr, str]:
    """``(expr, meaning)``: a model quantity of :data:`SUMS` as its spectral sum, or a
    per-direction formula by name (what ``kdtheory derive --model linear-gaussian`` prints);
    ``KeyError`` names both lists."""
    if quantity in SUMS:
        per_dir, meaning = SUMS[quantity]
        f = formula(per_dir)
        return spectral_sum(quantity), f"{meaning}, summed over the spectrum of X X^T ({f.ref})"
    if quantity in formulas():
        return _expression(quantity)
    from ..symbols import symbol
    from ..theorems import all_theorems

    by_id = {t.id: t for t in all_theorems()}
    if quantity not in by_id:
        raise KeyError(
            f"unknown linear-gaussian quantity {quantity!r}; known: {', '.join(SUMS)} (sums "
            f"over the spectrum), a per-direction formula ({', '.join(formulas())}) or a "
            f"theorem id ({', '.join(sorted(by_id))})"
        )
    t = by_id[quantity]
    gen_s, gen_t = spectral_sum("gen_S_kd"), spectral_sum("gen_T_gibbs")
    supplied = {"K_n": spectral_sum("K_n_kd"), "Esigma2": spectral_sum("Esigma2_gibbs"),
                "gen_S": gen_s, "gen_T": gen_t, "dgen": gen_s - gen_t}  # fmt: skip
    missing = sorted(set(t.symbols) - set(supplied))
    if missing:
        raise ValueError(
            f"theorem {quantity} needs {', '.join(missing)}, which Model C's spectral sums do "
            f"not supply (they supply {', '.join(supplied)})"
        )
    side = "upper" if t.is_upper else "lower"
    rhs = t.rhs.subs({symbol(k): v for k, v in supplied.items() if k in t.symbols})
    return rhs, (
        f"{side} side of theorem {t.id} ({t.name}) for a KD student (mean soft labels) of a "
        f"Gibbs teacher, zero prior means, in Model C's spectral form ({t.ref}, THEORY §7)"
    )
