"""Parameter ranges and case builders shared by the audit (numpy draws) and the property tests
(hypothesis draws): one table of ranges, two sources of randomness (STYLE.md: draw valid
parameters directly, log-uniform scales, rather than filtering).

A *source* is a pair of callables ``(draw(name) -> float, choose(options) -> option)``;
:func:`rng_source` makes one from a numpy Generator and :mod:`kdtheory.strategies` one from a
hypothesis ``draw``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Range",
    "RANGES",
    "Source",
    "rng_source",
    "build_gaussian_mean_case",
    "GaussianMeanCase",
]


@dataclass(frozen=True)
class Range:
    """A sampling range: uniform, log-uniform (``log=True``) or integer."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def draw(self, rng: np.random.Generator) -> float:
        if self.integer:
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def strategy(self):
        """The hypothesis strategy of the same range (imported lazily: hypothesis is a test extra)."""
        from hypothesis import strategies as st

        if self.integer:
            return st.integers(int(self.low), int(self.high))
        if self.log:
            return st.floats(math.log(self.low), math.log(self.high)).map(math.exp)
        return st.floats(self.low, self.high, allow_nan=False, allow_infinity=False)


#: Ranges of every randomly drawn parameter, by name.
RANGES: dict[str, Range] = {
    "d": Range(1, 4, integer=True),
    "n": Range(1, 60, integer=True),
    "s": Range(0.05, 20.0, log=True),
    "m": Range(-3.0, 3.0),
    "gamma": Range(0.01, 100.0, log=True),
    "lam": Range(0.01, 100.0, log=True),
    "m0": Range(-2.0, 2.0),
    "temperature": Range(0.05, 50.0, log=True),
    "a": Range(-1.5, 2.0),
    "b": Range(-2.0, 2.0),
    "tau": Range(0.05, 5.0, log=True),
    "tau_factor": Range(0.2, 5.0, log=True),
    "alpha": Range(0.0, 1.0),
    "kappa": Range(-2.0, 2.0),
    "kappa_pos": Range(0.01, 2.0, log=True),
    "eta_fraction": Range(0.01, 0.999, log=True),
    "log10_M": Range(0.0, 6.0),
    "p": Range(0.0, 1.0),
    # linear-Gaussian model (THEORY §7): sizes, design entries and scale, W*, noise, matrix entries
    "lin_k": Range(1, 4, integer=True),
    "lin_d": Range(1, 4, integer=True),
    "lin_n": Range(1, 12, integer=True),
    "lin_x": Range(-0.9, 0.9),
    "lin_x_scale": Range(0.1, 10.0, log=True),
    "lin_w": Range(-3.0, 3.0),
    "lin_nu": Range(0.05, 20.0, log=True),
    "lin_h": Range(-1.0, 1.0),
    # sharpness (THEORY §5) and the bounded-loss models (§6 A-bump, uniform-ball kernels)
    "omega": Range(0.1, 10.0, log=True),
    "rho": Range(1e-3, 10.0, log=True),
    "rho_ratio": Range(0.01, 100.0, log=True),
    "G1": Range(1e-3, 100.0, log=True),
    "beta": Range(1e-3, 100.0, log=True),
    "sigma": Range(1e-3, 100.0, log=True),
    "K_n": Range(1e-4, 100.0, log=True),
    "ball_radius": Range(0.01, 3.0, log=True),
    "radius_fraction": Range(0.05, 1.0),
    "shift_fraction": Range(0.0, 1.0),
}


@dataclass(frozen=True)
class Source:
    draw: Callable[[str], float]
    choose: Callable[[Sequence], object]

    def vector(self, name: str, d: int) -> list[float]:
        return [self.draw(name) for _ in range(d)]


def rng_source(rng: np.random.Generator) -> Source:
    return Source(
        draw=lambda name: RANGES[name].draw(rng),
        choose=lambda options: options[int(rng.integers(len(options)))],
    )


TEACHER_KINDS = ("gibbs", "bayes", "generic")
STUDENT_KINDS = ("kd", "kd-sample", "tilt", "gibbs", "generic", "rescaled")


@dataclass(frozen=True)
class GaussianMeanCase:
    """A drawn (model, student, teacher) triple with the parameters that built it."""

    model: object
    student: object
    teacher: object
    params: dict


def build_gaussian_mean_case(
    src: Source, teacher_kinds=TEACHER_KINDS, student_kinds=STUDENT_KINDS, d: int | None = None
) -> GaussianMeanCase:
    """Draw a Gaussian mean model (THEORY §6) with a teacher and a student of the given kinds."""
    from .models.gaussian_mean import GaussianMeanModel

    d = int(src.draw("d")) if d is None else d
    model = GaussianMeanModel(d=d, n=int(src.draw("n")), s=src.draw("s"), m=src.vector("m", d))
    tk = src.choose(teacher_kinds)
    if tk == "gibbs":
        tp = {"gamma": src.draw("gamma"), "lam": src.draw("lam"), "m0": src.vector("m0", d)}
        teacher = model.gibbs(**tp)
    elif tk == "bayes":
        tp = {"temperature": src.draw("temperature")}
        teacher = model.tempered_bayes(**tp)
    else:
        tp = {"a": src.draw("a"), "b": src.vector("b", d), "tau": src.draw("tau")}
        teacher = model.kernel(**tp)
    sk = src.choose(student_kinds)
    if sk in ("kd", "kd-sample"):
        sp_ = {
            "alpha": src.draw("alpha"),
            "gamma": src.draw("gamma"),
            "lam": src.draw("lam"),
            "m0": src.vector("m0", d),
        }
        student = model.kd_student(teacher, teacher_sample=(sk == "kd-sample"), **sp_)
    elif sk == "tilt":
        sp_ = {"kappa": src.draw("kappa")}
        student = model.tilt_student(teacher, **sp_)
    elif sk == "gibbs":
        sp_ = {"gamma": src.draw("gamma"), "lam": src.draw("lam"), "m0": src.vector("m0", d)}
        student = model.gibbs(**sp_)
    elif sk == "rescaled":
        sp_ = {"tau_factor": src.draw("tau_factor")}
        student = model.kernel(teacher.a, teacher.b, teacher.tau * sp_["tau_factor"])
    else:
        sp_ = {"a": src.draw("a"), "b": src.vector("b", d), "tau": src.draw("tau")}
        student = model.kernel(**sp_)
    params = {
        "model": {"d": d, "n": model.n, "s": model.s, "m": model.m.tolist()},
        "teacher": {"kind": tk, **tp},
        "student": {"kind": sk, **sp_},
    }
    return GaussianMeanCase(model=model, student=student, teacher=teacher, params=params)
