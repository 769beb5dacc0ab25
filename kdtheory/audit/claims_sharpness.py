"""Audit claims for the sharpness-aware bounds (THEORY §5, §6.6, §6 A-bump).

* ``S``: Theorem S on uniform-ball kernels with the bump loss (bounded teacher support).
* ``S-regime``: the local tightness regime, symbolic form: for random ``(G1, beta, sigma, rho,
  K_n)`` the sign of (Theorem S bound - Theorem U bound with global proxy sigma) equals the sign
  of ``rho - rho_0^loc``; equality witnesses at ``rho = rho_0^loc``.
* ``S-smooth``: Theorem S' on the Gaussian mean model at random radii; witnesses: tilts of the
  smoothed teacher (equality).
* ``S-smooth-regime``: the smoothing tightness regime on random Gaussian mean models:
  ``B(rho) < B(0)`` iff ``0 < rho < rho_0^sm`` (closed form), ``B(rho_0^sm) = B(0)``.
* ``S-smooth@bump``, ``U-uniform@bump``: Theorem S' and Theorem U-uniform on the bump-loss model,
  whose loss lies in ``[0, 1)`` so the Hoeffding proxy ``(1 + C)^2/4`` is valid under any law.

The regime claims report ``cases`` (comparisons made) and ``violations`` = sign disagreements.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..models import gaussian_mean as _arr
from ..models import gaussian_smoothing as _sarr
from ..sampling import RANGES, TEACHER_KINDS, Source, build_gaussian_mean_case, rng_source
from ..theorems.registry import theorem
from ..theorems.sharpness import tightness_radius_local_value
from .array_cases import ColumnRecords, draw_column
from .engine import (
    HOLDS,
    INCONCLUSIVE,
    REFUTED,
    Batch,
    Claim,
    ClaimResult,
    SamplingClaim,
    block_streams,
    claim_stream,
    register_claim,
)
from .gaussian_cases import gaussian_mean_array_batch
from .sharpness_cases import (
    ball_array_batch,
    bump_array_batch,
    smoothing_array_batch,
    smoothing_symbol_values,
)
from .witness import WitnessOutcome, judge_witnesses
from .witness_balls import (
    local_regime_deviation,
    smoothed_tilt_exact,
    smoothing_regime_deviation,
)

__all__ = [
    "RegimeClaim",
    "RegimeOutcome",
    "LOCAL_KINDS",
    "local_regime_case",
    "local_regime_columns",
    "local_regime_check",
    "smoothing_regime_check",
    "smoothing_regime_array_check",
]

_S, _S_SMOOTH, _U_UNIFORM = theorem("S"), theorem("S-smooth"), theorem("U-uniform")

#: a bound difference within this many ulps of the bounds' scale is "unresolved" in double
#: precision: it is reported, never counted as an agreement or a disagreement
_RESOLUTION = 64 * np.finfo(float).eps


# -- the regime claim type ------------------------------------------------------------------------
@dataclass
class RegimeOutcome:
    """The result of a tightness-regime check (cases = comparisons made); ``witness``: the
    judgement of its equality witnesses (:mod:`kdtheory.audit.witness`)."""

    cases: int
    disagreements: int
    unresolved: int
    witness: WitnessOutcome
    counterexample: dict | None = None
    counts: dict = field(default_factory=dict)

    @property
    def witness_ok(self) -> bool:
        return self.witness.ok

    @property
    def witness_ratio(self) -> float | None:
        return self.witness.ratio

    @property
    def witness_cases(self) -> int:
        return self.witness.cases

    def merge(self, other: RegimeOutcome) -> RegimeOutcome:
        """Both outcomes as one (counts added; the first counterexample kept)."""
        counts = dict(self.counts)
        for k, v in other.counts.items():
            counts[k] = counts.get(k, 0) + v
        return RegimeOutcome(
            cases=self.cases + other.cases,
            disagreements=self.disagreements + other.disagreements,
            unresolved=self.unresolved + other.unresolved,
            witness=self.witness.merge(other.witness),
            counterexample=self.counterexample or other.counterexample,
            counts=counts,
        )


@dataclass
class RegimeClaim(Claim):
    """A claim that a bound is strictly tighter exactly on one side of a radius: ``check(rng,
    size) -> RegimeOutcome`` compares signs; the verdict is computed from the outcome (refuted on
    any sign disagreement; inconclusive if the equality witnesses miss or more than 1 % of the
    comparisons are ties at double precision)."""

    check: Callable[[np.random.Generator, int], RegimeOutcome] | None = None
    cases: int = 1000

    def planned_cases(self, scale: float = 1.0) -> int:
        return max(1, int(round(self.cases * scale)))

    def run(self, seed, scale: float = 1.0) -> ClaimResult:
        t0 = time.perf_counter()
        out = None
        for rng, size in block_streams(claim_stream(seed, self.id), self.planned_cases(scale)):
            part = self.check(rng, size)
            out = part if out is None else out.merge(part)
        if out.disagreements:
            verdict = REFUTED
        elif out.cases == 0 or not out.witness_ok or out.unresolved > out.cases // 100:
            verdict = INCONCLUSIVE  # no cases, witnesses missed, or > 1 % ties at float precision
        else:
            verdict = HOLDS
        counts = ", ".join(f"{k} {v}" for k, v in out.counts.items())
        return self._result(
            verdict=verdict,
            cases=out.cases,
            violations=out.disagreements,
            max_ratio=None,
            counterexample=out.counterexample,
            witness_ratio=out.witness_ratio,
            witness_cases=out.witness_cases,
            seconds=time.perf_counter() - t0,
            notes=(out.witness.note() + "; " if not out.witness_ok else "")
            + f"{self.description}; sign disagreements {out.disagreements}, unresolved "
            f"{out.unresolved}; {counts}",
            extra={
                "sign_disagreements": out.disagreements,
                "unresolved": out.unresolved,
                **out.counts,
                "witness": out.witness.to_json(),
            },
        )


def _sign_outcome(diff, expected_sign, scale):
    """Per comparison: resolved?, disagreement?"""
    resolved = np.abs(diff) > _RESOLUTION * scale
    return resolved, resolved & (np.sign(diff) != expected_sign)


# -- S-regime: the symbolic (local) form ----------------------------------------------------------
#: the kinds of local-regime cases, drawn uniformly: ``affine`` has ``beta = 0``, ``critical``
#: has ``G1 = 0`` (teacher at a critical point)
LOCAL_KINDS = ("generic", "generic", "generic", "affine", "critical")


def local_regime_case(src: Source) -> dict:
    """Random ``(G1, beta, sigma, K_n, rho_ratio)``; one case in five has ``beta = 0`` (affine gap)
    and one in five ``G1 = 0`` (teacher at a critical point)."""
    kind = src.choose(LOCAL_KINDS)
    return {
        "kind": kind,
        "G1": 0.0 if kind == "critical" else src.draw("G1"),
        "beta": 0.0 if kind == "affine" else src.draw("beta"),
        "sigma": src.draw("sigma"),
        "K_n": src.draw("K_n"),
        "rho_ratio": src.draw("rho_ratio"),
    }


def local_regime_columns(rng: np.random.Generator, size: int) -> dict:
    """``size`` cases with the law of :func:`local_regime_case`, as arrays (``kind`` a string
    array)."""
    kind = np.array(LOCAL_KINDS)[rng.integers(len(LOCAL_KINDS), size=size)]
    return {
        "kind": kind,
        "G1": np.where(kind == "critical", 0.0, draw_column(rng, "G1", size)),
        "beta": np.where(kind == "affine", 0.0, draw_column(rng, "beta", size)),
        **{k: draw_column(rng, k, size) for k in ("sigma", "K_n", "rho_ratio")},
    }


def local_regime_check(rng: np.random.Generator, size: int) -> RegimeOutcome:
    """``sign(S bound - U bound) == sign(rho - rho_0^loc)`` at ``rho = rho_ratio * rho_0^loc``
    (THEORY §5), and ``S bound = U bound`` at ``rho = rho_0^loc`` (witnesses); the cases of
    :func:`local_regime_columns` (array code)."""
    v = local_regime_columns(rng, size)
    recs = ColumnRecords(v)
    rho0 = tightness_radius_local_value(v["G1"], v["beta"], v["sigma"])
    rho = rho0 * v["rho_ratio"]
    b_u = _U_UNIFORM.rhs_value(dgen=0.0, sigma_bar=v["sigma"], K_n=v["K_n"])
    b_s = _S.rhs_value(dgen=0.0, G1=v["G1"], beta=v["beta"], rho=rho, K_n=v["K_n"])
    resolved, bad = _sign_outcome(b_s - b_u, np.sign(rho - rho0), np.maximum(b_s, b_u))
    cx = None
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        cx = {**recs[i], "rho": float(rho[i]), "rho_0": float(rho0[i]), "S": float(b_s[i])}
        cx["U"] = float(b_u[i])
    w_ratio = _S.rhs_value(dgen=0.0, G1=v["G1"], beta=v["beta"], rho=rho0, K_n=v["K_n"]) / b_u
    witness = judge_witnesses(w_ratio, lambda i, num: local_regime_deviation(recs[i], num))
    return RegimeOutcome(
        cases=size,
        disagreements=int(np.count_nonzero(bad)),
        unresolved=int(np.count_nonzero(~resolved)),
        witness=witness,
        counterexample=cx,
        counts={
            r"S tighter ($\rho < \rho_0$)": int(np.count_nonzero(resolved & (b_s < b_u))),
            r"U tighter ($\rho > \rho_0$)": int(np.count_nonzero(resolved & (b_s > b_u))),
        },
    )


# -- S-smooth-regime: the Gaussian mean model form ------------------------------------------------
def smoothing_regime_check(rng: np.random.Generator, size: int, radii: int = 4) -> RegimeOutcome:
    """On ``size`` random Gaussian mean models: ``sign(B(rho) - B(0)) == sign(rho - rho_0^sm)`` at
    ``radii`` radii ``rho = rho_ratio * rho_0^sm`` (``rho_ratio * tau_T`` when ``rho_0^sm = 0``,
    i.e. ``tau_S <= tau_T``), and ``|B(rho_0^sm) - B(0)| <= 1e-10`` times the bound's scale
    ``|gen_T| + |B(0) - gen_T|`` (THEORY §6.6)."""
    src = rng_source(rng)
    n_cmp = n_bad = n_unres = n_zero = 0
    w_ratios, w_records = [], []
    cx = None
    for _ in range(size):
        case = build_gaussian_mean_case(src)
        m, st, te = case.model, case.student, case.teacher
        r0 = m.tightness_radius(st, te)
        b0 = m.smoothing_bound(st, te, 0.0)
        gen_t = m.gen(te)
        scale = abs(gen_t) + abs(b0 - gen_t)
        n_zero += r0 == 0.0
        unit = r0 if r0 > 0 else te.tau
        rho = np.array([unit * src.draw("rho_ratio") for _ in range(radii)])
        diff = m.smoothing_bound(st, te, rho) - b0
        resolved, bad = _sign_outcome(diff, np.sign(rho - r0), scale)
        n_cmp += radii
        n_unres += int(np.count_nonzero(~resolved))
        if np.any(bad) and cx is None:
            i = int(np.flatnonzero(bad)[0])
            cx = {"params": case.params, "rho": float(rho[i]), "rho_0": r0, "B(rho)-B(0)": diff[i]}
        n_bad += int(np.count_nonzero(bad))
        if r0 > 0:
            w_ratios.append(1.0 + (m.smoothing_bound(st, te, r0) - b0) / scale)
            w_records.append(case.params)
    return RegimeOutcome(
        cases=n_cmp,
        disagreements=n_bad,
        unresolved=n_unres,
        witness=judge_witnesses(
            w_ratios, lambda i, num: smoothing_regime_deviation(w_records[i], num)
        ),
        counterexample=cx,
        counts={"models": size, r"models with $\rho_0 = 0$ ($\tau_S \le \tau_T$)": int(n_zero)},
    )


def smoothing_regime_array_check(
    rng: np.random.Generator, size: int, radii: int = 4
) -> RegimeOutcome:
    """:func:`smoothing_regime_check` as array code: ``size`` Model A cases of
    :func:`gaussian_mean_array_batch` (all teacher/student kinds), ``rho_0^sm`` by the vectorised
    Lambert W of :mod:`kdtheory.models.gaussian_smoothing`, ``B(rho)`` from Theorem S''s sympy
    statement on arrays (THEORY §5, §6.6).  Record ``i`` holds ``rho_0`` and the radii
    ``rho_1..rho_k``; the scalar model replays it."""

    def extra(m, n, s, student, teacher):
        d, cnt = m.shape[-1], len(n)

        def bound(rho):
            vals = smoothing_symbol_values(
                m,
                n,
                s,
                student,
                teacher,
                rho,
                gen=lambda k: _arr._gen(k[0], n, s, d),
                proxy=lambda k: _arr._conditional_proxy(k[2], n, s, d),
            )
            return _S_SMOOTH.rhs_value(**vals)

        r0 = _sarr._tightness_radius(student[2], teacher[2])
        b0 = bound(np.zeros(cnt))
        gen_t = _arr._gen(teacher[0], n, s, d)
        scale = np.abs(gen_t) + np.abs(b0 - gen_t)
        out = {"rho_0": r0, "B0": b0, "scale": scale}
        unit = np.where(r0 > 0, r0, teacher[2])
        for k in range(1, radii + 1):
            rho = unit * draw_column(rng, "rho_ratio", cnt)
            out[f"rho_{k}"], out[f"diff_{k}"] = rho, bound(rho) - b0
        out["witness_dev"] = np.where(r0 > 0, (bound(r0) - b0) / scale, 0.0)
        return out

    keys = ("rho_0", *(f"rho_{k}" for k in range(1, radii + 1)))
    batch = gaussian_mean_array_batch(rng, size, extra=extra, record_keys=keys)
    v = batch.values
    r0, scale = v["rho_0"], v["scale"]
    rho = np.stack([v[f"rho_{k}"] for k in range(1, radii + 1)], axis=1)
    diff = np.stack([v[f"diff_{k}"] for k in range(1, radii + 1)], axis=1)
    resolved, bad = _sign_outcome(diff, np.sign(rho - r0[:, None]), scale[:, None])
    cx = None
    if np.any(bad):
        i, k = (int(x[0]) for x in np.nonzero(bad))
        cx = {"params": batch.params[i], "rho": float(rho[i, k]), "rho_0": float(r0[i])}
        cx["B(rho)-B(0)"] = float(diff[i, k])
    wit = r0 > 0
    idx = np.flatnonzero(wit)
    return RegimeOutcome(
        cases=int(diff.size),
        disagreements=int(np.count_nonzero(bad)),
        unresolved=int(np.count_nonzero(~resolved)),
        witness=judge_witnesses(
            1.0 + v["witness_dev"][wit],
            lambda j, num: smoothing_regime_deviation(batch.params[int(idx[j])], num),
        ),
        counterexample=cx,
        counts={
            "models": size,
            r"models with $\rho_0 = 0$ ($\tau_S \le \tau_T$)": int(np.sum(~wit)),
        },
    )


# -- Theorem S' samplers: Gaussian mean and bump-loss models ------------------------------------
def _smoothed_tilt_witness(rng: np.random.Generator, size: int) -> Batch:
    """Tilt students of the *smoothed* teacher ``T^rho`` (``kappa > 0``): equality in Theorem S'
    (Theorem U1's witness against ``T^rho``, THEORY §6.4), with ``Sh_rho = 0`` (§6.6)."""
    src = rng_source(rng)
    params, rows = [], []
    for _ in range(size):
        case = build_gaussian_mean_case(src, TEACHER_KINDS, ("tilt",))
        m, te = case.model, case.teacher
        rho, kappa = RANGES["rho"].draw(rng), src.draw("kappa_pos")
        student = m.tilt_student(m.smoothed_teacher(te, rho), kappa)
        params.append(
            {**case.params, "student": {"kind": "tilt of T^rho", "kappa": kappa}, "rho": rho}
        )
        rows.append(m.smoothing_values(student, te, rho))
    return Batch.from_rows(params, rows)


# -- the claims, in reading order -----------------------------------------------------------------
register_claim(
    SamplingClaim(
        id="S",
        theorem=_S,
        model="ball-kernel",
        description="uniform-ball teacher (support radius $\\rho$) and student inside it, bump "
        "loss (array code)",
        sampler=ball_array_batch,
        cases=100_000,
        seconds_per_case=2e-5,  # measured: ~2 s a block (the ball averages)
    )
)

register_claim(
    RegimeClaim(
        id="S-regime",
        theorem=_S,
        model="symbolic",
        description="$\\operatorname{sign}(S - U[\\sigma]) = \\operatorname{sign}(\\rho - "
        "\\rho_0^{\\mathrm{loc}})$; witnesses $\\rho = \\rho_0^{\\mathrm{loc}}$",
        check=local_regime_check,
        cases=100_000,
    )
)

register_claim(
    SamplingClaim(
        id="S-smooth",
        theorem=_S_SMOOTH,
        model="gaussian-mean",
        description="all teacher/student kinds at random radii (array code); witness: tilt of "
        "$T^\\rho$",
        sampler=smoothing_array_batch,
        cases=100_000,
        witness=_smoothed_tilt_witness,
        witness_exact=smoothed_tilt_exact,
    )
)

register_claim(
    RegimeClaim(
        id="S-smooth-regime",
        theorem=_S_SMOOTH,
        model="gaussian-mean",
        description="$B(\\rho) < B(0)$ iff $0 < \\rho < \\rho_0^{\\mathrm{sm}}$ (Lambert $W$, array "
        "code; 4 radii per model); witnesses $B(\\rho_0^{\\mathrm{sm}}) = B(0)$",
        check=smoothing_regime_array_check,
        cases=25_000,
    )
)

register_claim(
    SamplingClaim(
        id="S-smooth@bump",
        theorem=_S_SMOOTH,
        model="bump",
        description="bump loss, Hoeffding proxy $(1+C)^2/4$ under $T^\\rho$, "
        "$\\mathrm{Sh}_\\rho \\neq 0$ (array code)",
        sampler=lambda rng, size: bump_array_batch(rng, size, smoothing=True),
        cases=100_000,
    )
)

register_claim(
    SamplingClaim(
        id="U-uniform@bump",
        theorem=_U_UNIFORM,
        model="bump",
        description="loss in $[0, 1)$: $\\bar\\sigma = (1+C)/2$ (Hoeffding on the gap range "
        "$(-C, 1]$; array code)",
        sampler=bump_array_batch,
        cases=100_000,
    )
)
