"""Executable derivations for the linear-Gaussian case study (THEORY §7).

**General steps (PROVED, symbolic n, eigenvalue s and hyper-parameters; any d through sums over
the spectrum)**, with the package's expressions (:mod:`kdtheory.formulas.linear_gaussian`), not
retyped ones:

* the projected label noises ``E X^T u_i`` have cross-covariance ``nu^2 u_i^T X X^T u_j I_k``
  (symbolic n), so along the eigenvectors of ``X X^T`` they are independent ``N(0, nu^2 s_i I_k)``
  and a kernel of the spectral family factorises over the directions;
* per direction, the package's ``gen``, ``K_n`` parts and ``Esigma2`` terms equal THEORY §7's trace
  forms for a spectral kernel; the Gibbs kernel map is the stationary point with curvature
  ``-1/v``; a Gibbs kernel has ``gen = I_SKL/gamma`` and ``Esigma2 = gen/gamma`` term by term;
* the tilt student attains Theorem U1 with equality for every ``d``: each direction's ``dgen``,
  ``K_n`` and ``Esigma2`` term is a constant times ``s_i v_i``, so the three sums are constants
  times ``tr(Sigma_T X X^T)``;
* Model A is Model C with ``X = 1_n^T`` (one direction, ``s = n``) for symbolic ``n``: gen, the
  K_n parts and Esigma2 equal Model A's formulas.

**Fixed-size steps (EVIDENCE)** for kernels outside the spectral family (any ``P``, ``H``, ``B``,
``Sigma``): exact symbolic steps in a small fixed-dimension instance (k = d = n = 2, every matrix entry a free
symbol, the noise E a matrix of independent N(0, nu^2) symbols whose expectation is taken exactly
with Gaussian moments).  An identity checked at one size is not a proof for every size, so these
steps are recorded as EVIDENCE (``[exact at k = d = n = 2]``); only the scalar steps of the label
space are PROVED in general.  The steps:

* the gap from the losses, ``gen = (2 nu^2/n) tr(P) tr(HX)``;
* ``K_n`` = offset + estimation (+ the Gaussian spread term) from ``E_Y KL_Y``;
* the conditional proxy ``sigma_Y^2`` and its mean ``(4 nu^2 k/n^2) tr(Sigma_T X X^T)``;
* the Gibbs constructor (stationarity and curvature) and ``gen = I_SKL / gamma``, with ``I_SKL``
  derived from its definition;
* the tilt student attains Theorem U1 with equality;
* Model A is Model C with ``X = 1_n^T`` (n = 3);
* label space: the exact soft-label KL is below the convexity bound;
* weight space: the Pythagoras identity in the top singular subspace (2 x 2, r = 1), with a
  negative control off the subspace; the second moments behind the rank profile.

``python proofs/linear_gaussian.py`` prints the steps; the tests run :func:`run`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdtheory.proof import Proof, run_script  # noqa: E402

K = D = N = 2
nu = sp.Symbol("nu", positive=True)
gamma, lam, kappa = sp.symbols("gamma lambda kappa", positive=True)


def mat(name: str, rows: int, cols: int, **kw) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", **kw))


def sym_mat(name: str, d: int) -> sp.Matrix:
    """A symmetric d x d matrix of free symbols."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{name}_{min(i, j)}{max(i, j)}", real=True))


def gauss_expect(expr, variables) -> sp.Expr:
    """Exact ``E expr`` for independent ``N(0, nu^2)`` ``variables`` (polynomial ``expr``):
    ``E e^p = nu^p (p-1)!!`` for even p, 0 for odd p."""
    poly = sp.Poly(sp.expand(expr), *variables)
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        m = sp.Integer(1)
        for p in monom:
            if p % 2:
                m = sp.Integer(0)
                break
            m *= nu**p * sp.factorial2(p - 1)
        total += coeff * m
    return total


def instance(pr: Proof, where: str):
    """``step(claim, lhs, rhs, simplify=...)``: an exact identity in the fixed-size instance
    ``where``, recorded as EVIDENCE for the general statement (:meth:`Proof.instance`)."""

    def step(claim, lhs, rhs, simplify=sp.simplify):
        return pr.instance(claim, lhs, rhs, where=where, simplify=simplify)

    return step


def entrywise(simplify=sp.simplify):
    """A ``simplify`` for :meth:`Proof.identity` on matrices: 0 iff every entry simplifies to 0
    (else the matrix of residual entries, which makes the step FAILED)."""

    def f(z):
        if not isinstance(z, sp.MatrixBase):
            return simplify(z)
        res = z.applyfunc(simplify)
        return sp.Integer(0) if all(e == 0 for e in res) else res

    return f


def fro2(a: sp.Matrix) -> sp.Expr:
    return sum(x**2 for x in a)


def inner(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _in_range(total: sp.Expr) -> sp.Expr:
    """``total`` with each ``Piecewise((x, l <= n), (0, True))`` inside ``Sum(..., (l, 1, n))``
    replaced by ``x`` (its condition holds on the whole summation range)."""

    def fold(sm):
        (idx, lo, hi) = sm.limits[0]

        def branch(*args):
            (x, cond), *_ = args
            if cond in (sp.Le(idx, hi), sp.Ge(hi, idx)) and lo >= 1:
                return x
            return sp.Piecewise(*args)

        return sp.Sum(sm.function.replace(sp.Piecewise, branch), *sm.limits)

    return total.replace(lambda e: isinstance(e, sp.Sum), fold)


def spectral_steps(pr: Proof) -> None:
    """The general steps (PROVED) of the module doc, on the package's expressions."""
    from kdtheory.formulas import gaussian_mean as FA
    from kdtheory.formulas import linear_gaussian as FC
    from kdtheory.formulas.compile import definition

    n_ = sp.Symbol("n", integer=True, positive=True)
    l_, m_ = sp.Idx("l", (1, n_)), sp.Idx("m", (1, n_))
    a_, b_ = sp.IndexedBase("a"), sp.IndexedBase("b")
    # E e_pl e_qm = nu^2 delta_pq delta_lm for the noise E (k x n): one pair of rows p = q
    cov = sp.Sum(sp.Sum(a_[l_] * b_[m_] * nu**2 * sp.KroneckerDelta(l_, m_), (m_, 1, n_)), (l_, 1, n_))  # fmt: skip
    pr.identity(
        "E[(E a)_p (E b)_p] = nu^2 <a, b> for a, b in R^n (symbolic n); different rows are "
        "independent, so Cov(E X^T u_i, E X^T u_j) = nu^2 u_i^T X X^T u_j I_k = nu^2 s_i delta_ij I_k",
        _in_range(cov.doit()),
        nu**2 * sp.Sum(a_[l_] * b_[l_], (l_, 1, n_)),
    )
    S = {k: p.symbol for k, p in FC.SYMBOLS.items()}
    e = {name: definition(f.expr) for name, f in FC.formulas().items()}
    k, n, s, h, v = S["k"], S["n"], S["s"], S["h"], S["v"]
    hs, ht, vs, vt = S["h_S"], S["h_T"], S["v_S"], S["v_T"]
    nu_c = S["nu"]
    # THEORY §7's trace forms for H = X^T U diag(h) U^T, Sigma = U diag(v) U^T, P = I, per
    # direction: tr(H X) = sum h_i s_i, tr(Sigma_T^-1 H^T H) = sum h_i^2 s_i / v_i
    pr.identity("per direction: gen term = (2 nu^2/n) tr(P) [tr(HX)]_i = (2 nu^2/n) k h s",
                e["gen_dir"], 2 * nu_c**2 / n * k * h * s)  # fmt: skip
    pr.identity("per direction: estimation = (nu^2/2) k (h_S - h_T)^2 s / v_T (THEORY §7, P = I)",
                e["estimation_dir"], nu_c**2 / 2 * k * (hs - ht) ** 2 * s / vt)  # fmt: skip
    pr.identity("per direction: spread = (k/2)(v_S/v_T - 1 - log(v_S/v_T))",
                e["spread_dir"], k * (vs / vt - 1 - sp.log(vs / vt)) / 2,
                simplify=lambda z: sp.simplify(sp.expand_log(z, force=True)))  # fmt: skip
    pr.identity("per direction: Esigma2 term = (4 nu^2 k/n^2) [tr(Sigma_T X X^T)]_i",
                e["Esigma2_dir"], 4 * nu_c**2 * k / n**2 * vt * s)  # fmt: skip
    # the Gibbs map: stationary point and curvature of the log-density along u_i
    gam, lam, mu0 = S["gamma_T"], S["lam_T"], S["mu0_T"]
    w, z = sp.symbols("w z", real=True)
    logd = -lam * (w - mu0) ** 2 / 2 - gam / n * (s * w**2 - 2 * w * z)
    mean = e["gibbs_h"] * z + e["gibbs_b"]
    pr.identity("Gibbs map: d/dw log-density = 0 at w = gibbs_h z + gibbs_b",
                sp.diff(logd, w).subs(w, mean), 0)  # fmt: skip
    pr.identity("Gibbs map: d^2/dw^2 log-density = -1/gibbs_v (rows independent N(mean, v))",
                sp.diff(logd, w, 2), -1 / e["gibbs_v"])  # fmt: skip
    gibbs = {h: e["gibbs_h"], v: e["gibbs_v"], vt: e["gibbs_v"]}
    pr.identity("Gibbs: gen = I_SKL / gamma, term by term (so for every d)",
                e["gen_dir"].subs(gibbs), e["symmetrized_information_dir"].subs(gibbs) / gam)  # fmt: skip
    pr.identity("Gibbs: Esigma2 = gen / gamma, term by term (so for every d)",
                e["Esigma2_dir"].subs(gibbs), e["gen_dir"].subs(gibbs) / gam)  # fmt: skip
    # the tilt: every term a constant times s_i v_T,i
    tilt = {hs: e["tilt_h_S"], S["b_S"]: e["tilt_b_S"], vs: vt}
    pr.identity("tilt: c_Delta = 0 along every direction (no offset)", e["c_Delta"].subs(tilt), 0)
    terms = {
        "dgen": e["gen_dir"].subs(h, hs).subs(tilt) - e["gen_dir"].subs(h, ht),
        "K_n": e["K_n_dir"].subs(S["c_Delta2"], 0).subs(tilt),
        "Esigma2": e["Esigma2_dir"],
    }
    per = {key: sp.simplify(t / (s * vt)) for key, t in terms.items()}
    pr.fact(
        "tilt: each direction's dgen, K_n and Esigma2 term is a constant times s_i v_T,i",
        all(not (x.free_symbols & {s, vt, ht, S["b_T"], S["omega"]}) for x in per.values()),
        ", ".join(f"{key} = ({val}) s v_T" for key, val in per.items()),
    )
    trace = sp.Symbol("tr(Sigma_T X X^T)", positive=True)  # = sum_i s_i v_T,i
    pr.identity(
        "tilt: dgen^2 = 2 Esigma2 K_n for every d (U1 with equality), with the sums "
        "constant x tr(Sigma_T X X^T)",
        (per["dgen"] * trace) ** 2,
        2 * (per["Esigma2"] * trace) * (per["K_n"] * trace),
    )
    # Model A = Model C at X = 1_n^T: one direction, s = n, omega = m, h = a/n, v = tau^2
    A = {k_: p.symbol for k_, p in FA.SYMBOLS.items()}
    to_a = {s: A["n"], n: A["n"], nu_c: A["s"], k: A["d"]}
    fa = {name: definition(f.expr) for name, f in FA.formulas().items()}
    pr.identity("A = C (symbolic n): gen_dir at h = a/n, s = n is Model A's gen",
                e["gen_dir"].subs(h, A["a"] / A["n"]).subs(to_a), fa["gen"])  # fmt: skip
    pair = {hs: A["a_S"] / A["n"], ht: A["a_T"] / A["n"], vs: A["tau_S"] ** 2, vt: A["tau_T"] ** 2}
    for name in ("estimation", "spread"):
        pr.identity(f"A = C (symbolic n): {name}_dir is Model A's {name}",
                    e[f"{name}_dir"].subs(pair).subs(to_a), fa[name],
                    simplify=lambda z: sp.simplify(sp.expand_log(z, force=True)))  # fmt: skip
    pr.identity("A = C (symbolic n): offset_dir is Model A's offset (c_Delta2 = ||c_Delta||^2)",
                e["offset_dir"].subs(pair).subs(S["c_Delta2"], A["c_Delta2"]), fa["offset"])  # fmt: skip
    pr.identity("A = C (symbolic n): Esigma2_dir is Model A's Esigma2",
                e["Esigma2_dir"].subs(pair).subs(to_a), fa["Esigma2"])  # fmt: skip


def run() -> Proof:
    pr = Proof("Linear-Gaussian case study: closed forms", "THEORY §7")
    spectral_steps(pr)
    exact = instance(pr, "k = d = n = 2, free symbolic entries")
    X = mat("x", D, N, real=True)
    Ws = mat("w", K, D, real=True)
    E = mat("e", K, N, real=True)
    e_vars = list(E)
    Y = Ws * X + E
    W = mat("W", K, D, real=True)

    # -- the gap ---------------------------------------------------------------------------------
    L_mu = fro2((W - Ws) * X) / N + K * nu**2
    L_D = fro2(Y - W * X) / N
    g = K * nu**2 - fro2(E) / N + sp.Rational(2, N) * inner((W - Ws) * X, E)
    exact("g(W, Y) = L_mu(W) - L_D(W) = k nu^2 - ||E||^2/n + (2/n)<(W - W*)X, E>", L_mu - L_D, g)
    pr.evidence(
        "g is affine in W (so E_W g = g(M(Y), Y) for any kernel with mean M(Y)) "
        "[exact at k = d = n = 2]",
        sp.Poly(sp.expand(g), *W).total_degree() == 1,
        "degree 1 in the free entries of W at k = d = n = 2; evidence for other sizes",
    )

    P, H, B = mat("p", K, K, real=True), mat("h", N, D, real=True), mat("b", K, D, real=True)
    M = P * Y * H + B
    gen = gauss_expect(g.subs(dict(zip(W, M, strict=True))), e_vars)
    exact(
        "gen = E_Y g(M(Y), Y) = (2 nu^2/n) tr(P) tr(H X)",
        gen,
        2 * nu**2 / N * P.trace() * (H * X).trace(),
    )

    # -- K_n --------------------------------------------------------------------------------------
    Q = sym_mat("q", D)  # Sigma_T^{-1}
    Ps, Hs, Bs = mat("ps", K, K, real=True), mat("hs", N, D, real=True), mat("bs", K, D, real=True)
    Pt, Ht, Bt = mat("pt", K, K, real=True), mat("ht", N, D, real=True), mat("bt", K, D, real=True)
    Delta = Ps * Y * Hs + Bs - Pt * Y * Ht - Bt
    Dbar = Ps * Ws * X * Hs + Bs - Pt * Ws * X * Ht - Bt
    Z = Ps * E * Hs - Pt * E * Ht
    exact(
        "Delta = Dbar + Z with Dbar = P_S W* X H_S + B_S - P_T W* X H_T - B_T, Z = P_S E H_S - P_T E H_T",
        Delta,
        Dbar + Z,
        simplify=entrywise(sp.expand),
    )
    Dsym = mat("dbar", K, D, real=True)  # Dbar as an opaque constant matrix
    mean_term = gauss_expect((Q * (Dsym + Z).T * (Dsym + Z)).trace() / 2, e_vars)
    estimation = (
        nu**2
        / 2
        * (
            (Q * Hs.T * Hs).trace() * (Ps * Ps.T).trace()
            - 2 * (Q * Hs.T * Ht).trace() * (Ps * Pt.T).trace()
            + (Q * Ht.T * Ht).trace() * (Pt * Pt.T).trace()
        )
    )
    exact(
        "E_Y (1/2) tr(Sigma_T^-1 Delta^T Delta) = (1/2) tr(Sigma_T^-1 Dbar^T Dbar) [offset] + "
        "estimation (THEORY §7 K_n)",
        mean_term,
        (Q * Dsym.T * Dsym).trace() / 2 + estimation,
        simplify=sp.expand,
    )

    # -- conditional proxy -----------------------------------------------------------------------
    S = sym_mat("s", D)  # Sigma_T
    coeffs = [sp.Matrix([[sp.diff(g, W[i, j]) for j in range(D)]]) for i in range(K)]
    var_given_y = sum((c * S * c.T)[0, 0] for c in coeffs)  # rows independent N(., Sigma_T)
    sigma_y2 = sp.Rational(4, N**2) * (S * X * E.T * E * X.T).trace()
    exact(
        "Var(g(W_T, Y) | Y) = (4/n^2) tr(Sigma_T X E^T E X^T)",
        var_given_y,
        sigma_y2,
        simplify=sp.expand,
    )
    exact(
        "E_Y sigma_Y^2 = (4 nu^2 k / n^2) tr(Sigma_T X X^T)",
        gauss_expect(sigma_y2, e_vars),
        4 * nu**2 * K / N**2 * (S * X * X.T).trace(),
        simplify=sp.expand,
    )

    # -- Gibbs constructor and gen = I_SKL / gamma ----------------------------------------------
    M0 = mat("m0", K, D, real=True)
    Yf = mat("y", K, N, real=True)
    prec = lam * sp.eye(D) + 2 * gamma / N * X * X.T
    Sig = prec.inv()
    Hg, Bg = 2 * gamma / N * X.T * Sig, lam * M0 * Sig
    Mg = Yf * Hg + Bg
    logdens = -lam / 2 * fro2(W - M0) - gamma / N * fro2(Yf - W * X)
    grad = sp.Matrix(K, D, lambda i, j: sp.diff(logdens, W[i, j])).subs(
        dict(zip(W, Mg, strict=True))
    )
    exact(
        "Gibbs: the log-density is stationary at M = Y (2 gamma/n) X^T Sigma + lam M0 Sigma",
        grad,
        sp.zeros(K, D),
        simplify=entrywise(),
    )
    for i in range(K):
        exact(
            f"Gibbs: the Hessian in row {i} is -(lam I + (2 gamma/n) X X^T) = -Sigma^-1, rows "
            "decouple (so rows are independent N(M_i, Sigma))",
            sp.hessian(logdens, list(W[i, :])),
            -prec,
            simplify=entrywise(sp.expand),
        )
    cross = sp.Matrix(D, D, lambda a, b: sp.diff(logdens, W[0, a], W[1, b]))
    exact("Gibbs: no cross-row curvature", cross, sp.zeros(D, D), simplify=entrywise(sp.expand))

    E2 = mat("f", K, N, real=True)  # an independent copy E'
    Hk = mat("h", N, D, real=True)
    dM = P * (E - E2) * Hk
    iskl = gauss_expect((Q * dM.T * dM).trace() / 2, e_vars + list(E2))
    exact(
        "I_SKL = E_joint log p(W|Y) - E_indep log p(W|Y') = nu^2 tr(P P^T) tr(Sigma^-1 H^T H)",
        iskl,
        nu**2 * (P * P.T).trace() * (Q * Hk.T * Hk).trace(),
        simplify=sp.expand,
    )
    gen_g = 2 * nu**2 / N * K * (Hg * X).trace()
    iskl_g = nu**2 * K * (prec * Hg.T * Hg).trace()
    exact("Gibbs teacher: gen = I_SKL / gamma", gen_g, iskl_g / gamma)
    exact(
        "Gibbs teacher: E sigma^2 = gen / gamma",
        4 * nu**2 * K / N**2 * (Sig * X * X.T).trace(),
        gen_g / gamma,
    )

    # -- tilt student attains U1 ------------------------------------------------------------------
    Sg = sym_mat("s", D)
    Qg = Sg.inv()
    Htl = mat("ht", N, D, real=True)
    Btl = mat("bt", K, D, real=True)
    dH = kappa / N * X.T * Sg
    Hs2, Bs2 = Htl + dH, Btl - Ws * X * dH
    dgen = 2 * nu**2 / N * K * ((Hs2 - Htl) * X).trace()
    Dbar2 = Ws * X * Hs2 + Bs2 - Ws * X * Htl - Btl
    exact("tilt: Dbar = 0 (no offset)", fro2(Dbar2), 0, simplify=sp.expand)
    est2 = nu**2 / 2 * K * (Qg * (Hs2 - Htl).T * (Hs2 - Htl)).trace()  # P_S = P_T = I
    esig = 4 * nu**2 * K / N**2 * (Sg * X * X.T).trace()
    exact("tilt: dgen^2 = 2 Esigma2 K_n (U1 with equality)", dgen**2, 2 * esig * est2)
    c = nu**2 * K / N**2 * (Sg * X * X.T).trace()
    exact(
        "tilt: dgen = 2 kappa c, c = nu^2 k tr(Sigma_T X X^T)/n^2 (>= 0 for PSD Sigma_T)",
        dgen,
        2 * kappa * c,
        simplify=sp.expand,
    )

    # -- Model A = Model C (X = 1_n^T, n = 3, k = d_A = 2) ------------------------------------------
    n3, dA = 3, 2
    exact_ac = instance(pr, f"X = 1_n^T with n = {n3}, d_A = {dA}")
    a_s, a_t, tau_s, tau_t, s_ = sp.symbols("a_S a_T tau_S tau_T s", positive=True)
    m = mat("m", dA, 1, real=True)
    bs, bt = mat("bS", dA, 1, real=True), mat("bT", dA, 1, real=True)
    X1, one = sp.ones(1, n3), sp.ones(n3, 1)
    Hs3, Ht3 = a_s / n3 * one, a_t / n3 * one
    genC = 2 * s_**2 / n3 * dA * (Ht3 * X1).trace()
    exact_ac("A = C: gen = 2 a d s^2 / n", genC, 2 * a_t * dA * s_**2 / n3)
    qt = sp.Matrix([[1 / tau_t**2]])
    offC = (
        qt * (m * X1 * Hs3 + bs - m * X1 * Ht3 - bt).T * (m * X1 * Hs3 + bs - m * X1 * Ht3 - bt)
    ).trace() / 2
    c_delta = (a_s - a_t) * m + bs - bt
    exact_ac("A = C: offset = ||c_Delta||^2 / (2 tau_T^2)", offC, fro2(c_delta) / (2 * tau_t**2))
    estC = s_**2 / 2 * dA * (qt * (Hs3 - Ht3).T * (Hs3 - Ht3)).trace()
    exact_ac(
        "A = C: estimation = da^2 d v / (2 tau_T^2)",
        estC,
        (a_s - a_t) ** 2 * dA * s_**2 / n3 / (2 * tau_t**2),
    )
    exact_ac(
        "A = C: Esigma2 = 4 tau_T^2 d s^2 / n",
        4 * s_**2 * dA / n3**2 * (sp.Matrix([[tau_t**2]]) * X1 * X1.T).trace(),
        4 * tau_t**2 * dA * s_**2 / n3,
    )

    # -- label space: exact soft-label KL <= convexity bound ----------------------------------------
    x = sp.Symbol("x", nonnegative=True)
    pr.fact(
        "per eigenvalue l = x nu^2: x - log(1 + x) <= x, i.e. log(1 + x) >= 0 for x >= 0",
        sp.log(1 + x).is_nonnegative,
    )
    pr.fact(
        "and x - log(1 + x) >= 0: value 0 at x = 0, derivative x/(1+x) >= 0",
        (x - sp.log(1 + x)).subs(x, 0) == 0
        and sp.simplify(sp.diff(x - sp.log(1 + x), x) - x / (1 + x)) == 0
        and (x / (1 + x)).is_nonnegative,
    )

    # -- weight space: Pythagoras in the top singular subspace (2 x 2, r = 1) ---------------------
    th, ph = sp.symbols("theta phi", real=True)
    s1, s2 = sp.symbols("varsigma_1 varsigma_2", nonnegative=True)
    c1, c2 = sp.symbols("c_1 c_2", real=True)
    R = lambda t: sp.Matrix([[sp.cos(t), -sp.sin(t)], [sp.sin(t), sp.cos(t)]])  # noqa: E731
    U, V = R(th), R(ph)
    A = U * sp.diag(s1, s2) * V.T
    A1 = s1 * U[:, 0] * V[:, 0].T
    Bcol = U[:, 0] * sp.Matrix([[c1, c2]])
    Brow = sp.Matrix([[c1], [c2]]) * V[:, 0].T
    for label, Bm in (("column", Bcol), ("row", Brow)):
        instance(pr, "2 x 2, r = 1")(
            f"||B - A||^2 = ||B - [A]_1||^2 + varsigma_2^2 when B is in the top-1 {label} space",
            fro2(Bm - A),
            fro2(Bm - A1) + s2**2,
            simplify=lambda e: sp.simplify(sp.trigsimp(sp.expand(e))),
        )
    vals = {th: 0.3, ph: -1.1, s1: 3.0, s2: 1.5, c1: 0.7, c2: -0.4}
    Boff = sp.Matrix([[c1], [0]]) * sp.Matrix([[1, c2]])
    resid = float((fro2(Boff - A) - fro2(Boff - A1) - s2**2).subs(vals))
    pr.counterexample(
        "off the subspace the identity fails (negative control)",
        abs(resid) > 1e-3,
        f"residual {resid:.4f}",
    )
    rng = np.random.default_rng(0)
    worst = np.inf
    for _ in range(2000):
        a = rng.normal(size=(3, 4))
        b = rng.normal(size=(3, 1)) @ rng.normal(size=(1, 4))
        tail = np.sum(np.linalg.svd(a, compute_uv=False)[1:] ** 2)
        worst = min(worst, np.sum((a - b) ** 2) - tail)
    pr.evidence(
        "Eckart–Young: no random rank-1 B beats the tail sum_{i>1} varsigma_i^2 (2000 draws)",
        worst >= 0,
        f"min margin {worst:.3g}",
    )

    # -- the second moments behind the rank profile -----------------------------------------------
    Mbar = mat("mbar", K, D, real=True)  # E_Y M(Y) = P W* X H + B, opaque
    Mrand = Mbar + P * E * H
    exact(
        "M(Y) = P Y H + B = Mbar + P E H with Mbar = P W* X H + B",
        M,
        (P * Ws * X * H + B) + P * E * H,
        simplify=entrywise(sp.expand),
    )
    C = sym_mat("c", D)  # C = Sigma_T^{-1}: A_w A_w^T = M C M^T
    exact(
        "E[A_w A_w^T] = E[M Sigma^-1 M^T] = Abar Abar^T + nu^2 tr(H Sigma^-1 H^T) P P^T",
        (Mrand * C * Mrand.T).applyfunc(lambda z: gauss_expect(z, e_vars)),
        Mbar * C * Mbar.T + nu**2 * (H * C * H.T).trace() * P * P.T,
        simplify=entrywise(sp.expand),
    )
    exact(
        "E[M^T M] = Mbar^T Mbar + nu^2 tr(P^T P) H^T H (so E[A_w^T A_w] = Sigma^-1/2 E[M^T M] Sigma^-1/2)",
        (Mrand.T * Mrand).applyfunc(lambda z: gauss_expect(z, e_vars)),
        Mbar.T * Mbar + nu**2 * fro2(P) * H.T * H,
        simplify=entrywise(sp.expand),
    )
    return pr


if __name__ == "__main__":
    run_script(run)
