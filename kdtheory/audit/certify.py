"""``kdtheory audit --certified``: re-evaluate each claim's tightest case (and counterexample) in
arb ball arithmetic (:mod:`kdtheory.certified`).

Inputs of the ball evaluation, per claim:

* claims registered with :func:`register_ball_inputs` recompute their theorem values in ball
  arithmetic from the case's parameter record (every recorded float an exact point): the
  models' array code and compiled formulas run on arb balls -- Model A's values (``U1``,
  ``U0``, ``L``, ``U-joint`` and its lower side with the exact CGF at the case's ``theta``,
  ``U-gamma``, ``L-gamma``, ``S-smooth`` at the case's ``rho``), U0's ``E_D`` (a perturbation
  bound around its closed form, or arb's rigorous integration where the angle drops out or
  ``d = 1``: :func:`~kdtheory.audit.witness_balls.u0_expectation_ball`), the bump loss
  (``U-uniform@bump``, ``S-smooth@bump``), the ball kernel of ``S`` (the non-central chi-square
  probability as a Poisson series with a rigorous tail bound), the memoriser, the scalar laws
  of Lemma SG, the Gaussian pairs of Lemma DV (``arb_mat``), U1 on Model C for a tilt student
  (THEORY §7 trace forms in ``arb_mat``), and the counterexamples of the negative controls
  N1-N7 (THEORY §8) from their search points (Model A, the memoriser, the quadratic gap; N5's
  ``eta_c`` bracketed in arb); a parameter the statement is read at (``eta``, ``c``,
  ``theta``, ``rho``) is an exact point.  An equality witness (THEORY §6.4, tilt student) gives
  a slack ball around 0 that shrinks with the precision: "equal within the ball".  A value a
  hook's code computes in floats, or does not enclose (U0's ``E_D`` for ``d >= 2`` with both
  ``c_Delta`` and ``a_S - a_T`` nonzero; U1@linear for a student that is not a tilt), is not
  counted as recomputed;
* every other recorded value is the recorded double with a ball of radius
  ``POINT_RTOL |x| + POINT_ATOL`` = the audit's tolerances :data:`kdtheory.theorems.base.RTOL`
  (1e-9, relative) and :data:`~kdtheory.theorems.base.ATOL` (1e-12, absolute: it covers values
  recorded near zero, e.g. products that underflowed to subnormals): the accuracy the audit
  itself trusts a computed value to -- a stated allowance, not a rigorous bound.

What a verdict rests on is part of its label:

* every input recomputed in ball arithmetic from the case parameters: the ball verdict of
  :func:`kdtheory.certified.certify` as it is -- ``certified``, ``violated``, ``equal within the
  ball``, ``undecided``;
* some input taken from the record with an allowance: ``holds beyond the input allowance``,
  ``fails beyond the input allowance`` (the slack keeps its sign for every input within the
  allowance; rigorous only if the recorded doubles are that accurate), ``equal within the input
  allowance``, or ``undecided`` (e.g. a case recorded at ratio 1 up to rounding).  Such a case is
  never called plainly "certified".

Every result says which inputs were recomputed and which were taken from the record
(``inputs``), whether all were recomputed (``recomputed``) and the largest relative allowance
given to a recorded input (``allowance``, ``None`` when there is none).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from ..certified import CERTIFIED, EQUAL, UNDECIDED, VIOLATED, certify, require_flint
from ..theorems.base import ATOL, RTOL, Status
from .engine import AuditReport, Claim, ClaimResult, claims

__all__ = [
    "POINT_RTOL",
    "HOLDS_BEYOND_ALLOWANCE",
    "FAILS_BEYOND_ALLOWANCE",
    "EQUAL_WITHIN_ALLOWANCE",
    "register_ball_inputs",
    "certify_case",
    "certify_result",
    "certify_report",
    "certified_ok",
    "table_with_certified",
    "TABLE_LEGEND",
]

#: claim id -> (``f(params record, prec) -> dict of arb values``, ``{name: relative radius}``)
_BALL_INPUTS: dict[str, tuple[Callable[[dict, int], dict], dict[str, float]]] = {}

#: relative radius of the ball around a recorded double value (the audit's tolerance)
POINT_RTOL = RTOL
#: absolute radius added to it (the audit's absolute tolerance)
POINT_ATOL = ATOL

#: verdicts of a case with an input taken from the record (a double with an allowance) rather
#: than recomputed in ball arithmetic: never plainly "certified" (see the module doc)
HOLDS_BEYOND_ALLOWANCE = "holds beyond the input allowance"
FAILS_BEYOND_ALLOWANCE = "fails beyond the input allowance"
EQUAL_WITHIN_ALLOWANCE = "equal within the input allowance"
_ON_RECORDED_INPUTS = {
    CERTIFIED: HOLDS_BEYOND_ALLOWANCE,
    VIOLATED: FAILS_BEYOND_ALLOWANCE,
    EQUAL: EQUAL_WITHIN_ALLOWANCE,
    UNDECIDED: UNDECIDED,
}
#: verdicts that say the statement fails at the case (``certified_ok``)
_FAILS = (VIOLATED, FAILS_BEYOND_ALLOWANCE)


def register_ball_inputs(
    claim_ids, fn: Callable[[dict, int], dict], tolerances: dict[str, float] | None = None
) -> None:
    """Register, for the claims ``claim_ids``, how to recompute theorem values in ball arithmetic
    from a case's parameter record (``fn(params, prec) -> {name: arb}``).

    ``tolerances`` gives recorded values that ``fn`` does not recompute (e.g. a quadrature
    result) a ball of that relative radius: their numerical method's tolerance, not a rigorous
    bound, and the certified result says so."""
    for cid in [claim_ids] if isinstance(claim_ids, str) else claim_ids:
        if cid in _BALL_INPUTS:
            raise ValueError(f"ball inputs for claim {cid!r} are already registered")
        _BALL_INPUTS[cid] = (fn, dict(tolerances or {}))


def _balls(values: dict) -> dict:
    """The entries of ``values`` that are arb balls: a value a hook's code computed in floats is
    not a recomputation and keeps the recorded double with its allowance."""
    arb = require_flint().arb
    out = {}
    for k, v in values.items():
        if isinstance(v, np.ndarray) and v.dtype == object and v.size == 1:
            v = v.item()  # a one-case array of the array code
        if isinstance(v, arb):
            out[k] = v
    return out


def _model_a(params: dict) -> tuple:
    """``(m, n, s, student, teacher)`` of a Model A record, every float an exact arb point."""
    from .gaussian_cases import record_triple
    from .witness import point

    m, n, s, *kernels = record_triple(params, num=point)
    return m, n, s, tuple(kernels[:3]), tuple(kernels[3:])


def _gaussian_mean_balls(params: dict, prec: int) -> dict:
    """Model A (THEORY §6): ``dgen``, ``gen_S``, ``gen_T``, ``K_n``, ``Esigma2`` as arb balls
    from the drawn constructor parameters (every recorded float is an exact point), by the
    array code on balls (:func:`~kdtheory.audit.witness_balls.gaussian_mean_exact`)."""
    from .witness import point
    from .witness_balls import gaussian_mean_exact

    return _balls(gaussian_mean_exact(params, point))


def _central_balls(params: dict, prec: int) -> dict:
    """Theorem L (THEORY §4) on Model A: the Model A values, and ``eta``, ``c`` -- the case's
    own parameters (exact points: any ``eta > 0`` and ``c`` at which the statement is read)."""
    from .witness import point

    return {**_gaussian_mean_balls(params, prec), "eta": point(params["eta"]),
            "c": point(params["c"])}  # fmt: skip


def _joint_balls(side: str):
    """U-joint (THEORY §3, §6.5): the Model A values and ``Lambda(+-theta)`` of the exact CGF
    (the array kernel on balls) at the case's ``theta`` (an exact point: every ``theta > 0``
    gives a valid bound, the audit's is the optimiser)."""
    from ..models import gaussian_cgf as carr
    from .claims_lower import _teacher_cgf_params
    from .witness import point

    sign, key = (1, "Lambda_T") if side == "upper" else (-1, "Lambda_T_neg")

    def fn(params: dict, prec: int) -> dict:
        m, n, s, _, teacher = _model_a(params)
        theta = point(params["theta"])
        _, *rest = _teacher_cgf_params(m, n, s, teacher)
        lam = carr._centred_cgf(sign * theta, *rest)
        return _balls({**_gaussian_mean_balls(params, prec), "theta": theta, key: lam})

    return fn


def _sub_gamma_balls(side: str):
    """U-gamma / L-gamma (THEORY §3, §6.5): the Model A values and the sub-gamma constants
    ``V_g``, ``b_g`` where the array kernel computes them on balls (``b_g`` is not yet: it keeps
    its allowance)."""
    from .claims_lower import sub_gamma_extra

    def fn(params: dict, prec: int) -> dict:
        m, n, s, student, teacher = _model_a(params)
        extra = sub_gamma_extra(side)(m, n, s, student, teacher)
        return _balls({**_gaussian_mean_balls(params, prec), **extra})

    return fn


def _smoothing_balls(params: dict, prec: int) -> dict:
    """Theorem S' on Model A (THEORY §5, §6.6): its symbols at the case's radius ``rho`` (an
    exact point) by the array code on balls."""
    from .witness import point
    from .witness_balls import _smoothing_values

    m, n, s, student, teacher = _model_a(params)
    return _balls(_smoothing_values(m, n, s, student, teacher, point(params["rho"])))


def _memoriser_balls(params: dict, prec: int) -> dict:
    """The memoriser (THEORY §8 N2): gen, K_n from the compiled formulas on balls."""
    from ..formulas import memoriser as fm
    from ..models import memoriser as ma
    from .witness import point

    keys = ("M", "n", "p_S", "p_T")
    values = ma._theorem_values(*(point(params[k]) for k in keys))
    # the Hoeffding proxy of a gap in [0, 1] (an exact constant of the formula table)
    return _balls({**values, "sigma_bar": fm.compiled("uniform_proxy").arb()})


def _scalar_law_balls(record: dict, prec: int) -> dict:
    """Lemma SG (THEORY §2): the law's CGF, mean and proxy from the compiled formulas on balls."""
    from ..models import scalar_laws as laws
    from .witness import point

    kind = record["kind"]
    params = {k: point(record[k]) for k in laws.LAWS[kind]}
    kernel = {"gaussian": laws._gaussian, "bernoulli": laws._bernoulli, "uniform": laws._uniform}
    return _balls(kernel[kind](point(record["t"]), **params))


def _dv_balls(record: dict, prec: int) -> dict:
    """Lemma DV (THEORY §2) on a Gaussian pair with the case's quadratic ``f`` (recorded ``a``,
    ``B``: exact points), by the definitional closed forms in ``arb_mat``."""
    from .witness import point
    from .witness_balls import dv_pair_values

    return dv_pair_values(record, point, record["f"]["a"], record["f"]["B"])


def _linear_balls(params: dict, prec: int) -> dict:
    """U1 on Model C (THEORY §7): a tilt student's case recomputed by the definitional trace
    forms in ``arb_mat`` (:func:`~kdtheory.audit.witness_balls.linear_tilt_exact`); the other
    student kinds are not recomputed yet (their values keep the allowance)."""
    from .witness import point
    from .witness_balls import linear_tilt_exact

    if params.get("student", {}).get("kind") != "tilt":
        return {}
    return _balls(linear_tilt_exact(params, point))


def _at_rising_precision(fn, prec: int, max_prec: int = 1024):
    """``fn()`` at ``prec``, ``2 prec``, ... bits until it is not ``None`` (a ball computed at a
    higher precision encloses the same exact value)."""
    import flint

    old = flint.ctx.prec
    try:
        p = prec
        while p <= max_prec:
            flint.ctx.prec = p
            out = fn()
            if out is not None:
                return out
            p *= 2
    finally:
        flint.ctx.prec = old
    return None


def _u0_balls(params: dict, prec: int) -> dict:
    """Theorem U0 on Model A: the Model A values and ``E_D`` enclosed in arb
    (:func:`~kdtheory.audit.witness_balls.u0_expectation_ball`: a perturbation bound around the
    closed form, or arb's rigorous integration); where it is not enclosed (``d >= 2`` with both
    ``c_Delta`` and ``a_S - a_T`` nonzero) ``E_D`` keeps the quadrature's stated accuracy."""
    from .witness import point
    from .witness_balls import u0_expectation_ball

    e_d = _at_rising_precision(lambda: u0_expectation_ball(params, point), prec)
    return {**_gaussian_mean_balls(params, prec), **({"E_D": e_d} if e_d is not None else {})}


# -- the negative controls (THEORY §8): the search points of claims_negative, in arb -------------
def _search_model_a(pt: dict) -> tuple:
    """``(m, n, s, student, teacher)`` of a Model A search point of
    :func:`kdtheory.families.gaussian_mean_pair` (a generic or Gibbs teacher; the
    student ``a_T + kappa``, ``b_T - kappa m + db``, ``tau_factor tau_T``, or the tilt when there
    is no ``db``), every recorded float an exact point, by the array code on balls."""
    from ..models import gaussian_mean as arr
    from .witness import point

    d, n = int(pt["d"]), int(pt["n"])

    def vec(x):
        return np.array([point(x)] * d, dtype=object)

    m, s = vec(pt["m"]), point(pt["s"])
    if "gamma_T" in pt:
        teacher = arr._gibbs(point(pt["gamma_T"]), point(pt["lam_T"]), vec(pt["m0_T"]))
    else:
        teacher = (point(pt["a_T"]), vec(pt["b_T"]), point(pt["tau_T"]))
    student = None
    if "kappa" in pt and "db" not in pt:
        student = arr._tilt_student(*teacher, point(pt["kappa"]), m)
    elif "kappa" in pt:
        a_t, b_t, tau_t = teacher
        k = point(pt["kappa"])
        student = (a_t + k, b_t - k * m + vec(pt["db"]), tau_t * point(pt["tau_factor"]))
    return m, n, s, student, teacher


def _negative_gaussian_balls(pt: dict, prec: int) -> dict:
    """N1, N3, N4 (THEORY §8): Theorem U's symbols, ``d``, ``n``, ``s``, the reversed divergence
    ``K_rev = KL(T || S)`` and the student's proxy ``Esigma2_S``."""
    from ..models import gaussian_mean as arr
    from .witness import point

    m, n, s, student, teacher = _search_model_a(pt)
    d = m.shape[-1]
    values = arr._theorem_values(m, n, s, *student, *teacher)
    values.update(
        d=point(d),
        n=point(n),
        s=s,
        K_rev=arr._theorem_values(m, n, s, *teacher, *student)["K_n"],
        Esigma2_S=arr._conditional_proxy(student[2], n, s, d),
    )
    return _balls(values)


#: half-widths (in ulps of the double ``eta_c``) tried in turn to bracket ``eta_c`` in arb
_ETA_BRACKETS = (1, 16, 2**20, 2**40)


def _eta_central_ball(gen_t, cgf):
    """``eta_c`` (THEORY §4) as a ball: the double root of the array code bracketed by two
    points ``lo < hi`` with ``h(lo) <= 0 < h(hi)`` decided in arb, ``h(eta) = -gen_T +
    Lambda(-eta)/eta`` (increasing, ``eta_c`` its root); ``None`` if no bracket is decided."""
    from ..models import gaussian_cgf as carr
    from .witness import point

    a, tau, ck2, d, n, v = cgf
    root = float(carr._eta_central(float(gen_t.mid()), *(float(x.mid()) for x in (a, tau, ck2)),
                                   d, n, float(v.mid())))  # fmt: skip
    for k in _ETA_BRACKETS:
        lo, hi = point(root - k * math.ulp(root)), point(root + k * math.ulp(root))
        h_lo, h_hi = (_centred_cgf_ball(-x, *cgf) / x - gen_t for x in (lo, hi))
        if h_lo <= 0 and h_hi > 0:
            return lo.union(hi)
    return None


def _centred_cgf_ball(theta, a, tau, ck2, d, n, v):
    """``Lambda(theta)`` (THEORY §3, §6.5) at a ball ``theta``: the compiled formulas
    ``centred_cgf_sd`` (absent for ``n = 1``) and ``centred_cgf_gauss`` on balls, where ``theta``
    lies inside the CGF's domain ``(cgf_lo, cgf_hi)`` for certain; NaN otherwise."""
    from ..models import gaussian_cgf as carr

    if not (carr._f("cgf_lo").arb(a, tau, n, v) < theta < carr._f("cgf_hi").arb(a, tau, v)):
        return theta * 0 + float("nan")
    lam = carr._f("centred_cgf_gauss").arb(theta, a, tau, ck2, d, n, v)
    if n > 1:
        lam += carr._f("centred_cgf_sd").arb(theta, a, tau, ck2, d, n, v)
    return lam


def _negative_central_balls(pt: dict, prec: int) -> dict:
    """N5 (THEORY §8): Theorem U's symbols and ``eta = eta_fraction * eta_c`` with ``eta_c``
    enclosed in arb (:func:`_eta_central_ball`)."""
    from ..models import gaussian_mean as arr
    from .claims_lower import _teacher_cgf_params
    from .witness import point

    m, n, s, student, teacher = _search_model_a(pt)
    gen_t, *cgf = _teacher_cgf_params(m, n, s, teacher)
    eta_c = _eta_central_ball(gen_t, cgf)
    values = arr._theorem_values(m, n, s, *student, *teacher)
    if eta_c is not None:
        values["eta"] = point(pt["eta_fraction"]) * eta_c
    return _balls(values)


def _negative_centred_balls(pt: dict, prec: int) -> dict:
    """N6 (THEORY §8): ``Lambda(-eta)`` at ``eta = edge_fraction * (-cgf_lo)`` (a ball)."""
    from ..models import gaussian_cgf as carr
    from .claims_lower import _teacher_cgf_params
    from .witness import point

    m, n, s, _, teacher = _search_model_a(pt)
    _, *cgf = _teacher_cgf_params(m, n, s, teacher)
    a, tau, _, _, n_, v = cgf
    eta = -point(pt["edge_fraction"]) * carr._f("cgf_lo").arb(a, tau, n_, v)
    return _balls({"Lambda_T_neg": _centred_cgf_ball(-eta, *cgf), "theta": eta})


def _negative_memoriser_balls(pt: dict, prec: int) -> dict:
    """N2 (THEORY §8): the memoriser at ``M = round(10^log10_M)`` (the search's integer), and
    ``n``."""
    from .witness import point

    record = {**pt, "M": round(10 ** pt["log10_M"])}
    return {**_memoriser_balls(record, prec), "n": point(pt["n"])}


def _negative_quadratic_balls(pt: dict, prec: int) -> dict:
    """N7 (THEORY §8): ``g = w^2``, ``P = N(0, sd^2)``, ``Q = N(m, sd^2)``: ``E_Q g``, ``E_P g`` and
    ``KL(Q || P)`` from the compiled Gaussian-pair formulas (``E_Q_f`` with ``a = 0``, ``B = 2``),
    ``Var_P g`` from the Gaussian-moment engine (``E_P g^2 - (E_P g)^2``, derived on first use)."""
    from ..formulas import gaussian_pair as gp
    from .witness import point

    m, sd = point(pt["m"]), point(pt["sd"])
    var = sd * sd
    e_f = gp.compiled("E_Q_f").arb
    zero, two = 0 * m, 2 + 0 * m
    return {
        "E_Q_f": e_f(zero, two, m, var),
        "mean": e_f(zero, two, zero, var),
        "var_f": _quadratic_variance().arb(sd),
        "KL": gp.compiled("KL").arb(m, var, zero, var),
    }


@functools.cache
def _quadratic_variance():
    """``Var g`` of ``g = w^2``, ``w ~ N(0, sd^2)``, derived by the exact Gaussian-moment engine
    and compiled (``2 sd^4``)."""
    import sympy as sp

    from ..formulas.compile import compile_expr
    from ..formulas.engine import gaussian_expectation

    sd, xi = sp.Symbol("sd", positive=True), sp.Symbol("xi", real=True)
    g = (sd * xi) ** 2
    var = gaussian_expectation(sp.expand(g * g), [xi]) - gaussian_expectation(g, [xi]) ** 2
    return compile_expr(sp.factor(var), (sd,))


# -- the bump loss (THEORY §6 A-bump) and the ball kernel (THEORY §5) ----------------------------
def _bump_balls(smoothing: bool):
    """U-uniform@bump / S-smooth@bump: Model A's kernels with the bump loss of width ``omega``
    (the compiled formulas of :mod:`kdtheory.formulas.bump` on balls): ``gen``, the Hoeffding
    proxy ``(1 + C)^2/4`` and ``sigma_bar`` its square root, Model A's ``K_n``; with ``smoothing``, Theorem S''s
    symbols at the case's ``rho`` (an exact point)."""
    from ..models import bump as barr
    from .sharpness_cases import smoothing_symbol_values
    from .witness import point

    def fn(params: dict, prec: int) -> dict:
        m, n, s, student, teacher = _model_a(params)
        omega = point(params["omega"])
        d = m.shape[-1]

        def gen(k):
            return barr._gen(*k, m, n, s, omega)

        proxy = barr._hoeffding_proxy(d, s, omega)
        gen_s, gen_t = gen(student), gen(teacher)
        vals = {"dgen": gen_s - gen_t, "gen_S": gen_s, "gen_T": gen_t, "Esigma2": proxy,
                "sigma_bar": proxy.sqrt()}  # fmt: skip
        if smoothing:
            rho = point(params["rho"])
            vals.update(smoothing_symbol_values(m, n, s, student, teacher, rho, gen,
                                                lambda k: proxy))  # fmt: skip
        # K_n is Model A's (the kernels are Model A's; THEORY §6.2)
        return {**_gaussian_mean_balls(params, prec), **_balls(vals)}

    return fn


def _ball_kernel_balls(params: dict, prec: int) -> dict:
    """Theorem S on uniform-ball kernels (THEORY §5, §6 A-bump): the student rebuilt from the
    recorded draws (radius ``f R_T``, centre ``b_T + t (R_T - R_S) u``, ``u`` the normalised
    direction; for ``0 < f <= 1``, ``0 <= t <= 1`` it lies in the teacher's ball exactly, so
    ``K_n = d log(R_T/R_S)``), ``gen = Psi(v_tr) - Psi(v_te)`` with the non-central chi-square
    probability as a rigorous Poisson series (the registered function
    ``ball_average``'s arb implementation, :func:`kdtheory.formulas.ncx2.ball_average_arb`), ``G1``, ``beta`` of the bump loss (``C`` the compiled ``gap_floor``),
    ``rho = R_T``.  ``{}`` (all recorded) if the draws do not place the student inside or the
    series gives up."""
    from ..formulas.ncx2 import ball_average_arb
    from ..models import ball_kernel as ball
    from ..models import bump as barr
    from ..models import gaussian_mean as arr
    from .witness import point

    mod, draws = params["model"], params["draws"]
    frac, shift = draws["radius_fraction"], draws["shift_fraction"]
    if not (0 < frac <= 1 and 0 <= shift <= 1):
        return {}
    d, n = int(mod["d"]), int(mod["n"])

    def vec(xs):
        return np.array([point(x) for x in xs], dtype=object)

    s, omega, m = point(mod["s"]), point(mod["omega"]), vec(mod["m"])
    a, b_t, r_t = point(params["teacher"]["a"]), vec(params["teacher"]["b"]), point(
        params["teacher"]["radius"])  # fmt: skip
    direction = vec(draws["direction"])
    norm2 = sum(direction * direction)
    unit = direction / norm2.sqrt() if norm2 > 0 else vec([1.0] + [0.0] * (d - 1))
    r_s = point(frac) * r_t
    b_s = b_t + point(shift) * (r_t - r_s) * unit

    def gen(b, radius):
        c = arr._offset(a, b, m)
        ck2 = sum(c * c)
        try:
            psi = [ball_average_arb(ck2, radius, omega, barr._f(k)(a, 0, n, s), d)
                   for k in ("v_tr", "v_te")]  # fmt: skip
        except ValueError:  # the series needs more terms than allowed: leave the case recorded
            return None
        return psi[0] - psi[1]

    gen_s, gen_t = gen(b_s, r_s), gen(b_t, r_t)
    if gen_s is None or gen_t is None:
        return {}
    c = barr._gap_floor(d, s, omega)
    sig2 = omega * omega + s * s
    return _balls({
        "dgen": gen_s - gen_t,
        "gen_S": gen_s,
        "gen_T": gen_t,
        # the student's ball lies in the teacher's (above): K_n depends on the radii only
        "K_n": ball._distillation_divergence(a, b_t, r_s, a, b_t, r_t, d),
        "G1": (1 / omega + c / sig2.sqrt()) * (-point(0.5)).exp(),
        "beta": 1 / (omega * omega) + c / sig2,
        "rho": r_t,
        "sigma_bar": (1 + c) / 2,
    })  # fmt: skip


register_ball_inputs("U1", _gaussian_mean_balls)
#: U0's E_D is a polar quadrature at epsrel 1e-11 (THEORY §6.4); 1e-10 is its stated accuracy,
#: used where the hook does not enclose it
register_ball_inputs("U0", _u0_balls, {"E_D": 1e-10})
register_ball_inputs("L", _central_balls)
register_ball_inputs("U-joint", _joint_balls("upper"))
register_ball_inputs("U-joint-lower", _joint_balls("lower"))
register_ball_inputs("U-gamma", _sub_gamma_balls("upper"))
register_ball_inputs("L-gamma", _sub_gamma_balls("lower"))
register_ball_inputs("S-smooth", _smoothing_balls)
register_ball_inputs("U-uniform@memoriser", _memoriser_balls)
register_ball_inputs("lemma-SG", _scalar_law_balls)
register_ball_inputs("lemma-DV", _dv_balls)
register_ball_inputs("U1@linear", _linear_balls)
register_ball_inputs(("N1", "N3", "N4"), _negative_gaussian_balls)
register_ball_inputs("N2", _negative_memoriser_balls)
register_ball_inputs("N5", _negative_central_balls)
register_ball_inputs("N6", _negative_centred_balls)
register_ball_inputs("N7", _negative_quadratic_balls)
register_ball_inputs("U-uniform@bump", _bump_balls(smoothing=False))
register_ball_inputs("S-smooth@bump", _bump_balls(smoothing=True))
register_ball_inputs("S", _ball_kernel_balls)


def _point(x: float):
    """A recorded double as ``(mid, rad)`` with radius ``POINT_RTOL |x| + POINT_ATOL`` (exact if
    infinite)."""
    if not math.isfinite(x):
        return x
    return (x, POINT_RTOL * abs(x) + POINT_ATOL)


def certify_case(claim: Claim, case: dict, prec: int = 128, max_prec: int = 1024) -> dict:
    """Certify one recorded case (``{"params", "values", ...}``) of ``claim`` (see the module
    doc for where each input comes from and how that qualifies the verdict); the result's
    ``inputs``, ``recomputed`` and ``allowance`` say it."""
    hook, tolerances = _BALL_INPUTS.get(claim.id, (None, {}))
    recorded = {k: float(v) for k, v in case["values"].items()}
    symbols = set(claim.theorem.symbols)
    params = case.get("params")
    names: list[str] = []
    if hook is not None and isinstance(params, dict):
        flint = require_flint()
        old, flint.ctx.prec = flint.ctx.prec, prec  # what the hook encloses at ``prec``
        try:
            names = sorted(symbols & set(hook(params, prec)))
        except KeyError:  # a record without the parameters to recompute from: all recorded
            names = []
        finally:
            flint.ctx.prec = old
    inputs = {}
    allowances: list[float] = []
    notes = []
    if names:
        notes.append(f"recomputed in ball arithmetic from the case parameters: {', '.join(names)}")
    for k in sorted(symbols - set(names)):
        if k not in recorded:
            continue
        if k in tolerances:
            inputs[k] = (recorded[k], tolerances[k] * abs(recorded[k]))
            allowances.append(tolerances[k])
            notes.append(
                f"{k}: recorded value +/- {tolerances[k]:g} relative (its numerical tolerance, "
                "not a rigorous bound)"
            )
        else:
            inputs[k] = _point(recorded[k])
            allowances.append(POINT_RTOL)
    rest = sorted(symbols - set(names) - set(tolerances))
    if rest:
        notes.append(
            f"{', '.join(rest)}: recorded doubles +/- {POINT_RTOL:g} relative "
            f"+ {POINT_ATOL:g} absolute"
        )

    def values(p):
        if not names:
            return inputs
        balls = hook(params, p)
        return {**inputs, **{k: balls[k] for k in names}}

    res = certify(claim.theorem, values, prec=prec, max_prec=max_prec).to_json()
    recomputed = not inputs
    if not recomputed:
        res["verdict"] = _ON_RECORDED_INPUTS[res["verdict"]]
    return {
        **res,
        "inputs": "; ".join(notes),
        "recomputed": recomputed,
        "allowance": max(allowances) if allowances else None,
    }


def certify_result(claim: Claim, result: ClaimResult) -> dict:
    """Certified verdicts of the result's tightest case and counterexample (when present)."""
    out = {}
    for key in ("tightest", "counterexample"):
        case = getattr(result, key)
        if case is not None:
            out[key] = certify_case(claim, case)
    return out


def certify_report(report: AuditReport) -> None:
    """Add ``extra["certified"]`` to every result of ``report`` (in place)."""
    require_flint()
    by_id = {c.id: c for c in claims()}
    for r in report.results:
        r.extra["certified"] = certify_result(by_id[r.id], r)


def certified_ok(report: AuditReport) -> bool:
    """No true claim's tightest case is violated (in ball arithmetic, or beyond the input
    allowance), and every false claim's counterexample is."""
    for r in report.results:
        cert = r.extra.get("certified", {})
        if r.status == Status.FALSE.value:
            cx = cert.get("counterexample")
            if cx is not None and cx["verdict"] not in _FAILS:
                return False
        elif cert.get("tightest", {}).get("verdict") in _FAILS:
            return False
    return True


def _summary(cert: dict) -> str:
    parts = []
    for key, label in (("tightest", "tightest"), ("counterexample", "cx")):
        if key in cert:
            c = cert[key]
            v = c["verdict"]
            if v == EQUAL:
                v += f" (rad {c['slack_rad']:.1e})"
            elif c.get("allowance") is not None and v != UNDECIDED:
                v += f" ({c['allowance']:.0e} rel.)"
            parts.append(f"{label}: {v}")
    return "; ".join(parts) if parts else "-"


#: printed under the table: what each kind of verdict rests on
TABLE_LEGEND = (
    f"ball arithmetic: '{CERTIFIED}' / '{VIOLATED}' / '{EQUAL}' when every input was recomputed "
    "in ball arithmetic from the case parameters;\n"
    f"'{HOLDS_BEYOND_ALLOWANCE}' / '{FAILS_BEYOND_ALLOWANCE}' when some inputs are recorded "
    "doubles taken +/- the stated relative allowance\n"
    f"(the audit's tolerance, {POINT_RTOL:g} relative + {POINT_ATOL:g} absolute; "
    "a quadrature's stated accuracy): not a rigorous bound."
)


def table_with_certified(report: AuditReport) -> str:
    """:meth:`AuditReport.table` with a ``ball arithmetic`` column appended and, under it,
    :data:`TABLE_LEGEND` (what the verdicts rest on)."""
    lines = report.table().split("\n")
    head, rule, rows = lines[0], lines[1], lines[2:]
    width = max(len(x) for x in lines)
    title = "ball arithmetic"
    col = [title, "-" * len(title)]
    col += [_summary(r.extra.get("certified", {})) for r in report.results]
    out = [head.ljust(width) + "  " + col[0], rule.ljust(width) + "  " + "-" * max(map(len, col))]
    out += [row.ljust(width) + "  " + c for row, c in zip(rows, col[2:], strict=True)]
    return "\n".join(out) + "\n\n" + TABLE_LEGEND
