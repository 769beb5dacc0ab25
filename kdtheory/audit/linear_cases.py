"""Random linear-Gaussian cases (THEORY §7) for the audit and the property tests.

Parameters come from the shared range table :data:`kdtheory.sampling.RANGES` through a
:class:`~kdtheory.sampling.Source` (numpy in the audit, hypothesis in the tests), drawn valid by
construction: the design is ``X = scale (E_1 + R)`` with ``E_1`` the all-ones first row and
``|R_ij| < 1`` (never zero, any shape, ``d > n`` included), covariances ``tau^2 (I + L L^T)``, and
projection bases ``(I + 0.2 R)[:, :r]`` (``||0.2 R||_op <= 0.8``, so of full column rank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.linear import LinearGaussianModel
from ..sampling import Source, rng_source
from .engine import Batch
from .gaussian_cases import cases_batch

__all__ = [
    "LINEAR_TEACHER_KINDS",
    "LINEAR_STUDENT_KINDS",
    "LinearCase",
    "build_linear_case",
    "linear_batch",
    "linear_tilt_witness_batch",
]

LINEAR_TEACHER_KINDS = ("gibbs", "bayes", "generic")
LINEAR_STUDENT_KINDS = (
    "kd",
    "kd-sample",
    "tilt",
    "gibbs",
    "output-projection",
    "input-projection",
    "best-rank",
    "generic",
)


@dataclass(frozen=True)
class LinearCase:
    """A drawn (model, student, teacher) triple with the parameters that built it."""

    model: LinearGaussianModel
    student: object
    teacher: object
    params: dict


def _mat(src: Source, name: str, rows: int, cols: int) -> np.ndarray:
    return np.array([[src.draw(name) for _ in range(cols)] for _ in range(rows)]).reshape(
        rows, cols
    )


def _spd(src: Source, d: int) -> np.ndarray:
    low = _mat(src, "lin_h", d, d)
    return src.draw("tau") ** 2 * (np.eye(d) + low @ low.T)


def _basis(src: Source, dim: int, r: int) -> np.ndarray:
    return (np.eye(dim) + 0.2 * _mat(src, "lin_h", dim, dim))[:, :r]


def build_linear_model(src: Source) -> LinearGaussianModel:
    """A random ``LinearGaussianModel`` (THEORY §7)."""
    k, d, n = (int(src.draw(x)) for x in ("lin_k", "lin_d", "lin_n"))
    e1 = np.zeros((d, n))
    e1[0] = 1.0
    x = src.draw("lin_x_scale") * (e1 + _mat(src, "lin_x", d, n))
    return LinearGaussianModel(X=x, W_star=_mat(src, "lin_w", k, d), nu=src.draw("lin_nu"))


def build_linear_case(
    src: Source,
    teacher_kinds=LINEAR_TEACHER_KINDS,
    student_kinds=LINEAR_STUDENT_KINDS,
) -> LinearCase:
    """Draw a linear-Gaussian model with a teacher and a student of the given kinds."""
    model = build_linear_model(src)
    k, d = model.k, model.d
    tk = src.choose(teacher_kinds)
    if tk == "gibbs":
        tp = {"gamma": src.draw("gamma"), "lam": src.draw("lam"), "M0": _mat(src, "m0", k, d)}
        teacher = model.gibbs(**tp)
    elif tk == "bayes":
        tp = {"lam": src.draw("lam"), "temperature": src.draw("temperature")}
        teacher = model.bayes_teacher(**tp)
    else:
        tp = {
            "H": _mat(src, "lin_h", model.n, d),
            "B": _mat(src, "b", k, d),
            "Sigma": _spd(src, d),
        }
        teacher = model.kernel(**tp)
    sk = src.choose(student_kinds)
    if sk in ("kd", "kd-sample"):
        sp_ = {
            "alpha": src.draw("alpha"),
            "gamma": src.draw("gamma"),
            "lam": src.draw("lam"),
            "M0": _mat(src, "m0", k, d),
        }
        student = model.kd_student(teacher, teacher_sample=(sk == "kd-sample"), **sp_)
    elif sk == "tilt":
        sp_ = {"kappa": src.draw("kappa")}
        student = model.tilt_student(teacher, **sp_)
    elif sk == "gibbs":
        sp_ = {"gamma": src.draw("gamma"), "lam": src.draw("lam"), "M0": _mat(src, "m0", k, d)}
        student = model.gibbs(**sp_)
    elif sk == "output-projection":
        r = src.choose(list(range(k + 1)))
        sp_ = {"U": _basis(src, k, r)}
        student = model.output_projection_student(teacher, **sp_)
    elif sk == "input-projection":
        r = src.choose(list(range(d + 1)))
        sp_ = {"V": _basis(src, d, r)}
        student = model.input_projection_student(teacher, **sp_)
    elif sk == "best-rank":
        sp_ = {"r": src.choose(list(range(min(k, d) + 1)))}
        student = model.best_rank_student(teacher, **sp_)
    else:
        sp_ = {
            "P": _mat(src, "lin_h", k, k),
            "H": _mat(src, "lin_h", model.n, d),
            "B": _mat(src, "b", k, d),
            "Sigma": _spd(src, d),
        }
        student = model.kernel(**sp_)
    params = {
        "model": {"X": model.X.tolist(), "W_star": model.W_star.tolist(), "nu": model.nu},
        "teacher": {"kind": tk, **_plain(tp)},
        "student": {"kind": sk, **_plain(sp_)},
    }
    return LinearCase(model=model, student=student, teacher=teacher, params=params)


def _plain(d: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def linear_batch(rng: np.random.Generator, size: int) -> Batch:
    """``size`` random linear-Gaussian cases with their exact theorem values."""
    src = rng_source(rng)
    return cases_batch(build_linear_case(src) for _ in range(size))


def linear_tilt_witness_batch(rng: np.random.Generator, size: int) -> Batch:
    """Tilt students (THEORY §7, :meth:`LinearGaussianModel.tilt_student`) with ``kappa`` drawn from
    ``RANGES["kappa"]`` (both signs): the log-likelihood ratio is ``lambda* g`` per dataset with
    ``lambda* = kappa n / 2`` and ``KL_Y ∝ sigma_Y^2``, so the Donsker–Varadhan and the
    Cauchy–Schwarz steps are both equalities and ``|dgen| = U1`` (the upper side for ``kappa > 0``,
    the lower side for ``kappa < 0``)."""
    src = rng_source(rng)
    return cases_batch(build_linear_case(src, LINEAR_TEACHER_KINDS, ("tilt",)) for _ in range(size))
