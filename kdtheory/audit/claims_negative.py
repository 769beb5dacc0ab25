"""Negative controls N1-N7 (THEORY §8): each is refuted by a *search* over model parameters.

The search (:mod:`kdtheory.search`) is scipy's differential evolution over a model
family's box (:mod:`kdtheory.families`; ranges from :data:`kdtheory.sampling.RANGES`,
log-scaled where the range is), maximising the statement's ratio ``(lhs - ref)/(rhs - ref)``
computed by :meth:`Theorem.evaluate` — nothing is stored — followed by shrinking.  The engine
re-verifies the reported counterexample through :meth:`Theorem.evaluate`.
"""

from __future__ import annotations

import numpy as np

from ..families import admissibility, family, gaussian_mean_pair
from ..search import SearchSpace, search_counterexample
from ..theorems.registry import theorem
from . import claims_lower  # noqa: F401  (registration order: the true claims first)
from .engine import SearchClaim, register_claim

_MODEL = {"d": "d", "n": "n", "s": "s", "m": "m"}
_GIBBS_TEACHER = {"gamma_T": "gamma", "lam_T": "lam", "m0_T": "m0"}
_TEACHER = {"a_T": "a", "b_T": "b", "tau_T": "tau"}


def _central_values(pt: dict) -> dict:
    """N5: ``eta = u eta_c`` inside the admissible range of the plain central condition; Gibbs
    teacher (``gen_T > 0``), tilt student ``kappa`` (the family where THEORY §8 locates the
    failure: ``dgen = -sqrt(2 Esigma2 K_n)`` for ``kappa < 0``)."""
    model, student, teacher = gaussian_mean_pair(pt)
    return _with_eta(pt, model, student, teacher, model.eta_central(teacher))


def _with_eta(pt: dict, model, student, teacher, eta_c: float) -> dict:
    if eta_c == 0.0:
        raise ValueError("gen_T <= 0: no eta satisfies the central condition")
    return {**model.theorem_values(student, teacher), "eta": pt["eta_fraction"] * eta_c}


def _central_values_batch(points: list) -> list:
    """:func:`_central_values` of each point (``None`` where it raises ``ValueError``), the
    teachers' ``eta_c`` bisected together (:func:`~kdtheory.models.gaussian_cgf.eta_central_of`:
    the costly part, one vectorised root search instead of one per point)."""
    from ..models.gaussian_cgf import eta_central_of

    out: list = [None] * len(points)
    cases = []
    for i, pt in enumerate(points):
        try:
            cases.append((i, *gaussian_mean_pair(pt)))
        except ValueError:
            continue
    etas = eta_central_of([(model, teacher) for _, model, _, teacher in cases])
    for (i, model, student, teacher), eta_c in zip(cases, etas, strict=True):
        try:
            out[i] = _with_eta(points[i], model, student, teacher, float(eta_c))
        except ValueError:
            continue
    return out


def _centred_values(pt: dict) -> dict:
    """N6: ``Lambda(-eta) = log E exp(-eta (g - gen_T))`` at ``eta = u * (domain edge)``."""
    model, _, teacher = gaussian_mean_pair(pt)
    eta = pt["edge_fraction"] * -model.cgf_domain(teacher)[0]
    return {"Lambda_T_neg": model.centred_cgf(teacher, -eta), "theta": eta}


_SPACES = {
    "N1": ("gaussian-mean", family("gaussian-mean").space),
    "N2": ("memoriser", family("memoriser").space),
    "N3": ("gaussian-mean", family("gaussian-mean").space),
    "N4": ("gaussian-mean", family("gaussian-mean").space),
    "N5": (
        "gaussian-mean",
        SearchSpace(
            {**_MODEL, **_GIBBS_TEACHER, "kappa": "kappa", "eta_fraction": "eta_fraction"},
            _central_values,
            build_batch=_central_values_batch,
        ),
    ),
    "N6": (
        "gaussian-mean",
        SearchSpace({**_MODEL, **_TEACHER, "edge_fraction": "eta_fraction"}, _centred_values),
    ),
    "N7": ("gaussian-pairs", family("gaussian-pairs").space),
}


def _searcher(thm, space: SearchSpace, model: str):
    """The search, with each point's hypotheses checked on the model family (a refutation
    counts only where the false statement's own assumptions hold; :mod:`kdtheory.families`)."""

    def search(rng: np.random.Generator, budget: int):
        admissible, counts = admissibility(thm, family(model))
        out = search_counterexample(thm, space, rng, budget, admissible=admissible)
        search.counts = counts
        return out

    search.counts = None
    return search


for _id, (_model, _space) in _SPACES.items():
    register_claim(
        SearchClaim(
            id=_id,
            theorem=theorem(_id),
            model=_model,
            description="differential evolution over the box of parameter ranges, then rounding "
            "(shrinking)",
            search=_searcher(theorem(_id), _space, _model),
            budget=400,
        )
    )
