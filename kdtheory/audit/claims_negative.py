"""Negative controls N1-N7 (THEORY §8): each is refuted by a *search* over model parameters.

The search is scipy's differential evolution over a box taken from the shared range table
(:data:`kdtheory.sampling.RANGES`; log-scaled where the range is), maximising the statement's
ratio ``(lhs - ref)/(rhs - ref)`` computed by :meth:`Theorem.evaluate` — nothing is stored.
The best point is then *shrunk*: its parameters are rounded to 1, 2, ... significant digits
(integers stay integers) and the first rounding that still violates the statement is reported;
then each coordinate is tried at one significant digit alone.  The engine re-verifies the
reported counterexample through :meth:`Theorem.evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..divergences import IsotropicGaussian, kl
from ..models.gaussian_mean import GaussianMeanModel
from ..models.memoriser import MemoriserModel
from ..sampling import RANGES, Range
from ..theorems.registry import theorem
from . import claims_lower  # noqa: F401  (registration order: the true claims first)
from .engine import SearchClaim, register_claim

__all__ = ["SearchSpace", "search_counterexample", "round_significant"]

#: the searched objective is the ratio clipped to [-RATIO_CAP, RATIO_CAP]: any clear violation is
#: as good as another, which keeps the reported counterexample moderate (finite lhs and rhs)
RATIO_CAP = 10.0
#: objective value of an invalid point (outside a model's domain): never a counterexample
_INVALID = 1e3


@dataclass(frozen=True)
class SearchSpace:
    """Named coordinates, each searched over ``RANGES[key]`` (log scale if the range is);
    ``build(point) -> values`` gives the theorem's values (``ValueError`` if invalid)."""

    coords: tuple[tuple[str, str], ...]  # (parameter name, RANGES key)
    build: Callable[[dict], dict]

    def ranges(self) -> list[Range]:
        return [RANGES[key] for _, key in self.coords]

    def bounds(self) -> list[tuple[float, float]]:
        return [
            (math.log(r.low), math.log(r.high)) if r.log else (r.low, r.high) for r in self.ranges()
        ]

    def point(self, x) -> dict:
        out = {}
        for (name, _), r, xi in zip(self.coords, self.ranges(), x, strict=True):
            out[name] = int(round(xi)) if r.integer else float(math.exp(xi) if r.log else xi)
        return out


def round_significant(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant digits (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(round(x, digits - 1 - int(math.floor(math.log10(abs(x))))))


def _ratio(thm, values: dict) -> tuple[float, bool]:
    ev = thm.evaluate(**values)
    return float(ev.ratio), not ev.all_hold


def search_counterexample(thm, space: SearchSpace, rng: np.random.Generator, budget: int):
    """Differential evolution for the largest ratio within about ``budget`` evaluations, then
    shrinking; returns ``(evaluations, counterexample or None, best ratio)`` as
    :class:`~kdtheory.audit.SearchClaim` expects."""
    count = [0]

    def objective(x) -> float:
        count[0] += 1
        try:
            r, _ = _ratio(thm, space.build(space.point(x)))
        except ValueError:
            return _INVALID
        return -float(np.clip(r, -RATIO_CAP, RATIO_CAP))

    dim = len(space.coords)
    popsize = 8
    maxiter = max(1, budget // (popsize * dim) - 1)
    integrality = [r.integer for r in space.ranges()]
    res = optimize.differential_evolution(
        objective,
        space.bounds(),
        popsize=popsize,
        maxiter=maxiter,
        tol=0.0,
        polish=False,
        rng=rng,
        integrality=integrality,
    )
    best = space.point(res.x)
    try:
        best_ratio = _ratio(thm, space.build(best))[0]
    except ValueError:
        best_ratio = -math.inf
    cx = _shrink(thm, space, best)
    if cx is not None:
        cx["search"] = {
            "method": "scipy differential_evolution + rounding",
            "evaluations": count[0],
            "best_ratio_found": best_ratio,
            "before_shrinking": best,
        }
    return count[0], cx, best_ratio


def _violates(thm, space: SearchSpace, point: dict) -> dict | None:
    try:
        values = space.build(point)
        _, bad = _ratio(thm, values)
    except ValueError:
        return None
    return values if bad else None


def _shrink(thm, space: SearchSpace, best: dict) -> dict | None:
    """Round ``best`` to the fewest significant digits that still violate, then try each
    coordinate at a simpler value inside its range: the range's lower end for an integer,
    else 0, 1 or one significant digit (the first that still violates is kept)."""

    def rounded(pt, digits):
        return {k: v if isinstance(v, int) else round_significant(v, digits) for k, v in pt.items()}

    found = None
    for digits in range(1, 17):
        cand = rounded(best, digits)
        if _violates(thm, space, cand) is not None:
            found = cand
            break
    if found is None:
        if _violates(thm, space, best) is None:
            return None
        found = best
    for (name, _), r in zip(space.coords, space.ranges(), strict=True):
        v = found[name]
        options = [int(r.low)] if r.integer else [0.0, 1.0, round_significant(v, 1)]
        for simple in options:
            if simple == v or not r.low <= simple <= r.high:
                continue
            cand = {**found, name: simple}
            if _violates(thm, space, cand) is not None:
                found = cand
                break
    return {"params": found, "values": _violates(thm, space, found)}


# -- search spaces -------------------------------------------------------------------------------
_MODEL = (("d", "d"), ("n", "n"), ("s", "s"), ("m", "m"))
_TEACHER = (("a_T", "a"), ("b_T", "b"), ("tau_T", "tau"))
_GIBBS_TEACHER = (("gamma_T", "gamma"), ("lam_T", "lam"), ("m0_T", "m0"))
#: the student relative to the teacher: ``a_S = a_T + kappa``, ``b_S = b_T - kappa m + db``,
#: ``tau_S = tau_factor tau_T`` (every kernel is reachable; ``kappa = db = 0``,
#: ``tau_factor = 1`` is the teacher itself, so small divergences are easy to reach)
_STUDENT = (("kappa", "kappa"), ("db", "b"), ("tau_factor", "tau_factor"))


def _gaussian(pt: dict):
    model = GaussianMeanModel(d=pt["d"], n=pt["n"], s=pt["s"], m=pt["m"])
    if "gamma_T" in pt:
        teacher = model.gibbs(pt["gamma_T"], pt["lam_T"], pt["m0_T"])
    else:
        teacher = model.kernel(pt["a_T"], pt["b_T"], pt["tau_T"])
    student = None
    if "kappa" in pt and "db" not in pt:  # the tilt student (THEORY §6)
        student = model.tilt_student(teacher, pt["kappa"])
    elif "kappa" in pt:
        k = pt["kappa"]
        student = model.kernel(
            teacher.a + k, teacher.b - k * model.m + pt["db"], teacher.tau * pt["tau_factor"]
        )
    return model, student, teacher


def _gaussian_values(pt: dict) -> dict:
    """Model A values for N1, N3, N4 (THEORY §6.2, §6.4)."""
    model, student, teacher = _gaussian(pt)
    vals = model.theorem_values(student, teacher)
    vals.update(
        d=model.d,
        n=model.n,
        s=model.s,
        K_rev=model.distillation_divergence(teacher, student),
        Esigma2_S=model.conditional_proxy(student),
    )
    return vals


def _central_values(pt: dict) -> dict:
    """N5: ``eta = u eta_c`` inside the admissible range of the plain central condition; Gibbs
    teacher (``gen_T > 0``), tilt student ``kappa`` (the family where THEORY §8 locates the
    failure: ``dgen = -sqrt(2 Esigma2 K_n)`` for ``kappa < 0``)."""
    model, student, teacher = _gaussian(pt)
    eta_c = model.eta_central(teacher)
    if eta_c == 0.0:
        raise ValueError("gen_T <= 0: no eta satisfies the central condition")
    return {**model.theorem_values(student, teacher), "eta": pt["eta_fraction"] * eta_c}


def _centred_values(pt: dict) -> dict:
    """N6: ``Lambda(-eta) = log E exp(-eta (g - gen_T))`` at ``eta = u * (domain edge)``."""
    model, _, teacher = _gaussian(pt)
    eta = pt["edge_fraction"] * -model.cgf_domain(teacher)[0]
    return {"Lambda_T_neg": model.centred_cgf(teacher, -eta), "theta": eta}


def _memoriser_values(pt: dict) -> dict:
    model = MemoriserModel(M=pt["M"], n=pt["n"])
    return model.theorem_values(model.kernel(pt["p_S"]), model.kernel(pt["p_T"]))


def _quadratic_values(pt: dict) -> dict:
    """N7: ``g = w^2``, ``P = N(0, sd^2)``, ``Q = N(m, sd^2)``: ``E_P g = sd^2``,
    ``Var_P g = 2 sd^4``, ``E_Q g = m^2 + sd^2``, ``KL(Q||P) = m^2/(2 sd^2)`` (closed-form registry)."""
    m, sd = pt["m"], pt["sd"]
    return {
        "E_Q_f": m * m + sd * sd,
        "mean": sd * sd,
        "var_f": 2 * sd**4,
        "KL": float(kl(IsotropicGaussian([m], sd * sd), IsotropicGaussian([0.0], sd * sd))),
    }


_SPACES = {
    "N1": ("gaussian-mean", SearchSpace(_MODEL + _TEACHER + _STUDENT, _gaussian_values)),
    "N2": (
        "memoriser",
        SearchSpace(
            (("log10_M", "log10_M"), ("n", "n"), ("p_S", "p"), ("p_T", "p")),
            lambda pt: _memoriser_values({**pt, "M": round(10 ** pt["log10_M"])}),
        ),
    ),
    "N3": ("gaussian-mean", SearchSpace(_MODEL + _TEACHER + _STUDENT, _gaussian_values)),
    "N4": ("gaussian-mean", SearchSpace(_MODEL + _TEACHER + _STUDENT, _gaussian_values)),
    "N5": (
        "gaussian-mean",
        SearchSpace(
            _MODEL + _GIBBS_TEACHER + (("kappa", "kappa"), ("eta_fraction", "eta_fraction")),
            _central_values,
        ),
    ),
    "N6": (
        "gaussian-mean",
        SearchSpace(_MODEL + _TEACHER + (("edge_fraction", "eta_fraction"),), _centred_values),
    ),
    "N7": ("gaussian-pairs", SearchSpace((("m", "m"), ("sd", "tau")), _quadratic_values)),
}


def _searcher(thm, space: SearchSpace):
    def search(rng: np.random.Generator, budget: int):
        return search_counterexample(thm, space, rng, budget)

    return search


for _id, (_model, _space) in _SPACES.items():
    register_claim(
        SearchClaim(
            id=_id,
            theorem=theorem(_id),
            model=_model,
            description="differential evolution over the RANGES box, then rounding (shrinking)",
            search=_searcher(theorem(_id), _space),
            budget=400,
        )
    )
