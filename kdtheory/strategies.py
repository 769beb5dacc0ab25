"""Public hypothesis strategies for every model (THEORY §6-§8) and for any model family, drawn
from the same range table as the audit (:data:`kdtheory.sampling.RANGES`), and the test
profiles.  Requires the ``test`` extra (hypothesis).

Every strategy takes ``ranges`` (``{RANGES key: (low, high) | (low, high, "log") | Range}``,
replacing the audit's range for this strategy only) and ``pinned`` (``{RANGES key: value}``,
a fixed value; a vector parameter such as ``m`` gets the value in every coordinate)::

    from kdtheory.strategies import gaussian_mean_cases, load_profile
    load_profile("ci")
    @given(gaussian_mean_cases(pinned={"n": 10, "s": 1.0}, ranges={"alpha": (0.2, 0.8)}))
    def test_mine(case): ...

Model strategies give a case ``(model, student, teacher, params)``:
:func:`gaussian_mean_cases`, :func:`bump_cases`, :func:`ball_cases`, :func:`memoriser_cases`,
:func:`linear_gaussian_cases`.  :func:`family_points` draws points of a model family
(:mod:`kdtheory.families`, yours included) and :func:`family_values` the exact values there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .sampling import (
    RANGES,
    STUDENT_KINDS,
    TEACHER_KINDS,
    GaussianMeanCase,
    Source,
    build_gaussian_mean_case,
)
from .search import as_range

__all__ = [
    "PROFILES",
    "load_profile",
    "hypothesis_source",
    "gaussian_mean_cases",
    "bump_cases",
    "ball_cases",
    "memoriser_cases",
    "linear_gaussian_cases",
    "family_points",
    "family_values",
    "values",
]

#: the hypothesis profiles: ``ci`` (deterministic, sized for the full suite on 2 cores in about
#: 5 minutes; the default of this repository's tests) and ``thorough`` (local bug hunts)
PROFILES = {
    "ci": dict(
        derandomize=True,
        database=None,
        print_blob=True,
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ),
    "thorough": dict(
        max_examples=1000,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    ),
}


def load_profile(name: str = "ci") -> None:
    """Register the :data:`PROFILES` with hypothesis and load ``name``."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    for key, kw in PROFILES.items():
        settings.register_profile(key, **kw)
    settings.load_profile(name)


def hypothesis_source(draw, ranges: Mapping | None = None, pinned: Mapping | None = None) -> Source:
    """A :class:`~kdtheory.sampling.Source` backed by a hypothesis ``draw``, with per-call
    ``ranges`` and ``pinned`` values (module doc; an unknown key is a ``KeyError``)."""
    ranges = {k: as_range(k, v) for k, v in (ranges or {}).items()}
    pinned = dict(pinned or {})
    unknown = sorted((set(ranges) | set(pinned)) - set(RANGES))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown}; known: {sorted(RANGES)}")

    def one(name: str):
        if name in pinned:
            return pinned[name]
        return draw(ranges.get(name, RANGES[name]).strategy())

    return Source(draw=one, choose=lambda options: draw(st.sampled_from(list(options))))


@st.composite
def gaussian_mean_cases(
    draw,
    teacher_kinds=TEACHER_KINDS,
    student_kinds=STUDENT_KINDS,
    d=None,
    ranges=None,
    pinned=None,
):
    """A Model A case (THEORY §6): :class:`~kdtheory.sampling.GaussianMeanCase`."""
    src = hypothesis_source(draw, ranges, pinned)
    return build_gaussian_mean_case(src, teacher_kinds, student_kinds, d=d)


@st.composite
def bump_cases(
    draw, teacher_kinds=TEACHER_KINDS, student_kinds=STUDENT_KINDS, d=None, ranges=None, pinned=None
):
    """A Model A-bump case (THEORY §6 A-bump; width from ``RANGES["omega"]``)."""
    from .audit.sharpness_cases import build_bump_case

    src = hypothesis_source(draw, ranges, pinned)
    return build_bump_case(src, teacher_kinds, student_kinds, d=d)


@st.composite
def ball_cases(draw, d=None, ranges=None, pinned=None):
    """A uniform-ball kernel case (THEORY §5): the student's ball inside the teacher's."""
    from .audit.sharpness_cases import build_ball_case

    return build_ball_case(hypothesis_source(draw, ranges, pinned), d=d)


@st.composite
def memoriser_cases(draw, ranges=None, pinned=None):
    """A memoriser case (THEORY §8 N2): ``M = round(10^log10_M)``, ``n``, ``p_S``, ``p_T``
    (both from ``RANGES["p"]``; pin them with ``pinned={"p_S": ..., "p_T": ...}``)."""
    from .models.memoriser import MemoriserModel

    pinned = dict(pinned or {})
    p_s, p_t = pinned.pop("p_S", None), pinned.pop("p_T", None)
    src = hypothesis_source(draw, ranges, pinned)
    model = MemoriserModel(M=round(10 ** src.draw("log10_M")), n=int(src.draw("n")))
    p_s = src.draw("p") if p_s is None else p_s
    p_t = src.draw("p") if p_t is None else p_t
    params = {"model": {"M": model.M, "n": model.n}, "student": {"p": p_s}, "teacher": {"p": p_t}}
    return GaussianMeanCase(model, model.kernel(p_s), model.kernel(p_t), params)


@st.composite
def linear_gaussian_cases(draw, ranges=None, pinned=None):
    """A linear-Gaussian case (THEORY §7): sizes ``lin_k, lin_d, lin_n``, design, ``W*``, noise,
    a teacher and a student of the audit's kinds."""
    from .audit.linear_cases import build_linear_case

    return build_linear_case(hypothesis_source(draw, ranges, pinned))


@st.composite
def family_points(draw, family, ranges=None, pinned=None):
    """A point of a model family's box (:mod:`kdtheory.families`; a name or a ``Family``)."""
    from .families import family as get_family

    space = get_family(family).search_space(ranges, pinned)
    point = dict(space.pinned)
    for name, r in space.coords:
        point[name] = draw(r.strategy())
    return point


@st.composite
def family_values(draw, family, ranges=None, pinned=None):
    """``(point, values)``: a family point where the model is valid and its exact values."""
    from .families import family as get_family

    fam = get_family(family)
    point = draw(family_points(fam, ranges, pinned))
    try:
        return point, fam.values(point)
    except ValueError:
        from hypothesis import reject

        reject()


def values(name: str):
    """Valid values of a theory parameter, from its domain (:data:`kdtheory.symbols.PARAMS`)."""
    from .symbols import param

    dom = param(name).domain
    if dom.integer:
        return st.integers(int(max(dom.low, -(2**31))), int(min(dom.high, 2**31)))
    lo = dom.low if math.isfinite(dom.low) else -1e6
    hi = dom.high if math.isfinite(dom.high) else 1e6
    return st.floats(
        lo, hi, exclude_min=not dom.low_closed, exclude_max=not dom.high_closed, allow_nan=False
    )
