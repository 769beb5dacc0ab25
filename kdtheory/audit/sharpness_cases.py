"""Random cases of the sharpness models (THEORY §5, §6 A-bump): uniform-ball kernels with the
bump loss and the bump-loss Gaussian-kernel model, drawn from the shared range table
(:data:`kdtheory.sampling.RANGES`) through a :class:`~kdtheory.sampling.Source`, so that the
audit (numpy) and the property tests (hypothesis) draw the same cases; and the same laws drawn
and evaluated as array code (:func:`ball_array_batch`, :func:`bump_array_batch`, ...), whose
per-case records replay through the scalar models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..models import ball_kernel as _ball
from ..models import bump as _bump
from ..models import gaussian_mean as _arr
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
from ..symbols import POSITIVE_INTEGER, check_in
from .array_cases import draw_column
from .engine import Batch, LazyRecords
from .gaussian_cases import cases_batch, gaussian_mean_array_batch, replay_gaussian_mean_case

__all__ = [
    "BallCase",
    "BALL_DRAWS",
    "build_ball_case",
    "build_bump_case",
    "ball_batch",
    "ball_array_batch",
    "replay_ball_case",
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


#: the parameters :func:`build_ball_case` draws to place the student's ball inside the teacher's
#: (``direction``: the un-normalised d-vector drawn from ``RANGES["b"]``)
BALL_DRAWS = ("radius_fraction", "shift_fraction", "direction")


def _inner_ball(b_t, r_t, frac, shift, direction):
    """``(b_S, R_S)``: radius ``R_S = frac R_T`` and centre ``b_T + shift (R_T - R_S) u`` with
    ``u = direction / ||direction||`` (``e_1`` if ``direction = 0``), so that
    ``||b_S - b_T|| + R_S <= R_T``.  One case (``b_t``, ``direction`` of shape ``(d,)``) or a batch
    (``(size, d)``, the scalars of shape ``(size,)``)."""
    d = np.shape(direction)[-1]
    norm = np.sqrt(np.sum(direction * direction, axis=-1, keepdims=True))
    unit = np.where(norm > 0, direction / np.where(norm > 0, norm, 1.0), np.eye(d)[0])
    r_s = r_t * frac
    return b_t + np.expand_dims(shift * (r_t - r_s), -1) * unit, r_s


def build_ball_case(src: Source, d: int | None = None) -> BallCase:
    """A uniform-ball model (d = 1 or 2) with a teacher ball of radius ``R_T`` and a student ball
    inside it for every dataset: same ``a``, radius ``R_S = f R_T``, centre shifted by at most
    ``R_T - R_S`` (so ``K_n = d log(R_T/R_S)`` is finite).  ``params["draws"]`` keeps the drawn
    ``f``, shift fraction and direction (:data:`BALL_DRAWS`), so :func:`replay_ball_case` can
    replay the record through this builder."""
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
    b_s, r_s = _inner_ball(b_t, r_t, frac, shift, direction)
    r_s = float(r_s)
    teacher = model.kernel(a, b_t, r_t)
    student = model.kernel(a, b_s, r_s)
    params = {
        "model": {**mp, "m": model.m.tolist()},
        "teacher": {"a": a, "b": b_t.tolist(), "radius": r_t},
        "student": {"a": a, "b": b_s.tolist(), "radius": r_s},
        "draws": {
            "radius_fraction": frac,
            "shift_fraction": shift,
            "direction": direction.tolist(),
        },
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


def ball_batch(rng: np.random.Generator, size: int, extra: Callable | None = None) -> Batch:
    """``size`` uniform-ball cases with the exact values of Theorem S's symbols (a Python loop over
    :func:`build_ball_case`; :func:`ball_array_batch` is the array-code twin the audit runs)."""
    src = rng_source(rng)
    return cases_batch((build_ball_case(src) for _ in range(size)), extra)


class _BallRecords(LazyRecords):
    """Per-case records of :func:`ball_array_batch`, built on access, in the format of
    ``build_ball_case(...).params``."""

    def __init__(self, blocks: list[dict], size: int):
        self._blocks = blocks
        self._starts = np.array([b["start"] for b in blocks], dtype=int)
        self._size = size

    def _record(self, i: int) -> dict:
        b = self._blocks[int(np.searchsorted(self._starts, i, side="right")) - 1]
        j = i - b["start"]

        def x(name):
            v = b[name][j]
            return v.tolist() if np.ndim(v) else float(v)

        return {
            "model": {
                "d": b["d"],
                "n": int(b["n"][j]),
                "s": x("s"),
                "m": x("m"),
                "omega": x("omega"),
            },
            "teacher": {"a": x("a"), "b": x("b_t"), "radius": x("r_t")},
            "student": {"a": x("a"), "b": x("b_s"), "radius": x("r_s")},
            "draws": {k: x(k) for k in BALL_DRAWS},
        }


def ball_array_batch(rng: np.random.Generator, size: int, d: int | None = None) -> Batch:
    """``size`` uniform-ball cases with the law of :func:`build_ball_case` (d = 1 or 2 uniform,
    unless ``d`` is given; the ranges of :data:`~kdtheory.sampling.RANGES`), drawn and evaluated
    as array code: one block per dimension (multinomial block sizes, so as a multiset the batch
    has the law of ``size`` independent draws) and the closed forms of
    :mod:`kdtheory.models.ball_kernel` (THEORY §5, §6 A-bump) on each block.  ``Batch.params``
    is a lazy sequence of records in the format of ``build_ball_case(...).params``;
    :func:`replay_ball_case` rebuilds case ``i`` with the scalar builder and model."""
    size = int(check_in("size", size, POSITIVE_INTEGER))
    dims = (1, 2) if d is None else (int(check_in("d", d, POSITIVE_INTEGER)),)
    counts = rng.multinomial(size, np.full(len(dims), 1.0 / len(dims)))
    values: dict[str, np.ndarray] = {}
    blocks, start = [], 0
    for dim, cnt in zip(dims, counts, strict=True):
        if cnt == 0:
            continue
        p = {k: draw_column(rng, k, cnt) for k in ("n", "s")}
        p["m"] = draw_column(rng, "m", (cnt, dim))
        p["omega"], p["a"] = draw_column(rng, "omega", cnt), draw_column(rng, "a", cnt)
        p["b_t"], p["r_t"] = draw_column(rng, "b", (cnt, dim)), draw_column(rng, "ball_radius", cnt)
        for k in ("radius_fraction", "shift_fraction"):
            p[k] = draw_column(rng, k, cnt)
        p["direction"] = draw_column(rng, "b", (cnt, dim))
        p["b_s"], p["r_s"] = _inner_ball(
            p["b_t"], p["r_t"], p["radius_fraction"], p["shift_fraction"], p["direction"]
        )
        vals = _ball._theorem_values(
            *(p[k] for k in ("m", "n", "s", "omega", "a", "b_s", "r_s", "a", "b_t", "r_t"))
        )
        for k, v in vals.items():
            values.setdefault(k, np.empty(size))[start : start + cnt] = v
        blocks.append({"start": start, "d": dim, **p})
        start += cnt
    return Batch(_BallRecords(blocks, size), values)


def replay_ball_case(record: dict) -> BallCase:
    """The scalar case of a :func:`ball_array_batch` (or :func:`build_ball_case`) record:
    :func:`build_ball_case` fed the recorded draws in its order, so the scalar builder places the
    student and :class:`~kdtheory.models.ball_kernel.BallKernelModel` evaluates it."""
    mod, draws = record["model"], record["draws"]
    queues = {
        "n": [mod["n"]],
        "s": [mod["s"]],
        "m": list(mod["m"]),
        "omega": [mod["omega"]],
        "a": [record["teacher"]["a"]],
        "b": [*record["teacher"]["b"], *draws["direction"]],
        "ball_radius": [record["teacher"]["radius"]],
        "radius_fraction": [draws["radius_fraction"]],
        "shift_fraction": [draws["shift_fraction"]],
    }

    def draw(name):
        if not queues.get(name):
            raise ValueError(f"ball record has no (further) value for {name!r}")
        return queues[name].pop(0)

    def choose(options):
        if mod["d"] not in options:
            raise ValueError(f"recorded dimension {mod['d']!r} is not one of {list(options)}")
        return mod["d"]

    return build_ball_case(Source(draw=draw, choose=choose))


def bump_batch(rng: np.random.Generator, size: int, extra: Callable | None = None) -> Batch:
    """``size`` bump-loss cases with the exact values of the upper bounds' symbols."""
    src = rng_source(rng)
    return cases_batch((build_bump_case(src) for _ in range(size)), extra)


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
    ``proxy(kernel)`` (the conditional proxy under a kernel) of the host model.  Generic over
    floats and arb balls (the compiled formulas dispatch on the number type)."""
    a_t, b_t, tau_t = teacher
    if isinstance(tau_t, (float, np.floating, np.ndarray)):
        t_rho = (a_t, b_t, np.hypot(tau_t, rho))
    else:  # a ball: hypot's overflow guard is not needed
        t_rho = (a_t, b_t, (tau_t * tau_t + rho * rho).sqrt())
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
            return _bump._gen(*k, m, n, s, omega)

        proxy = _bump._hoeffding_proxy(d, s, omega)
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
