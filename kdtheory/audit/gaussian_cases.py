"""Batches of Gaussian mean model cases (THEORY §6) for the audit's claims."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..models import gaussian_mean as _arr
from ..sampling import (
    RANGES,
    STUDENT_KINDS,
    TEACHER_KINDS,
    GaussianMeanCase,
    Source,
    build_gaussian_mean_case,
    rng_source,
)
from .engine import Batch, LazyRecords

__all__ = [
    "gaussian_mean_batch",
    "tilt_witness_batch",
    "cases_batch",
    "gaussian_mean_array_batch",
    "replay_gaussian_mean_case",
    "record_triple",
    "teacher_kernel",
    "student_kernel",
]


def gaussian_mean_batch(
    rng: np.random.Generator,
    size: int,
    extra: Callable | None = None,
    teacher_kinds=TEACHER_KINDS,
    student_kinds=STUDENT_KINDS,
) -> Batch:
    """``size`` random (model, student, teacher) cases with their exact theorem values;
    ``extra(case) -> dict`` adds further values (e.g. an expectation over D)."""
    src = rng_source(rng)
    cases = (build_gaussian_mean_case(src, teacher_kinds, student_kinds) for _ in range(size))
    return cases_batch(cases, extra)


def cases_batch(cases, extra: Callable | None = None) -> Batch:
    """A :class:`Batch` of drawn cases (objects with ``model``, ``student``, ``teacher`` and
    ``params``): each case's exact ``model.theorem_values``, plus ``extra(case)`` if given."""
    params, rows = [], []
    for case in cases:
        vals = case.model.theorem_values(case.student, case.teacher)
        if extra is not None:
            vals.update(extra(case))
        params.append(case.params)
        rows.append(vals)
    return Batch.from_rows(params, rows)


def tilt_witness_batch(rng, size, extra=None) -> Batch:
    """Tilt students (``c_Delta = 0``, ``r = 1``), the equality witnesses of THEORY §6.4.
    Half with ``kappa > 0`` (upper side attained), half with ``kappa < 0`` (lower side)."""
    src = rng_source(rng)

    def signed(sign: float) -> Source:
        return Source(
            draw=lambda name: sign * src.draw("kappa_pos") if name == "kappa" else src.draw(name),
            choose=src.choose,
        )

    cases = (
        build_gaussian_mean_case(signed(1.0 if i % 2 == 0 else -1.0), TEACHER_KINDS, ("tilt",))
        for i in range(size)
    )
    return cases_batch(cases, extra)


# -- vectorised batches (THEORY §6 closed forms as array code) -----------------------------------

#: the drawn parameters of each teacher / student kind, in the order of
#: :func:`kdtheory.sampling.build_gaussian_mean_case` (vector-valued: ``m0``, ``b``)
TEACHER_PARAMS = {
    "gibbs": ("gamma", "lam", "m0"),
    "bayes": ("temperature",),
    "generic": ("a", "b", "tau"),
}
STUDENT_PARAMS = {
    "kd": ("alpha", "gamma", "lam", "m0"),
    "kd-sample": ("alpha", "gamma", "lam", "m0"),
    "tilt": ("kappa",),
    "gibbs": ("gamma", "lam", "m0"),
    "rescaled": ("tau_factor",),
    "generic": ("a", "b", "tau"),
}
_VECTOR = frozenset({"m0", "b"})


def teacher_kernel(kind: str, p: dict, n, s, d: int):
    """``(a, b, tau)`` of a teacher of ``kind`` with drawn parameters ``p`` (THEORY §6,
    constructors); generic over float arrays (a batch) and arb balls (one case)."""
    if kind == "gibbs":
        return _arr._gibbs(p["gamma"], p["lam"], p["m0"])
    if kind == "bayes":
        gamma = _arr._bayes_gamma(p["temperature"], n, s)
        return _arr._gibbs(gamma, 0 * gamma, np.zeros(np.shape(gamma) + (d,)))
    if kind == "generic":
        return p["a"], p["b"], p["tau"]
    raise ValueError(f"teacher kind must be one of {sorted(TEACHER_PARAMS)}, got {kind!r}")


def student_kernel(kind: str, p: dict, teacher: tuple, m):
    """``(a, b, tau)`` of a student of ``kind`` for ``teacher = (a_T, b_T, tau_T)`` (THEORY §6)."""
    a_t, b_t, tau_t = teacher
    if kind in ("kd", "kd-sample"):
        return _arr._kd_student(
            a_t, b_t, tau_t, p["alpha"], p["gamma"], p["lam"], p["m0"], kind == "kd-sample"
        )
    if kind == "tilt":
        return _arr._tilt_student(a_t, b_t, tau_t, p["kappa"], m)
    if kind == "gibbs":
        return _arr._gibbs(p["gamma"], p["lam"], p["m0"])
    if kind == "rescaled":
        return a_t, b_t, tau_t * p["tau_factor"]
    if kind == "generic":
        return p["a"], p["b"], p["tau"]
    raise ValueError(f"student kind must be one of {sorted(STUDENT_PARAMS)}, got {kind!r}")


def record_model(params: dict, num=float):
    """``(m, n, s, teacher)`` of one parameter record (as made by
    :func:`~kdtheory.sampling.build_gaussian_mean_case` or :func:`gaussian_mean_array_batch`),
    ``teacher = (a_T, b_T, tau_T)``, every recorded float passed through ``num`` (e.g.
    ``flint.arb`` for ball arithmetic)."""
    mod = params["model"]
    d, n = int(mod["d"]), int(mod["n"])
    s = num(mod["s"])
    m = _convert({"m": mod["m"]}, num)["m"]
    tk = params["teacher"]["kind"]
    return m, n, s, teacher_kernel(tk, _convert(params["teacher"], num), n, s, d)


def record_triple(params: dict, num=float):
    """The arrays ``(m, n, s, a_S, b_S, tau_S, a_T, b_T, tau_T)`` of one parameter record (see
    :func:`record_model`)."""
    m, n, s, teacher = record_model(params, num)
    student = student_kernel(
        params["student"]["kind"], _convert(params["student"], num), teacher, m
    )
    return (m, n, s, *student, *teacher)


def _convert(rec: dict, num) -> dict:
    """A record's numbers through ``num`` (lists become arrays; ``kind`` is dropped)."""
    dtype = float if num is float else object
    return {
        k: np.array([num(x) for x in v], dtype=dtype) if isinstance(v, list) else num(v)
        for k, v in rec.items()
        if k != "kind"
    }


def _draw(rng: np.random.Generator, name: str, shape, ranges=None):
    """Vectorised draw from ``RANGES[name]`` (the same law as :meth:`Range.draw`), or from
    ``ranges[name]`` where given."""
    r = ranges[name] if ranges and name in ranges else RANGES[name]
    if r.integer:
        return rng.integers(int(r.low), int(r.high) + 1, size=shape)
    if r.log:
        return np.exp(rng.uniform(math.log(r.low), math.log(r.high), shape))
    return rng.uniform(r.low, r.high, shape)


def _draw_params(rng, names, size: int, d: int, ranges=None) -> dict:
    """Arrays of ``size`` draws of each parameter in ``names`` (vectors of length ``d``)."""
    return {k: _draw(rng, k, (size, d) if k in _VECTOR else size, ranges) for k in names}


class _ArrayRecords(LazyRecords):
    """Per-case parameter records of an array batch, built on access (no 1e5 dicts up front);
    record ``i`` has the format of :func:`~kdtheory.sampling.build_gaussian_mean_case`."""

    def __init__(self, blocks: list[dict], size: int):
        self._blocks = blocks
        self._starts = np.array([b["start"] for b in blocks], dtype=int)
        self._size = size

    def _record(self, i: int) -> dict:
        b = self._blocks[int(np.searchsorted(self._starts, i, side="right")) - 1]
        j = i - b["start"]

        def rec(kind, names, p):
            out = {"kind": kind}
            for k in names:
                out[k] = p[k][j].tolist() if k in _VECTOR else float(p[k][j])
            return out

        return {
            **{k: float(v[j]) for k, v in b["extra"].items()},
            "model": {
                "d": b["d"],
                "n": int(b["n"][j]),
                "s": float(b["s"][j]),
                "m": b["m"][j].tolist(),
            },
            "teacher": rec(b["teacher"], TEACHER_PARAMS[b["teacher"]], b["tp"]),
            "student": rec(b["student"], STUDENT_PARAMS[b["student"]], b["sp"]),
        }


def gaussian_mean_array_batch(
    rng: np.random.Generator,
    size: int,
    teacher_kinds=TEACHER_KINDS,
    student_kinds=STUDENT_KINDS,
    d: int | None = None,
    ranges: dict | None = None,
    extra: Callable | None = None,
    record_keys: tuple[str, ...] = (),
) -> Batch:
    """``size`` random (model, student, teacher) cases of Model A drawn and evaluated as arrays.

    Same law as :func:`gaussian_mean_batch` (the ranges of :data:`kdtheory.sampling.RANGES`;
    ``d``, the teacher kind and the student kind independent and uniform) but no Python loop
    over cases: the cases come in contiguous blocks, one per (d, teacher kind, student kind)
    cell with multinomial block sizes (so, as a multiset, the batch has the law of ``size``
    independent draws), and the THEORY §6 closed forms of
    :mod:`kdtheory.models.gaussian_mean` run on each block's arrays.  ``Batch.params`` is
    a lazy sequence of records; :func:`replay_gaussian_mean_case` rebuilds case ``i`` from its
    record with the scalar model.  ``ranges`` overrides entries of ``RANGES`` (e.g. a wider
    ``s`` for the stability tests).  ``extra(m, n, s, student, teacher) -> dict`` adds further
    values, computed on each block's arrays (``student``, ``teacher`` are ``(a, b, tau)``); the
    values named in ``record_keys`` (parameters ``extra`` drew, e.g. a radius) also go into each
    record, at its top level.
    """
    size = int(size)
    d_range = (ranges or {}).get("d", RANGES["d"])
    if d is not None:
        dims = [int(d)]
    elif d_range.integer:
        dims = list(range(int(d_range.low), int(d_range.high) + 1))
    else:
        raise ValueError(f"the range of d must be an integer range, got {d_range!r}")
    cells = [(dim, tk, sk) for dim in dims for tk in teacher_kinds for sk in student_kinds]
    counts = rng.multinomial(size, np.full(len(cells), 1.0 / len(cells)))
    values = {k: np.empty(size) for k in ("dgen", "gen_S", "gen_T", "K_n", "Esigma2")}
    blocks, start = [], 0
    for (dim, tk, sk), cnt in zip(cells, counts, strict=True):
        if cnt == 0:
            continue
        n = _draw(rng, "n", cnt, ranges)
        s = _draw(rng, "s", cnt, ranges)
        m = _draw(rng, "m", (cnt, dim), ranges)
        tp = _draw_params(rng, TEACHER_PARAMS[tk], cnt, dim, ranges)
        sp_ = _draw_params(rng, STUDENT_PARAMS[sk], cnt, dim, ranges)
        teacher = teacher_kernel(tk, tp, n, s, dim)
        student = student_kernel(sk, sp_, teacher, m)
        vals = _arr._theorem_values(m, n, s, *student, *teacher)
        if extra is not None:
            vals.update(extra(m, n, s, student, teacher))
        for k, v in vals.items():
            values.setdefault(k, np.empty(size))[start : start + cnt] = v
        blocks.append(
            {
                "start": start,
                "d": dim,
                "teacher": tk,
                "student": sk,
                "n": n,
                "s": s,
                "m": m,
                "tp": tp,
                "sp": sp_,
                "extra": {k: np.asarray(vals[k]) for k in record_keys},
            }
        )
        start += cnt
    values.setdefault("sigma_bar", np.full(size, math.inf))  # Model A: unbounded in D
    return Batch(_ArrayRecords(blocks, size), values)


def replay_gaussian_mean_case(params: dict) -> GaussianMeanCase:
    """Rebuild a case from its parameter record through the scalar builder
    :func:`~kdtheory.sampling.build_gaussian_mean_case` (a :class:`Source` replaying the record)."""
    queues: dict[str, list] = {}
    for part in ("model", "teacher", "student"):
        for k, v in params[part].items():
            if k != "kind":
                queues.setdefault(k, []).extend(v if isinstance(v, list) else [v])
    kinds = [params["teacher"]["kind"], params["student"]["kind"]]

    def draw(name):
        if not queues.get(name):
            raise ValueError(f"parameter record has no (further) value for {name!r}")
        return queues[name].pop(0)

    def choose(options):
        kind = kinds.pop(0)
        if kind not in options:
            raise ValueError(f"recorded kind {kind!r} is not one of {list(options)}")
        return kind

    return build_gaussian_mean_case(Source(draw=draw, choose=choose), TEACHER_KINDS, STUDENT_KINDS)
