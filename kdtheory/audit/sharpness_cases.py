"""Random cases of the sharpness models (THEORY §5, §6 A-bump): uniform-ball kernels with the
bump loss and the bump-loss Gaussian-kernel model, drawn from the shared range table
(:data:`kdtheory.sampling.RANGES`) through a :class:`~kdtheory.sampling.Source`, so that the
audit (numpy) and the property tests (hypothesis) draw the same cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..models import bump_arrays as _barr
from ..models import gaussian_mean_arrays as _arr
from ..models.ball_kernel import BallKernelModel
from ..models.bump import BumpLossModel
from ..sampling import (
    RANGES,
    STUDENT_KINDS,
    TEACHER_KINDS,
    GaussianMeanCase,
    Source,
    build_gaussian_mean_case,
    rng_source,
)
from .array_cases import draw_column
from .engine import Batch
from .gaussian_cases import gaussian_mean_array_batch, replay_gaussian_mean_case

__all__ = [
    "BallCase",
    "build_ball_case",
    "build_bump_case",
    "ball_batch",
    "bump_batch",
    "draw_radius",
    "draw_radii",
    "smoothing_array_batch",
    "smoothing_symbol_values",
    "bump_array_batch",
    "replay_bump_case",
]


@dataclass(frozen=True)
class BallCase:
    """A drawn uniform-ball (model, student, teacher) triple with the parameters that built it."""

    model: BallKernelModel
    student: object
    teacher: object
    params: dict


def build_ball_case(src: Source, d: int | None = None) -> BallCase:
    """A uniform-ball model (d = 1 or 2) with a teacher ball of radius ``R_T`` and a student ball
    inside it for every dataset: same ``a``, radius ``R_S = f R_T``, centre shifted by at most
    ``R_T - R_S`` (so ``K_n = d log(R_T/R_S)`` is finite)."""
    d = int(src.choose((1, 2))) if d is None else d
    mp = {
        "d": d,
        "n": int(src.draw("n")),
        "s": src.draw("s"),
        "m": src.vector("m", d),
        "omega": src.draw("omega"),
    }
    model = BallKernelModel(**mp)
    a, b_t, r_t = src.draw("a"), np.array(src.vector("b", d)), src.draw("ball_radius")
    frac, shift = src.draw("radius_fraction"), src.draw("shift_fraction")
    direction = np.array(src.vector("b", d))
    norm = float(np.linalg.norm(direction))
    direction = direction / norm if norm > 0 else np.eye(d)[0]
    r_s = r_t * frac
    b_s = b_t + shift * (r_t - r_s) * direction
    teacher = model.kernel(a, b_t, r_t)
    student = model.kernel(a, b_s, r_s)
    params = {
        "model": {**mp, "m": model.m.tolist()},
        "teacher": {"a": a, "b": b_t.tolist(), "radius": r_t},
        "student": {"a": a, "b": b_s.tolist(), "radius": r_s},
    }
    return BallCase(model, student, teacher, params)


def build_bump_case(
    src: Source, teacher_kinds=TEACHER_KINDS, student_kinds=STUDENT_KINDS, d: int | None = None
) -> GaussianMeanCase:
    """A Model A case (:func:`~kdtheory.sampling.build_gaussian_mean_case`) with the bump loss of
    width ``omega`` (THEORY §6 A-bump)."""
    case = build_gaussian_mean_case(src, teacher_kinds, student_kinds, d=d)
    omega = src.draw("omega")
    gm = case.model
    model = BumpLossModel(d=gm.d, n=gm.n, s=gm.s, m=gm.m, beta=omega)
    params = {**case.params, "model": {**case.params["model"], "beta (width)": omega}}
    return GaussianMeanCase(model=model, student=case.student, teacher=case.teacher, params=params)


def _batch(cases, extra: Callable | None) -> Batch:
    params, rows = [], []
    for case in cases:
        vals = case.model.theorem_values(case.student, case.teacher)
        if extra is not None:
            vals.update(extra(case))
        params.append(case.params)
        rows.append(vals)
    keys = rows[0].keys() if rows else []
    return Batch(params, {k: np.array([r[k] for r in rows], dtype=float) for k in keys})


def ball_batch(rng: np.random.Generator, size: int, extra: Callable | None = None) -> Batch:
    """``size`` uniform-ball cases with the exact values of Theorem S's symbols."""
    src = rng_source(rng)
    return _batch((build_ball_case(src) for _ in range(size)), extra)


def bump_batch(rng: np.random.Generator, size: int, extra: Callable | None = None) -> Batch:
    """``size`` bump-loss cases with the exact values of the upper bounds' symbols."""
    src = rng_source(rng)
    return _batch((build_bump_case(src) for _ in range(size)), extra)


def draw_radius(rng: np.random.Generator) -> float:
    """A smoothing radius: 0 with probability 1/10, else log-uniform on ``RANGES["rho"]``."""
    return 0.0 if rng.uniform() < 0.1 else RANGES["rho"].draw(rng)


def draw_radii(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` radii with the law of :func:`draw_radius` (0 w.p. 1/10, else ``RANGES["rho"]``)."""
    zero = rng.uniform(size=size) < 0.1
    return np.where(zero, 0.0, draw_column(rng, "rho", size))


# -- vectorised batches (array closed forms, THEORY §5, §6.6, §6 A-bump) -------------------------
def smoothing_symbol_values(m, n, s, student, teacher, rho, gen, proxy) -> dict:
    """Theorem S' symbols at radius ``rho`` for arrays of kernels ``(a, b, tau)``: the smoothed
    teacher ``T^rho = (a_T, b_T, hypot(tau_T, rho))`` (THEORY §5), ``gen(kernel)`` and
    ``proxy(kernel)`` (the conditional proxy under a kernel) of the host model."""
    a_t, b_t, tau_t = teacher
    t_rho = (a_t, b_t, np.hypot(tau_t, rho))
    gen_t = gen(teacher)
    parts = _arr._divergence_parts(m, n, s, *student, *t_rho)
    return {
        "gen_S": gen(student),
        "gen_T": gen_t,
        "Sh_rho": gen(t_rho) - gen_t,
        "Esigma2_rho": proxy(t_rho),
        "K_n_rho": parts["offset"] + parts["estimation"] + parts["spread"],
        "rho": rho,
    }


def smoothing_array_batch(rng: np.random.Generator, size: int) -> Batch:
    """Model A cases of :func:`gaussian_mean_array_batch` (all teacher/student kinds) with the
    values of Theorem S' (THEORY §5, §6.6) at a radius drawn by :func:`draw_radii`, as array
    code; record ``i`` holds ``rho`` (replay: ``model.smoothing_values(student, teacher, rho)``)."""

    def extra(m, n, s, student, teacher):
        d = m.shape[-1]
        return smoothing_symbol_values(
            m,
            n,
            s,
            student,
            teacher,
            draw_radii(rng, len(n)),
            gen=lambda k: _arr._gen(k[0], n, s, d),
            proxy=lambda k: _arr._conditional_proxy(k[2], n, s, d),
        )

    return gaussian_mean_array_batch(rng, size, extra=extra, record_keys=("rho",))


def bump_array_batch(rng: np.random.Generator, size: int, smoothing: bool = False) -> Batch:
    """Model A-bump cases (THEORY §6 A-bump) as array code: the Model A cases of
    :func:`gaussian_mean_array_batch` with a bump width ``omega ~ RANGES["omega"]`` (the law of
    :func:`build_bump_case`) and the exact values of the upper bounds' symbols (``sigma_bar`` and
    ``Esigma2`` from the Hoeffding proxy); with ``smoothing``, also Theorem S' at a radius drawn
    by :func:`draw_radii`.  Record ``i`` holds ``omega`` (and ``rho``):
    :func:`replay_bump_case` rebuilds it."""

    def extra(m, n, s, student, teacher):
        d = m.shape[-1]
        omega = draw_column(rng, "omega", len(n))

        def gen(k):
            return _barr._gen(*k, m, n, s, omega)

        proxy = _barr._hoeffding_proxy(d, s, omega)
        gen_s, gen_t = gen(student), gen(teacher)
        vals = {
            "omega": omega,
            "dgen": gen_s - gen_t,
            "gen_S": gen_s,
            "gen_T": gen_t,
            "Esigma2": proxy,
            "sigma_bar": np.sqrt(proxy),
        }
        if smoothing:
            rho = draw_radii(rng, len(n))
            vals.update(
                smoothing_symbol_values(m, n, s, student, teacher, rho, gen, lambda k: proxy)
            )
        return vals

    keys = ("omega", "rho") if smoothing else ("omega",)
    return gaussian_mean_array_batch(rng, size, extra=extra, record_keys=keys)


def replay_bump_case(record: dict) -> GaussianMeanCase:
    """The scalar Model A-bump case of a :func:`bump_array_batch` record (Model A's replay, then
    :class:`BumpLossModel` with width ``record["omega"]``)."""
    case = replay_gaussian_mean_case(record)
    gm = case.model
    model = BumpLossModel(d=gm.d, n=gm.n, s=gm.s, m=gm.m, beta=record["omega"])
    return GaussianMeanCase(model=model, student=case.student, teacher=case.teacher, params=record)
