"""Random linear-Gaussian cases (THEORY §7) for the audit and the property tests.

Parameters come from the shared range table :data:`kdtheory.sampling.RANGES` through a
:class:`~kdtheory.sampling.Source` (numpy in the audit, hypothesis in the tests), drawn valid by
construction: the design is ``X = scale (E_1 + R)`` with ``E_1`` the all-ones first row and
``|R_ij| < 1`` (never zero, any shape, ``d > n`` included), covariances ``tau^2 (I + L L^T)``, and
projection bases ``(I + 0.2 R)[:, :r]`` (``||0.2 R||_op <= 0.8``, so of full column rank).

Two builders with one law: :func:`build_linear_case` draws one case through a
:class:`~kdtheory.sampling.Source` and builds it with :class:`LinearGaussianModel` (the property
tests, the witnesses); :func:`linear_array_batch` draws a block of cases as arrays, groups them by
shape ``(k, d, n)`` and builds and evaluates each group as stacks of matrices with the matrix
path of :mod:`kdtheory.models.linear_matrix` (the audit's U1@linear, 1e5 cases).  Its per-case
records have the format of :func:`build_linear_case`'s and :func:`replay_linear_case` rebuilds
any of them through the model class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..formulas.linear_gaussian import compiled as _compiled
from ..models import linear_matrix as lm
from ..models.linear import (
    LinearGaussianModel,
    _spectral_gen,
    _spectral_parts,
    _spectral_proxy,
)
from ..sampling import Source, rng_source
from .engine import Batch, LazyRecords
from .gaussian_cases import _draw, cases_batch

__all__ = [
    "LINEAR_TEACHER_KINDS",
    "LINEAR_STUDENT_KINDS",
    "LinearCase",
    "build_linear_case",
    "linear_batch",
    "linear_array_batch",
    "linear_tilt_witness_batch",
    "replay_linear_case",
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


def replay_linear_case(params: dict) -> LinearCase:
    """Rebuild a case from its parameter record (as made by :func:`build_linear_case` or
    :func:`linear_array_batch`) through :class:`LinearGaussianModel`'s constructors."""
    mod, tp, sp_ = params["model"], params["teacher"], params["student"]
    model = LinearGaussianModel(X=mod["X"], W_star=mod["W_star"], nu=mod["nu"])
    args = {k: v for k, v in tp.items() if k != "kind"}
    teacher = {
        "gibbs": model.gibbs,
        "bayes": model.bayes_teacher,
        "generic": model.kernel,
    }[tp["kind"]](**args)
    args = {k: v for k, v in sp_.items() if k != "kind"}
    kind = sp_["kind"]
    if kind in ("kd", "kd-sample"):
        student = model.kd_student(teacher, teacher_sample=kind == "kd-sample", **args)
    elif kind == "tilt":
        student = model.tilt_student(teacher, **args)
    elif kind == "gibbs":
        student = model.gibbs(**args)
    elif kind == "output-projection":
        student = model.output_projection_student(teacher, **args)
    elif kind == "input-projection":
        student = model.input_projection_student(teacher, **args)
    elif kind == "best-rank":
        student = model.best_rank_student(teacher, **args)
    else:
        student = model.kernel(**args)
    return LinearCase(model=model, student=student, teacher=teacher, params=params)


# -- the vectorised sampler -----------------------------------------------------------------
#: the drawn parameters of each teacher / student kind: name -> (range name, shape); shapes in
#: the letters k, d, n (matrices), "" a scalar; ``r`` (a rank) and ``R`` (the draws of a
#: projection basis) are drawn separately
_TEACHER_DRAWS = {
    "gibbs": {"gamma": ("gamma", ""), "lam": ("lam", ""), "M0": ("m0", "kd")},
    "bayes": {"lam": ("lam", ""), "temperature": ("temperature", "")},
    "generic": {"H": ("lin_h", "nd"), "B": ("b", "kd"), "L": ("lin_h", "dd"), "tau": ("tau", "")},
}
_STUDENT_DRAWS = {
    "kd": {"alpha": ("alpha", ""), "gamma": ("gamma", ""), "lam": ("lam", ""), "M0": ("m0", "kd")},
    "tilt": {"kappa": ("kappa", "")},
    "gibbs": {"gamma": ("gamma", ""), "lam": ("lam", ""), "M0": ("m0", "kd")},
    "output-projection": {"R": ("lin_h", "kk")},
    "input-projection": {"R": ("lin_h", "dd")},
    "best-rank": {},
    "generic": {
        "P": ("lin_h", "kk"),
        "H": ("lin_h", "nd"),
        "B": ("b", "kd"),
        "L": ("lin_h", "dd"),
        "tau": ("tau", ""),
    },
}
_STUDENT_DRAWS["kd-sample"] = _STUDENT_DRAWS["kd"]
#: the largest rank each projection student draws (uniform on 0..max)
_MAX_RANK = {
    "output-projection": lambda k, d: k,
    "input-projection": lambda k, d: d,
    "best-rank": lambda k, d: min(k, d),
}


def _draw_params(rng, draws: dict, count: int, shape: dict) -> dict:
    return {
        name: _draw(rng, rng_name, (count, *(shape[c] for c in dims)))
        for name, (rng_name, dims) in draws.items()
    }


def _spd_stack(low: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``tau^2 (I + L L^T)`` (the law of :func:`_spd`)."""
    d = low.shape[-1]
    return (tau**2)[:, None, None] * (np.eye(d) + low @ lm.transpose(low))


def _basis_stack(draws: np.ndarray, r: int) -> np.ndarray:
    """``(I + 0.2 R)[:, :r]`` (the law of :func:`_basis`)."""
    return (np.eye(draws.shape[-1]) + 0.2 * draws)[..., :r]


def _take(kern: tuple, sel) -> tuple:
    return tuple(m[sel] for m in kern)


def _put(kern: tuple, sel, part: tuple) -> None:
    for m, v in zip(kern, part, strict=True):
        m[sel] = v


def _best_rank(x, w_star, nu, teacher, r: int):
    """The best fixed-subspace rank-``r`` students of a stack of teachers (THEORY §7; the stack
    form of :meth:`LinearGaussianModel.best_rank_student`): the projection onto the top-``r``
    eigenvectors of ``E[A_w A_w^T]`` (output) or ``E[A_w^T A_w]`` (whitened input), whichever
    leaves the smaller tail sum of eigenvalues (ties: output); returns the student and the side
    chosen per case."""
    _, s_out, s_in = lm.second_moments(x, w_star, nu, teacher)
    ev_out, vec_out = np.linalg.eigh(s_out)
    ev_in, vec_in = np.linalg.eigh(s_in)
    k, d = s_out.shape[-1], s_in.shape[-1]
    # eigh sorts increasingly: the tail beyond the top r are the first k - r (d - r) values
    k_out = 0.5 * np.sum(np.clip(ev_out[..., : k - r], 0.0, None), axis=-1)
    k_in = 0.5 * np.sum(np.clip(ev_in[..., : d - r], 0.0, None), axis=-1)
    output = k_out <= k_in
    top_out = vec_out[..., ::-1][..., :r]
    top_in = vec_in[..., ::-1][..., :r]
    s_o = lm.output_projection(teacher, lm.projector(top_out))
    s_i = lm.input_projection(teacher, lm.projector(top_in))
    pick = output[:, None, None]
    return tuple(np.where(pick, a, b) for a, b in zip(s_o, s_i, strict=True)), output


class _LinearRecords(LazyRecords):
    """Per-case records of :func:`linear_array_batch` in :func:`build_linear_case`'s format, built
    on access from the group arrays."""

    def __init__(self, groups: list[dict], where: np.ndarray):
        self._groups = groups
        self._where = where  # case -> (group, position in the group)
        self._size = len(where)

    def _record(self, i: int) -> dict:
        g, j = (int(x) for x in self._where[i])
        grp = self._groups[g]

        def part(side):
            kind = grp[f"{side}_kind"][j]
            params = grp[f"{side}_params"][kind]
            q = int(grp[f"{side}_pos"][j])
            return kind, {name: arr[q] for name, arr in params.items()}

        tk, tp = part("teacher")
        sk, sp_ = part("student")
        teacher = {"kind": tk}
        if tk == "generic":
            teacher.update(
                H=tp["H"], B=tp["B"], Sigma=_spd_stack(tp["L"][None], tp["tau"][None])[0]
            )
        else:
            teacher.update(tp)
        student = {"kind": sk}
        if sk in ("output-projection", "input-projection"):
            name = "U" if sk == "output-projection" else "V"
            student[name] = _basis_stack(sp_["R"], int(sp_["r"]))
        elif sk == "best-rank":
            student["r"] = int(sp_["r"])
        elif sk == "generic":
            student.update(
                P=sp_["P"], H=sp_["H"], B=sp_["B"],
                Sigma=_spd_stack(sp_["L"][None], sp_["tau"][None])[0],
            )  # fmt: skip
        else:
            student.update(sp_)
        return {
            "model": {"X": grp["X"][j].tolist(), "W_star": grp["W"][j].tolist(),
                      "nu": float(grp["nu"][j])},
            "teacher": _plain_record(teacher),
            "student": _plain_record(student),
        }  # fmt: skip


def _plain_record(rec: dict) -> dict:
    out = {}
    for k, v in rec.items():
        if isinstance(v, np.ndarray):
            out[k] = v.tolist() if v.ndim else v.item()
        elif isinstance(v, np.generic):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def linear_array_batch(
    rng: np.random.Generator,
    size: int,
    teacher_kinds=LINEAR_TEACHER_KINDS,
    student_kinds=LINEAR_STUDENT_KINDS,
) -> Batch:
    """``size`` random linear-Gaussian cases (THEORY §7) drawn and evaluated as stacks of matrices.

    The law of :func:`linear_batch` (shapes ``k, d, n``, the teacher kind and the student kind
    independent and uniform, every parameter from :data:`kdtheory.sampling.RANGES`; a projection
    student's rank uniform on ``0..k``, ``0..d``, ``0..min(k, d)``), drawn in another order: the
    shapes and kinds of all cases first, then, shape group by shape group (in increasing
    ``(k, d, n)``), the group's design, ``W*``, ``nu`` and each kind's parameters as arrays.  Each
    group is built and evaluated on the paths :class:`LinearGaussianModel` takes (stacked over
    the group's cases): the spectral family (Gibbs and tempered-Bayes teachers with KD, tilt and
    Gibbs students) per eigen-direction of the design by the compiled formulas of
    :mod:`kdtheory.formulas.linear_gaussian`, every other pair by the constructors and trace
    forms of :mod:`kdtheory.models.linear_matrix`; the values are ``dgen``, ``gen_S``, ``gen_T``,
    ``K_n``, ``Esigma2`` and ``sigma_bar = inf``.
    ``Batch.params`` builds each case's record on access (:func:`replay_linear_case`)."""
    size = int(size)
    shape_draws = {x: _draw(rng, f"lin_{x}", size) for x in ("k", "d", "n")}
    t_kind = np.asarray(teacher_kinds)[rng.integers(len(teacher_kinds), size=size)]
    s_kind = np.asarray(student_kinds)[rng.integers(len(student_kinds), size=size)]
    values = {k: np.empty(size) for k in ("dgen", "gen_S", "gen_T", "K_n", "Esigma2")}
    where = np.empty((size, 2), dtype=int)
    groups: list[dict] = []
    shapes = np.stack([shape_draws[x] for x in ("k", "d", "n")], axis=1)
    unique, group_of = np.unique(shapes, axis=0, return_inverse=True)
    order = np.argsort(group_of.ravel(), kind="stable")
    bounds = np.searchsorted(group_of.ravel()[order], np.arange(len(unique) + 1))
    for g, shape in enumerate(unique):
        idx = order[bounds[g] : bounds[g + 1]]  # the group's cases, in case order
        grp = _linear_group(rng, *(int(x) for x in shape), t_kind[idx], s_kind[idx])
        for key, val in grp.pop("values").items():
            values[key][idx] = val
        where[idx, 0] = len(groups)
        where[idx, 1] = np.arange(idx.size)
        groups.append(grp)
    values["sigma_bar"] = np.full(size, np.inf)
    return Batch(_LinearRecords(groups, where), values)


#: the kernel kinds of the spectral family (THEORY §7): a pair of them is evaluated per
#: eigen-direction of the design, as :class:`LinearGaussianModel` does
_SPECTRAL_TEACHERS = ("gibbs", "bayes")
_SPECTRAL_STUDENTS = ("kd", "kd-sample", "tilt", "gibbs")


def _design(x: np.ndarray, w_star: np.ndarray):
    """``(U, s, omega)`` of a stack of designs: ``X X^T = U diag(s) U^T`` from a full SVD of
    ``X`` (``s`` zero past ``min(d, n)``) and ``omega = W* U`` (:class:`SpectralDesign`)."""
    u, sv, _ = np.linalg.svd(x, full_matrices=True)
    s = np.zeros(x.shape[:-1])
    s[..., : sv.shape[-1]] = sv * sv
    return u, s, w_star @ u


def _spectral_matrices(x, u, h, b, v):
    """The matrices ``P = I``, ``H = X^T U diag(h) U^T``, ``B = b U^T``, ``Sigma = U diag(v) U^T``
    (symmetrised) of spectral kernels (:meth:`LinearGaussianModel._spectral_kernel`)."""
    sigma = (u * v[:, None, :]) @ lm.transpose(u)
    k = b.shape[-2]
    eye = np.broadcast_to(np.eye(k), (x.shape[0], k, k))
    return (
        np.array(eye),
        lm.transpose(x) @ ((u * h[:, None, :]) @ lm.transpose(u)),
        b @ lm.transpose(u),
        (sigma + lm.transpose(sigma)) / 2,
    )


def _linear_group(rng, k: int, d: int, n: int, t_kind, s_kind) -> dict:
    """One shape group of :func:`linear_array_batch`: draws, kernels and values.  Pairs of the
    spectral family (a Gibbs or tempered-Bayes teacher with a KD, tilt or Gibbs student) are
    evaluated by the per-direction formulas of :mod:`kdtheory.formulas.linear_gaussian`, every
    other pair by the trace forms of :mod:`kdtheory.models.linear_matrix` -- the paths of
    :class:`LinearGaussianModel`.  (The matrix path loses ``~cond(Sigma_T) eps`` relative
    accuracy in ``K_n`` for a student close to an ill-conditioned teacher -- 4e-10 on a tilt of
    a tempered-Bayes teacher with ``cond(Sigma_T) = 7e6`` -- while the spectral path's
    per-direction terms are each accurate to a few ulps.)"""
    f = _compiled
    c = t_kind.size
    shape = {"k": k, "d": d, "n": n}
    e1 = np.zeros((d, n))
    e1[0] = 1.0
    x = _draw(rng, "lin_x_scale", c)[:, None, None] * (e1 + _draw(rng, "lin_x", (c, d, n)))
    w_star = _draw(rng, "lin_w", (c, k, d))
    nu = _draw(rng, "lin_nu", c)
    u, s_dir, omega = _design(x, w_star)
    s3 = s_dir[:, None, :]
    eye_k = np.broadcast_to(np.eye(k), (c, k, k))
    teacher = (np.array(eye_k), np.empty((c, n, d)), np.empty((c, k, d)), np.empty((c, d, d)))
    t_spec = (np.empty((c, d)), np.empty((c, k, d)), np.empty((c, d)))
    grp = {"X": x, "W": w_star, "nu": nu, "teacher_kind": t_kind, "student_kind": s_kind}
    grp["teacher_pos"], grp["teacher_params"] = np.zeros(c, dtype=int), {}
    for kind in LINEAR_TEACHER_KINDS:
        sel = np.flatnonzero(t_kind == kind)
        if sel.size == 0:
            continue
        p = _draw_params(rng, _TEACHER_DRAWS[kind], sel.size, shape)
        if kind == "generic":
            _put(teacher, sel, (eye_k[sel], p["H"], p["B"], _spd_stack(p["L"], p["tau"])))
        else:
            if kind == "gibbs":
                gamma, m0 = p["gamma"], p["M0"]
            else:  # tempered Bayes: gamma = n / (2 nu^2 T), zero prior mean
                gamma, m0 = n / (2 * nu[sel] ** 2 * p["temperature"]), np.zeros((sel.size, k, d))
            g1, l1 = gamma[:, None], p["lam"][:, None]
            spec = (
                f("gibbs_h")(g1, l1, s_dir[sel], n),
                f("gibbs_b")(g1[:, None], l1[:, None], m0 @ u[sel], s3[sel], n),
                f("gibbs_v")(g1, l1, s_dir[sel], n),
            )
            _put(t_spec, sel, spec)
            _put(teacher, sel, _spectral_matrices(x[sel], u[sel], *spec))
        grp["teacher_pos"][sel] = np.arange(sel.size)
        grp["teacher_params"][kind] = p
    spectral_teacher = np.isin(t_kind, _SPECTRAL_TEACHERS)
    spectral = spectral_teacher & np.isin(s_kind, _SPECTRAL_STUDENTS)
    student = tuple(np.empty_like(m) for m in teacher)
    s_spec = tuple(np.empty_like(m) for m in t_spec)
    grp["student_pos"], grp["student_params"] = np.zeros(c, dtype=int), {}
    for kind in LINEAR_STUDENT_KINDS:
        sel = np.flatnonzero(s_kind == kind)
        if sel.size == 0:
            continue
        p = _draw_params(rng, _STUDENT_DRAWS[kind], sel.size, shape)
        q = spectral[sel] if kind in _SPECTRAL_STUDENTS else np.zeros(sel.size, dtype=bool)
        if q.any():  # per-direction kernels of a spectral teacher
            on = sel[q]
            part = _spectral_student(
                kind, {key: val[q] for key, val in p.items()}, _take(t_spec, on), u[on],
                s_dir[on], omega[on], n,
            )  # fmt: skip
            _put(s_spec, on, part)
        if not q.all():
            off = sel[~q]
            sub = {key: val[~q] for key, val in p.items()}
            part = _matrix_student(
                kind, sub, rng, x[off], w_star[off], nu[off], _take(teacher, off), k, d
            )
            _put(student, off, part)
            if "r" in sub:
                p["r"] = sub["r"]
        grp["student_pos"][s_kind == kind] = np.arange(int(np.count_nonzero(s_kind == kind)))
        grp["student_params"][kind] = p
    values = {key: np.empty(c) for key in ("dgen", "gen_S", "gen_T", "K_n", "Esigma2")}
    on = np.flatnonzero(spectral)
    if on.size:
        st, te, nu1 = _take(s_spec, on), _take(t_spec, on), nu[on, None]
        parts = _spectral_parts(st, te, s_dir[on], omega[on], nu1, k)
        values["dgen"][on] = _spectral_gen(st[0] - te[0], s_dir[on], nu1, n, k)
        values["gen_S"][on] = _spectral_gen(st[0], s_dir[on], nu1, n, k)
        values["gen_T"][on] = _spectral_gen(te[0], s_dir[on], nu1, n, k)
        values["K_n"][on] = parts["offset"] + parts["estimation"] + parts["spread"]
    off = np.flatnonzero(~spectral)
    if off.size:
        st, te = _take(student, off), _take(teacher, off)
        parts = lm.divergence_parts(x[off], w_star[off], nu[off], st, te)
        values["dgen"][off] = lm.dgen(x[off], nu[off], st, te)
        values["gen_S"][off] = lm.gen(x[off], nu[off], st)
        values["gen_T"][off] = lm.gen(x[off], nu[off], te)
        values["K_n"][off] = parts["offset"] + parts["estimation"] + parts["spread"]
    # Esigma2 depends on the teacher only: per direction for a spectral one
    on = np.flatnonzero(spectral_teacher)
    values["Esigma2"][on] = _spectral_proxy(t_spec[2][on], s_dir[on], nu[on, None], n, k)
    off = np.flatnonzero(~spectral_teacher)
    values["Esigma2"][off] = lm.conditional_proxy(x[off], nu[off], k, teacher[3][off])
    grp["values"] = values
    return grp


def _spectral_student(kind, p, teacher, u, s_dir, omega, n):
    """Per-direction ``(h, b, v)`` of spectral students of spectral teachers ``(h, b, v)`` (the
    compiled kernel maps of :mod:`kdtheory.formulas.linear_gaussian`, as in
    :meth:`LinearGaussianModel.kd_student` and friends); ``p`` the students' drawn parameters."""
    f = _compiled
    th, tb, tv = teacher
    s3 = s_dir[:, None, :]
    col = {key: val[:, None] for key, val in p.items() if val.ndim == 1}
    mat = {key: val[:, None, None] for key, val in p.items() if val.ndim == 1}
    if kind == "tilt":
        return (
            f("tilt_h_S")(th, col["kappa"], tv, n),
            f("tilt_b_S")(tb, mat["kappa"], tv[:, None, :], s3, omega, n),
            tv,
        )
    mu0 = p["M0"] @ u  # the prior mean's components along the directions
    if kind == "gibbs":
        return (
            f("gibbs_h")(col["gamma"], col["lam"], s_dir, n),
            f("gibbs_b")(mat["gamma"], mat["lam"], mu0, s3, n),
            f("gibbs_v")(col["gamma"], col["lam"], s_dir, n),
        )
    a1, g1, l1 = col["alpha"], col["gamma"], col["lam"]
    v = (
        f("kd_v_S_sampled")(tv, a1, g1, l1, s_dir, n)
        if kind == "kd-sample"
        else f("kd_v_S")(g1, l1, s_dir, n)
    )
    return (
        f("kd_h_S")(th, a1, g1, l1, s_dir, n),
        f("kd_b_S")(tb, mat["alpha"], mat["gamma"], mat["lam"], mu0, s3, n),
        v,
    )


def _matrix_student(kind, p, rng, x, w_star, nu, teacher, k: int, d: int):
    """Students of the matrix path (:mod:`kdtheory.models.linear_matrix`); a projection
    student's rank is drawn here (into ``p["r"]``, uniform on ``0..max``)."""
    if kind in ("kd", "kd-sample"):
        return lm.kd_student(
            x, teacher, p["alpha"], p["gamma"], p["lam"], p["M0"], kind == "kd-sample"
        )
    if kind == "tilt":
        return lm.tilt_student(x, w_star, teacher, p["kappa"])
    if kind == "gibbs":
        return lm.gibbs(x, p["gamma"], p["lam"], p["M0"])
    if kind == "generic":
        return p["P"], p["H"], p["B"], _spd_stack(p["L"], p["tau"])
    p["r"] = rng.integers(0, _MAX_RANK[kind](k, d) + 1, size=x.shape[0])
    out = tuple(np.empty_like(m) for m in teacher)
    for r in np.unique(p["r"]):
        sub = np.flatnonzero(p["r"] == r)
        ts = _take(teacher, sub)
        if kind == "best-rank":
            part, _ = _best_rank(x[sub], w_star[sub], nu[sub], ts, int(r))
        else:
            q = lm.projector(_basis_stack(p["R"][sub], int(r)))
            project = lm.output_projection if kind == "output-projection" else lm.input_projection
            part = project(ts, q)
        _put(out, sub, part)
    return out
