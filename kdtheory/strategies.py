"""Public hypothesis strategies for valid model parameters (THEORY §6), drawn from the same
range table as the audit (:data:`kdtheory.sampling.RANGES`).  Requires the ``test`` extra."""

from __future__ import annotations

from hypothesis import strategies as st

from .sampling import (
    RANGES,
    STUDENT_KINDS,
    TEACHER_KINDS,
    Source,
    build_gaussian_mean_case,
)

__all__ = ["hypothesis_source", "gaussian_mean_cases", "values"]


def hypothesis_source(draw) -> Source:
    """A :class:`~kdtheory.sampling.Source` backed by a hypothesis ``draw``."""
    return Source(
        draw=lambda name: draw(RANGES[name].strategy()),
        choose=lambda options: draw(st.sampled_from(list(options))),
    )


@st.composite
def gaussian_mean_cases(draw, teacher_kinds=TEACHER_KINDS, student_kinds=STUDENT_KINDS, d=None):
    """A :class:`~kdtheory.sampling.GaussianMeanCase` (model, student, teacher, params)."""
    return build_gaussian_mean_case(hypothesis_source(draw), teacher_kinds, student_kinds, d=d)


def values(name: str):
    """Valid values of a theory parameter, from its domain (:data:`kdtheory.symbols.PARAMS`)."""
    import math

    from .symbols import param

    dom = param(name).domain
    if dom.integer:
        return st.integers(int(max(dom.low, -(2**31))), int(min(dom.high, 2**31)))
    lo = dom.low if math.isfinite(dom.low) else -1e6
    hi = dom.high if math.isfinite(dom.high) else 1e6
    return st.floats(
        lo, hi, exclude_min=not dom.low_closed, exclude_max=not dom.high_closed, allow_nan=False
    )
