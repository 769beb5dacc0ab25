"""Model families: where a statement is checked, and which assumptions hold there (THEORY §6, §8).

A :class:`Family` is a box of named parameters (a :class:`~kdtheory.search.SearchSpace`:
ranges from :data:`kdtheory.sampling.RANGES`, each replaceable or pinnable per call), a map from a
parameter point to the *exact* values of the theory's symbols at that point (``dgen``, ``K_n``,
``Esigma2``, ...), and, for each kind of assumption, how to check it at that point
(*assumption discharge*): ``True`` (met), ``False`` (not met) or ``None`` (this family cannot
tell).  The audit and :func:`kdtheory.check.check` never count a case whose assumptions are not
met as evidence for or against a statement.

Families (``kdtheory families`` lists them):

* ``gaussian-mean`` — Model A (THEORY §6) with an arbitrary teacher kernel ``(a_T, b_T, tau_T)``
  and a student relative to it: ``a_S = a_T + kappa``, ``b_S = b_T - kappa m + db``,
  ``tau_S = tau_factor tau_T`` (every kernel pair is reachable; the teacher itself at
  ``kappa = db = 0``, ``tau_factor = 1``).  Supplies ``dgen, gen_S, gen_T, K_n, Esigma2,
  sigma_bar (= inf), d, n, s, K_rev, Esigma2_S``.
* ``gaussian-mean-kd`` — Model A with a Gibbs teacher ``(gamma_T, lam_T, m0_T)`` and a KD student
  ``(alpha, gamma_S, lam_S, m0_S)`` (mean soft labels, THEORY §6).  Same symbols.
* ``memoriser`` — THEORY §8 N2: ``M = round(10^log10_M)``, ``n``, ``p_S``, ``p_T``; supplies
  ``dgen, gen_S, gen_T, K_n, sigma_bar (= 1/2), n``; the loss is in ``[0, 1]``.
* ``bump`` — Model A-bump (THEORY §6): Model A's kernels with the bounded loss
  ``1 - exp(-||w - z||^2/(2 omega^2))``; supplies ``dgen, gen_S, gen_T, K_n, Esigma2, sigma_bar``.
* ``gaussian-pairs`` — THEORY §8 N7: ``g = w^2`` under ``P = N(0, sd^2)`` and ``Q = N(m, sd^2)``;
  supplies ``E_Q_f, mean, var_f, KL``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .assumptions import Assumption, BoundedLoss, CentralCondition, SubGamma, SubGaussian
from .divergences import IsotropicGaussian, kl
from .search import SearchSpace

__all__ = ["Family", "family", "families", "register_family", "DISCHARGE_RTOL"]

#: relative tolerance of an exact-CGF comparison in an assumption check, relative to the size of
#: the terms compared (the closed forms are accurate to ~1e-14 relative to their terms; a
#: hypothesis failing by less is reported as met: a case on the boundary is admissible)
DISCHARGE_RTOL = 1e-10
#: points of the theta grid on which a sub-gamma CGF bound is checked (a necessary check)
SUBGAMMA_GRID = 64

Check = Callable[[Assumption, dict, dict], "bool | None"]


@dataclass(frozen=True)
class Family:
    """A model family (module doc): ``space`` (coordinates, pinned values, ``build``), the
    symbols it supplies, and ``checks[assumption id] -> check(assumption, point, values)``."""

    name: str
    description: str
    space: SearchSpace
    provides: tuple[str, ...]
    checks: Mapping[str, Check] = field(default_factory=dict)

    def values(self, point: dict) -> dict:
        """The exact values of the supplied symbols at ``point`` (``ValueError`` if invalid)."""
        return self.space.build(point)

    def search_space(
        self, ranges: Mapping | None = None, pinned: Mapping | None = None, extra=frozenset()
    ):
        """The family's box with some ranges replaced or coordinates pinned (per call); names in
        ``extra`` (a statement's symbols the family does not supply) may be added."""
        if not ranges and not pinned:
            return self.space
        return self.space.with_ranges(ranges, pinned, extra)

    def discharge(self, assumption: Assumption, point: dict, values: dict) -> bool | None:
        """Whether ``assumption`` holds at ``point``: ``True``/``False``, or ``None`` when this
        family has no check for it."""
        check = self.checks.get(assumption.id)
        return None if check is None else check(assumption, point, values)


_FAMILIES: dict[str, Family] = {}


def register_family(fam: Family, replace: bool = False) -> Family:
    """Make ``fam`` available by name (``ValueError`` for a taken name unless ``replace``)."""
    if not isinstance(fam, Family):
        raise TypeError(f"register_family expects a Family, got {type(fam).__name__}")
    if fam.name in _FAMILIES and not replace:
        raise ValueError(f"a family named {fam.name!r} is already registered")
    _FAMILIES[fam.name] = fam
    return fam


def families() -> list[Family]:
    return list(_FAMILIES.values())


def family(name) -> Family:
    """The family called ``name`` (a :class:`Family` is returned as is); ``KeyError`` lists them."""
    if isinstance(name, Family):
        return name
    try:
        return _FAMILIES[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown model family {name!r}; known: {', '.join(_FAMILIES)}") from None


def _value(assumption: Assumption, field_name: str, values: dict, symbol: str):
    """A hypothesis parameter: the assumption's number, else the family's value of ``symbol``."""
    v = getattr(assumption, field_name)
    if v is None:
        v = values.get(symbol)
    return None if v is None else float(v)


# -- Model A ------------------------------------------------------------------------------------
_MODEL = {"d": "d", "n": "n", "s": "s", "m": "m"}
_TEACHER = {"a_T": "a", "b_T": "b", "tau_T": "tau"}
_STUDENT = {"kappa": "kappa", "db": "b", "tau_factor": "tau_factor"}


def gaussian_mean_pair(pt: dict):
    """``(model, student, teacher)`` of a ``gaussian-mean`` or ``gaussian-mean-kd`` point (the
    module doc); a point with only ``kappa`` gets the tilt student (THEORY §6)."""
    from .models.gaussian_mean import GaussianMeanModel

    model = GaussianMeanModel(d=pt["d"], n=pt["n"], s=pt["s"], m=pt["m"])
    if "gamma_T" in pt:
        teacher = model.gibbs(pt["gamma_T"], pt["lam_T"], pt["m0_T"])
    else:
        teacher = model.kernel(pt["a_T"], pt["b_T"], pt["tau_T"])
    student = None
    if "alpha" in pt:
        student = model.kd_student(teacher, pt["alpha"], pt["gamma_S"], pt["lam_S"], pt["m0_S"])
    elif "kappa" in pt and "db" not in pt:
        student = model.tilt_student(teacher, pt["kappa"])
    elif "kappa" in pt:
        k = pt["kappa"]
        student = model.kernel(
            teacher.a + k, teacher.b - k * model.m + pt["db"], teacher.tau * pt["tau_factor"]
        )
    return model, student, teacher


def gaussian_mean_values(pt: dict) -> dict:
    """Model A's exact values at a point (THEORY §6.2, §6.4)."""
    model, student, teacher = gaussian_mean_pair(pt)
    vals = model.theorem_values(student, teacher)
    vals.update(
        d=model.d,
        n=model.n,
        s=model.s,
        K_rev=model.distillation_divergence(teacher, student),
        Esigma2_S=model.conditional_proxy(student),
    )
    return vals


def _gm_sub_gaussian(a: SubGaussian, pt: dict, values: dict) -> bool:
    """Given D, ``g(W_T, D)`` is Gaussian with standard deviation ``sigma_D = 2 tau_T ||delta||``
    (THEORY §6.4): the conditional hypothesis with the exact ``sigma_D`` is met; a fixed
    ``sigma`` bounds ``sigma_D`` for a.e. D only if ``||delta||`` were bounded, which it is not
    (``sigma_bar = inf``).  Under the joint law the gap is quadratic in the Gaussian ``delta``, so
    its CGF is finite only on a bounded interval (THEORY §6.5): not sub-Gaussian for any sigma."""
    return bool(a.conditional and a.sigma is None)


def _gm_central(a: CentralCondition, pt: dict, values: dict) -> bool | None:
    """``log E exp(-eta g) <= -c eta gen_T`` with Model A's exact joint CGF (THEORY §4, §6.5)."""
    eta, c = _value(a, "eta", values, "eta"), _value(a, "c", values, "c")
    if eta is None:
        return None
    model, _, teacher = gaussian_mean_pair(pt)
    lo, _ = model.cgf_domain(teacher)
    if -eta <= lo:
        return False
    gen_t = float(model.gen(teacher))
    lhs = float(model.joint_cgf(teacher, -eta))
    rhs = -(c or 0.0) * eta * gen_t
    # the CGF is a sum of terms of the size of its first-order term eta gen_T, each accurate to
    # ~1e-14 relative: at eta = eta_c, c = 0 (the boundary) it is 0 up to that rounding
    scale = max(abs(lhs), abs(rhs), abs(eta * gen_t))
    return lhs <= rhs + DISCHARGE_RTOL * scale


def _gm_sub_gamma(a: SubGamma, pt: dict, values: dict) -> bool | None:
    """The sub-gamma bound on the exact centred CGF on a grid of ``SUBGAMMA_GRID`` points of
    ``(0, 1/b_g)`` (THEORY §3, §6.5): ``False`` at the first violation (certain); ``True`` means
    no violation on the grid (a necessary check; Model A's own ``V_g, b_g`` are proved)."""
    v, b = _value(a, "v", values, "V_g"), _value(a, "b", values, "b_g")
    if v is None or b is None:
        return None
    model, _, teacher = gaussian_mean_pair(pt)
    lo, hi = model.cgf_domain(teacher)
    end = 1.0 / b if b > 0 else 1e6
    sign = 1.0 if a.side == "upper" else -1.0
    theta = np.geomspace(end * 1e-6, end * (1 - 1e-6), SUBGAMMA_GRID)
    arg = sign * theta
    if not np.all((lo < arg) & (arg < hi)):  # the CGF is infinite there: the bound fails
        return False
    lam = np.asarray(model.centred_cgf(teacher, arg), dtype=float)
    bound = v * theta**2 / (2 * (1 - b * theta))
    return bool(np.all(lam <= bound * (1 + DISCHARGE_RTOL)))


def _unbounded(a: BoundedLoss, pt: dict, values: dict) -> bool:
    """The squared loss of Model A is unbounded above: no bounded-loss hypothesis holds."""
    return False


_GM_CHECKS = {
    SubGaussian.id: _gm_sub_gaussian,
    CentralCondition.id: _gm_central,
    SubGamma.id: _gm_sub_gamma,
    BoundedLoss.id: _unbounded,
}
_GM_PROVIDES = (
    "dgen",
    "gen_S",
    "gen_T",
    "K_n",
    "Esigma2",
    "sigma_bar",
    "d",
    "n",
    "s",
    "K_rev",
    "Esigma2_S",
)


# -- bounded-loss families ----------------------------------------------------------------------
def _within(lo: float, hi: float) -> Check:
    def check(a: BoundedLoss, pt: dict, values: dict) -> bool | None:
        """The loss lies in ``[lo, hi]``: met iff ``l_min <= lo`` and ``l_max >= hi``."""
        l_min, l_max = _value(a, "l_min", values, "l_min"), _value(a, "l_max", values, "l_max")
        if l_min is None or l_max is None:
            return None
        return l_min <= lo and l_max >= hi

    return check


def _hoeffding(width: float) -> Check:
    def check(a: SubGaussian, pt: dict, values: dict) -> bool | None:
        """A gap with range ``width`` is ``width/2``-sub-Gaussian under any law (Hoeffding,
        THEORY §3): met for ``sigma >= width/2`` (or the family's own ``sigma_bar``); a smaller
        sigma cannot be decided from the range alone."""
        sigma = a.sigma
        if sigma is None:
            return True  # the family supplies sigma_bar / sigma_D from the Hoeffding bound
        return True if sigma >= width / 2 else None

    return check


def memoriser_values(pt: dict) -> dict:
    from .models.memoriser import MemoriserModel

    model = MemoriserModel(M=round(10 ** pt["log10_M"]), n=pt["n"])
    return model.theorem_values(model.kernel(pt["p_S"]), model.kernel(pt["p_T"]))


def bump_values(pt: dict) -> dict:
    from .models.bump import BumpLossModel

    model = BumpLossModel(d=pt["d"], n=pt["n"], s=pt["s"], m=pt["m"], beta=pt["omega"])
    teacher = model.kernel(pt["a_T"], pt["b_T"], pt["tau_T"])
    k = pt["kappa"]
    student = model.kernel(
        teacher.a + k, teacher.b - k * model.m + pt["db"], teacher.tau * pt["tau_factor"]
    )
    return model.theorem_values(student, teacher)


def quadratic_values(pt: dict) -> dict:
    """N7: ``g = w^2``, ``P = N(0, sd^2)``, ``Q = N(m, sd^2)``: ``E_P g = sd^2``,
    ``Var_P g = 2 sd^4``, ``E_Q g = m^2 + sd^2``, ``KL(Q||P) = m^2/(2 sd^2)`` (closed-form registry)."""
    m, sd = pt["m"], pt["sd"]
    return {
        "E_Q_f": m * m + sd * sd,
        "mean": sd * sd,
        "var_f": 2 * sd**4,
        "KL": float(kl(IsotropicGaussian([m], sd * sd), IsotropicGaussian([0.0], sd * sd))),
    }


for _fam in (
    Family(
        "gaussian-mean",
        "Model A (THEORY §6): any teacher kernel, any student kernel relative to it",
        SearchSpace({**_MODEL, **_TEACHER, **_STUDENT}, gaussian_mean_values),
        _GM_PROVIDES,
        _GM_CHECKS,
    ),
    Family(
        "gaussian-mean-kd",
        "Model A (THEORY §6): a Gibbs teacher and its KD student (mean soft labels)",
        SearchSpace(
            {
                **_MODEL,
                "gamma_T": "gamma",
                "lam_T": "lam",
                "m0_T": "m0",
                "alpha": "alpha",
                "gamma_S": "gamma",
                "lam_S": "lam",
                "m0_S": "m0",
            },
            gaussian_mean_values,
        ),
        _GM_PROVIDES,
        _GM_CHECKS,
    ),
    Family(
        "memoriser",
        "the memoriser (THEORY §8 N2): loss in [0, 1], gap in [0, 1]",
        SearchSpace({"log10_M": "log10_M", "n": "n", "p_S": "p", "p_T": "p"}, memoriser_values),
        ("dgen", "gen_S", "gen_T", "K_n", "sigma_bar", "n"),
        {BoundedLoss.id: _within(0.0, 1.0), SubGaussian.id: _hoeffding(1.0)},
    ),
    Family(
        "bump",
        "Model A-bump (THEORY §6): Gaussian kernels, loss 1 - exp(-|w - z|^2/(2 omega^2))",
        SearchSpace({**_MODEL, "omega": "omega", **_TEACHER, **_STUDENT}, bump_values),
        ("dgen", "gen_S", "gen_T", "K_n", "Esigma2", "sigma_bar"),
        {BoundedLoss.id: _within(0.0, 1.0), SubGaussian.id: _hoeffding(2.0)},
    ),
    Family(
        "gaussian-pairs",
        "THEORY §8 N7: g = w^2 under P = N(0, sd^2) and Q = N(m, sd^2)",
        SearchSpace({"m": "m", "sd": "tau"}, quadratic_values),
        ("E_Q_f", "mean", "var_f", "KL"),
    ),
):
    register_family(_fam)


def admissibility(thm, fam: Family):
    """``admissible(point, values) -> bool`` for :func:`kdtheory.search.search_counterexample`
    and a counter of the cases whose assumptions were not met or could not be checked."""
    counts = {"not_met": 0, "unchecked": 0}

    def admissible(point: dict, values: dict) -> bool:
        verdicts = [fam.discharge(a, point, values) for a in thm.assumptions]
        if any(v is False for v in verdicts):
            counts["not_met"] += 1
            return False
        if any(v is None for v in verdicts):
            counts["unchecked"] += 1
        return True

    return admissible, counts
