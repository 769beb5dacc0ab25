"""Estimates of a theorem's inputs from a real (or simulated) distillation, with intervals.

Every estimator returns an :class:`Estimate`: a value, a two-sided interval at ``level``, the
method and a note on what the interval does *not* cover.  An estimate is a statistical statement
about resampled training sets, never a certificate: its ``str`` says "estimated, not certified",
and so does every :func:`evaluate_interval` result built on one.

* :func:`kn_gaussian` -- ``K_n = E_D KL(P_{W_S|D} || P_{W_T|D})`` (THEORY §1) from per-dataset
  Gaussian posteriors (Laplace or moment-matched): the exact Gaussian KL per set (THEORY §2,
  stacked array code), averaged, with a CLT (or bootstrap) interval over the sets.
* :func:`mean_over_sets` -- the mean of any per-dataset values with the same interval (e.g.
  per-set KLs computed in parallel tasks, :mod:`kdtheory.experiment`).
* :func:`kn_samples` -- ``K_n`` from samples of both laws per dataset, by the k-nearest-neighbour
  KL estimator of Wang, Kulkarni and Verdu (2009); biased at finite sample size (see its note).
* :func:`gen_from_losses`, :func:`dgen_paired` -- ``gen`` from per-dataset held-out minus training
  losses, and ``dgen = gen_S - gen_T`` with a paired interval (both learners on the same sets).
* :func:`hoeffding_proxy` -- the valid sub-Gaussian proxy ``l_max - l_min`` of a bounded loss
  (THEORY §3); :func:`plugin_variance` -- a plug-in variance of the gap, labelled as *not* a valid
  sub-Gaussian proxy (THEORY §8 N7).

:func:`evaluate_interval` (also :meth:`kdtheory.theorems.base.Theorem.evaluate_interval`)
propagates numbers, ``(lo, hi)`` pairs and estimates through a theorem's sympy statement in
interval arithmetic with arb-ball ends (the translator of :mod:`kdtheory.certified`) and reports both sides' intervals, a verdict in
``holds`` / ``violated`` / ``undecided`` and the vacuity against :meth:`Theorem.trivial_bound`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .certified import CERTIFIED, EQUAL, UNDECIDED, VIOLATED, ball

__all__ = [
    "Estimate",
    "IntervalEvaluation",
    "ESTIMATED",
    "mean_over_sets",
    "kn_gaussian",
    "kn_samples",
    "gen_from_losses",
    "dgen_paired",
    "hoeffding_proxy",
    "plugin_variance",
    "evaluate_interval",
]

ESTIMATED = "estimated, not certified"


@dataclass(frozen=True)
class Estimate:
    """``value`` with the interval ``[low, high]`` at confidence ``level`` (e.g. 0.95) by
    ``method``; ``note`` says what the interval leaves out (bias, validity)."""

    value: float
    low: float
    high: float
    level: float
    method: str
    note: str = ""

    def __post_init__(self):
        if not (self.low <= self.value <= self.high):
            raise ValueError(
                f"need low <= value <= high, got {self.low}, {self.value}, {self.high}"
            )
        if not 0 < self.level < 1:
            raise ValueError(f"level must lie in (0, 1), got {self.level!r}")

    def covers(self, x: float) -> bool:
        """Whether ``x`` lies in ``[low, high]``."""
        return bool(self.low <= x <= self.high)

    def __str__(self) -> str:
        text = (
            f"{self.value:.6g} [{self.low:.6g}, {self.high:.6g}] "
            f"({self.level:.0%} {self.method}; {ESTIMATED})"
        )
        return f"{text}; {self.note}" if self.note else text


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    from scipy import stats  # imported on first use (start-up time)

    return float(stats.norm.ppf(0.5 + level / 2))


def _per_set(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: need a 1-d array of at least 2 finite per-dataset values")
    return x


def _mean_estimate(x, level: float, method: str, note: str = "", bootstrap: int = 0, rng=None):
    """The mean of the per-dataset values ``x`` with a CLT interval (``mean +/- z se``), or a
    percentile bootstrap interval from ``bootstrap`` resamples of the datasets."""
    x = _per_set("per-dataset values", x)
    mean, z = float(x.mean()), _z(level)
    if bootstrap:
        rng = np.random.default_rng(rng)
        idx = rng.integers(0, x.size, size=(int(bootstrap), x.size))
        means = x[idx].mean(axis=1)
        lo, hi = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
        lo, hi = min(float(lo), mean), max(float(hi), mean)
        method = (
            f"{method}, percentile bootstrap over {x.size} datasets ({int(bootstrap)} resamples)"
        )
    else:
        half = z * float(x.std(ddof=1)) / math.sqrt(x.size)
        lo, hi = mean - half, mean + half
        method = f"{method}, CLT interval over {x.size} datasets"
    return Estimate(mean, lo, hi, level, method, note)


def mean_over_sets(
    per_set, method: str, note: str = "", level: float = 0.95, bootstrap: int = 0, rng=None
) -> Estimate:
    """The mean of per-dataset values (one value per resampled training set, e.g. a ``KL_D``
    computed elsewhere, or a per-set average over posterior draws) with a CLT interval over the
    sets, or a percentile bootstrap one; what :func:`kn_gaussian` and :func:`gen_from_losses`
    do with their per-set values.  ``method`` names the per-set quantity and ``note`` says what
    the interval leaves out."""
    return _mean_estimate(per_set, level, method, note, bootstrap, rng)


def _covariances(name: str, cov, means: np.ndarray) -> np.ndarray:
    """``(N, d, d)`` covariances from a stack, one ``(d, d)`` matrix, or per-set / shared
    isotropic variances (a scalar or an ``(N,)`` array)."""
    n_sets, d = means.shape
    cov = np.asarray(cov, dtype=float)
    if cov.ndim <= 1:
        var = np.broadcast_to(cov, (n_sets,))
        if np.any(var <= 0):
            raise ValueError(f"{name}: variances must be positive")
        return var[:, None, None] * np.eye(d)
    cov = np.broadcast_to(cov, (n_sets, d, d))
    return cov


def kn_gaussian(
    mean_s, cov_s, mean_t, cov_t, level: float = 0.95, bootstrap: int = 0, rng=None
) -> Estimate:
    """``K_n`` from Gaussian posteriors ``N(mean_s[j], cov_s[j])`` (student) and
    ``N(mean_t[j], cov_t[j])`` (teacher) fitted on resampled training sets ``j = 1..N``.

    Means are ``(N, d)``; a covariance is ``(N, d, d)``, one ``(d, d)`` matrix, or isotropic
    variances (scalar or ``(N,)``).  Each ``KL_D`` is the exact Gaussian KL (THEORY §2, the KL
    registry's cancellation-free form, stacked); their average estimates ``K_n`` (THEORY §1) with
    a CLT interval, or a bootstrap one if ``bootstrap`` resamples are asked for.  The interval
    covers sampling over datasets only: a Gaussian (Laplace) posterior that misfits the true one
    is not accounted for.  Covariances must be symmetric positive definite and reasonably
    conditioned (the stacked array code has no high-precision fallback, unlike
    :func:`kdtheory.divergences.kl`; an ill-conditioned Laplace covariance is better passed
    through the registry one set at a time)."""
    from .models.gaussian_pair_arrays import _kl_gaussian

    mean_s, mean_t = (np.atleast_2d(np.asarray(m, dtype=float)) for m in (mean_s, mean_t))
    if mean_s.shape != mean_t.shape:
        raise ValueError(
            f"student and teacher means differ in shape: {mean_s.shape}, {mean_t.shape}"
        )
    kl = _kl_gaussian(
        mean_s, _covariances("cov_s", cov_s, mean_s), mean_t, _covariances("cov_t", cov_t, mean_t)
    )
    note = "sampling over datasets only; the Gaussian posterior fit is taken as exact"
    return _mean_estimate(kl, level, "mean of exact Gaussian KLs", note, bootstrap, rng)


def knn_kl(x, y, k: int = 1) -> float:
    """Wang--Kulkarni--Verdu (2009) ``k``-NN estimate of ``KL(P || Q)`` from ``x ~ P`` (``(n,
    d)``) and ``y ~ Q`` (``(m, d)``): ``(d/n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n-1))``,
    ``rho_k`` the distance from ``x_i`` to its ``k``-th neighbour in ``x`` (itself excluded),
    ``nu_k`` to its ``k``-th neighbour in ``y``.  Consistent, biased at finite sizes."""
    from scipy.spatial import cKDTree

    x, y = (np.asarray(a, dtype=float) for a in (x, y))
    x, y = (a[:, None] if a.ndim == 1 else a for a in (x, y))
    n, d = x.shape
    rho = cKDTree(x).query(x, k=k + 1)[0][:, k]
    nu = cKDTree(y).query(x, k=k)[0]
    nu = nu[:, k - 1] if k > 1 else nu
    if np.any(rho <= 0):
        raise ValueError("knn_kl: repeated sample points (zero neighbour distance)")
    return float(d * np.mean(np.log(nu / rho)) + math.log(y.shape[0] / (n - 1)))


def kn_samples(samples_s, samples_t, k: int = 1, level: float = 0.95) -> Estimate:
    """``K_n`` from samples (SGLD or MCMC draws) of both weight laws per training set:
    ``samples_s[j]`` (``(M, d)``) from ``P_{W_S|D_j}``, ``samples_t[j]`` from ``P_{W_T|D_j}``.
    Each ``KL_D`` by :func:`knn_kl`, averaged over sets, CLT interval over sets.  For low ``d``
    only: the estimator's bias (of order ``M^(-1/d)``, and from the ``k``-NN density
    approximation) is not in the interval, which can therefore miss (``benchmarks/coverage.py``)."""
    per = np.array([knn_kl(xs, xt, k) for xs, xt in zip(samples_s, samples_t, strict=True)])
    m, d = np.shape(samples_s[0])[0], np.shape(samples_s[0])[-1]
    note = (
        f"k-NN bias (k={k}, {m} draws per law, d={d}) is not in the interval; "
        "reliable in low dimension with many draws only"
    )
    return _mean_estimate(per, level, f"mean of {k}-NN KL estimates (Wang-Kulkarni-Verdu)", note)


def gen_from_losses(train_losses, heldout_losses, level: float = 0.95) -> Estimate:
    """``gen = E[L_mu(W) - L_D(W)]`` (THEORY §1) from one learner on ``N`` resampled training
    sets: ``heldout_losses[j]`` the loss on fresh held-out data (an unbiased estimate of
    ``L_mu(W_j)``), ``train_losses[j]`` on its own training set.  CLT interval over sets."""
    gaps = _per_set("heldout_losses", heldout_losses) - _per_set("train_losses", train_losses)
    return _mean_estimate(gaps, level, "mean held-out minus training loss")


def dgen_paired(
    student_train, student_heldout, teacher_train, teacher_heldout, level: float = 0.95
) -> Estimate:
    """``dgen = gen_S - gen_T`` with a *paired* interval: student and teacher on the same
    ``N`` training sets (and held-out data), the per-set difference of their gaps averaged, so
    the variation the two share cancels."""
    gap_s = _per_set("student_heldout", student_heldout) - _per_set("student_train", student_train)
    gap_t = _per_set("teacher_heldout", teacher_heldout) - _per_set("teacher_train", teacher_train)
    if gap_s.shape != gap_t.shape:
        raise ValueError("dgen_paired: student and teacher need the same training sets")
    return _mean_estimate(gap_s - gap_t, level, "paired mean of gap differences")


def hoeffding_proxy(l_min: float, l_max: float) -> float:
    """The sub-Gaussian proxy ``sigma = l_max - l_min`` of the gap for a loss declared to lie in
    ``[l_min, l_max]`` (Hoeffding's lemma, THEORY §3): valid under any law, nothing estimated."""
    from .assumptions import BoundedLoss

    return float(BoundedLoss(l_min=l_min, l_max=l_max).sigma())


def plugin_variance(gaps, level: float = 0.95) -> Estimate:
    """The sample variance of per-dataset gaps with a chi-square interval (normal data).  **Not a
    valid sub-Gaussian proxy**: a variance does not bound the CGF of an unbounded gap
    (THEORY §8 N7, where a bound using it is false); a bound evaluated with it is a heuristic."""
    from scipy import stats  # imported on first use (start-up time)

    g = _per_set("gaps", gaps)
    n, var = g.size, float(g.var(ddof=1))
    lo = (n - 1) * var / stats.chi2.ppf(0.5 + level / 2, n - 1)
    hi = (n - 1) * var / stats.chi2.ppf(0.5 - level / 2, n - 1)
    note = "a plug-in variance is NOT a valid sub-Gaussian proxy (THEORY §8 N7)"
    return Estimate(var, float(lo), float(hi), level, "sample variance, chi-square interval", note)


# -- interval evaluation of a theorem ----------------------------------------------------------


@dataclass(frozen=True)
class IntervalEvaluation:
    """Both sides of a statement as intervals over all inputs in their intervals.

    ``verdict``: ``holds`` (the slack is ``>= 0`` for every input in the intervals),
    ``violated`` (``< 0`` for every one) or ``undecided``.  ``vacuity``: ``vacuous`` (the right
    side is at or past :meth:`Theorem.trivial_bound` throughout), ``not vacuous``, ``undecided``,
    or ``None`` without a trivial bound.  ``label`` is ``"estimated, not certified"`` when an input
    was an :class:`Estimate` and ``"interval inputs"`` otherwise."""

    theorem: str
    lhs: tuple[float, float]
    rhs: tuple[float, float]
    verdict: str
    vacuity: str | None
    trivial: tuple[float, float] | None
    estimated: bool

    @property
    def label(self) -> str:
        return ESTIMATED if self.estimated else "interval inputs"

    def __str__(self) -> str:
        vac = f", {self.vacuity}" if self.vacuity else ""
        return (
            f"{self.theorem}: lhs in [{self.lhs[0]:.6g}, {self.lhs[1]:.6g}], "
            f"rhs in [{self.rhs[0]:.6g}, {self.rhs[1]:.6g}]: {self.verdict}{vac} ({self.label})"
        )


class _Interval:
    """``[lo, hi]`` with both ends arb balls (rounding stays rigorous): endpoint interval
    arithmetic that :func:`kdtheory.certified.to_arb` evaluates unchanged (it calls only these
    operators and methods).  Unlike a single midpoint-radius ball it is exact at the corners for a
    statement monotone in each input (each input used once), e.g. ``sqrt(2 Esigma2 K_n)``."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi=None):
        self.lo, self.hi = lo, lo if hi is None else hi

    @staticmethod
    def lift(x) -> _Interval:
        return x if isinstance(x, _Interval) else _Interval(ball(x) if not hasattr(x, "mid") else x)

    def ball(self):
        return self.lo.union(self.hi)

    def _corners(self, other, op) -> _Interval:
        o = _Interval.lift(other)
        c = [op(a, b) for a in (self.lo, self.hi) for b in (o.lo, o.hi)]
        lo, hi = c[0], c[0]
        for x in c[1:]:
            lo, hi = lo.min(x), hi.max(x)
        return _Interval(lo, hi)

    def __add__(self, other):
        o = _Interval.lift(other)
        return _Interval(self.lo + o.lo, self.hi + o.hi)

    __radd__ = __add__

    def __neg__(self):
        return _Interval(-self.hi, -self.lo)

    def __sub__(self, other):
        return self + (-_Interval.lift(other))

    def __rsub__(self, other):
        return _Interval.lift(other) + (-self)

    def __mul__(self, other):
        return self._corners(other, lambda a, b: a * b)

    __rmul__ = __mul__

    def _reciprocal(self):
        if self.lo > 0 or self.hi < 0:
            return _Interval(1 / self.hi, 1 / self.lo)
        inf = self.lo.pos_inf()
        return _Interval(-inf, inf)

    def __truediv__(self, other):
        return self * _Interval.lift(other)._reciprocal()

    def __rtruediv__(self, other):
        return _Interval.lift(other) * self._reciprocal()

    def __pow__(self, other):  # a positive base: exp(y log x)
        return (_Interval.lift(other) * self.log()).exp()

    def __rpow__(self, other):
        return _Interval.lift(other) ** self

    def __abs__(self):
        if self.lo >= 0:
            return self
        if self.hi <= 0:
            return -self
        zero = self.lo * 0
        return _Interval(zero, (-self.lo).max(self.hi))

    def _increasing(self, f):
        return _Interval(f(self.lo), f(self.hi))

    def sqrt(self):
        return self.nonnegative_part()._increasing(lambda x: x.sqrt())

    def rsqrt(self):
        return 1 / self.sqrt()

    def log(self):
        return self._increasing(lambda x: x.log())

    def exp(self):
        return self._increasing(lambda x: x.exp())

    def lambertw(self):
        return self._increasing(lambda x: x.lambertw())

    def nonnegative_part(self):
        return self._increasing(lambda x: x.nonnegative_part())

    def max(self, other):
        o = _Interval.lift(other)
        return _Interval(self.lo.max(o.lo), self.hi.max(o.hi))

    def min(self, other):
        o = _Interval.lift(other)
        return _Interval(self.lo.min(o.lo), self.hi.min(o.hi))


def _input_interval(name: str, v) -> _Interval:
    if isinstance(v, Estimate):
        v = (v.low, v.high)
    if isinstance(v, tuple):
        if len(v) != 2:
            raise ValueError(f"{name}: an interval is a (lo, hi) pair, got {v!r}")
        lo, hi = (float(x) for x in v)
        if not lo <= hi:
            raise ValueError(f"{name}: need lo <= hi, got {v!r}")
        return _Interval(ball(lo), ball(hi))
    return _Interval(ball(v))


def _ends(x) -> tuple[float, float]:
    """The enclosure's ends as doubles, rounded outward."""
    x = _Interval.lift(x)
    lo, hi = x.lo.lower(), x.hi.upper()
    flo, fhi = float(lo), float(hi)
    if math.isfinite(flo) and ball(flo) > lo:
        flo = math.nextafter(flo, -math.inf)
    if math.isfinite(fhi) and ball(fhi) < hi:
        fhi = math.nextafter(fhi, math.inf)
    return flo, fhi


_VACUITY = {CERTIFIED: "vacuous", EQUAL: "vacuous", VIOLATED: "not vacuous", UNDECIDED: "undecided"}
_VERDICTS = {CERTIFIED: "holds", EQUAL: "holds", VIOLATED: "violated", UNDECIDED: "undecided"}


def evaluate_interval(theorem, prec: int = 128, **values) -> IntervalEvaluation:
    """See :meth:`kdtheory.theorems.base.Theorem.evaluate_interval`."""
    from .certified import _decide, _in_domain, _statement_exprs, require_flint, to_arb

    flint = require_flint()
    lhs_e, rhs_e = _statement_exprs(theorem)
    triv = theorem.trivial_bound()
    need = {s.name for s in lhs_e.free_symbols | rhs_e.free_symbols}
    missing = sorted(need - set(values))
    if missing:
        raise ValueError(f"{theorem.id}: missing values for {', '.join(missing)}")
    old = flint.ctx.prec
    try:
        flint.ctx.prec = prec
        vals = {k: _in_domain(k, _input_interval(k, v)) for k, v in values.items()}
        lhs, rhs = (_Interval.lift(to_arb(e, vals)) for e in (lhs_e, rhs_e))
        slack = (rhs - lhs if theorem.is_upper else lhs - rhs).ball()
        # an equality within the ball (point inputs at an equality witness) is consistent
        # with the statement, as in :func:`kdtheory.certified.certify`
        sizes = [x.ball() for x in (lhs, rhs, *vals.values())]
        verdict = _VERDICTS[_decide(slack, sizes)]
        vacuity, triv_ends = None, None
        if triv is not None and {s.name for s in triv.free_symbols} <= set(vals):
            t = _Interval.lift(to_arb(triv, vals))
            past = (rhs - t if theorem.is_upper else t - rhs).ball()
            # at the trivial bound within the ball (an equality) counts as vacuous
            vacuity = _VACUITY[_decide(past, [rhs.ball(), t.ball()])]
            triv_ends = _ends(t)
    finally:
        flint.ctx.prec = old
    return IntervalEvaluation(
        theorem=theorem.id,
        lhs=_ends(lhs),
        rhs=_ends(rhs),
        verdict=verdict,
        vacuity=vacuity,
        trivial=triv_ends,
        estimated=any(isinstance(v, Estimate) for v in values.values()),
    )
