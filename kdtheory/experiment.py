"""A real distillation, end to end: teacher -> KD student on scikit-learn's ``breast_cancer`` and
``digits``, every applicable bound evaluated from estimated inputs (issue 14, items 5-6).

**Population and training sets.**  The population ``mu`` is the empirical distribution of the
whole dataset (569 or 1797 labelled points, features standardised once with the whole
dataset's mean and standard deviation, a fixed preprocessing).  Each of ``sets`` training sets
``D`` draws ``n`` points iid from ``mu`` (with replacement), exactly the sampling of THEORY §1,
and the population risk ``L_mu(w)`` is computed exactly, as the mean loss over all points: no
held-out split whose own sampling error would be shared by every set and left out of the
intervals.  (The gaps are those for this ``mu``: its support contains the training points, so
they are somewhat smaller than against fresh data.)  The loss is the 0-1 loss, in ``[0, 1]``, so
every gap lies in ``[-1, 1]``: Hoeffding's proxy ``sigma = 1`` is valid under any law (THEORY
§3, :func:`kdtheory.estimate.hoeffding_proxy`) and the loss range gives the trivial bounds
``|dgen| <= 2``, ``|gen_S| <= 1`` against which vacuity is judged.

**Learners and kernels** (:mod:`kdtheory.learners`).  Teacher: L2-regularised softmax regression
(logistic for the two classes of ``breast_cancer``, multinomial with 10 classes for ``digits``) on
every input, hard labels.  Student: the same model trained on the KD target
``(1 - alpha) y + alpha softmax(z_T / T)`` (``z_T`` the teacher's MAP logits, temperature ``T``),
either on every input (``same``) or on a subset (``bottleneck``: ``breast_cancer``'s ten "mean"
features; the 16 ``digits`` pixels in even rows and columns).  Each kernel is the Laplace
Gaussian ``N(W*, (beta Hess F)^-1)`` of its regularised loss ``F``, for every ``beta`` of a grid
(the Gibbs inverse temperature: 1 = the Bayes posterior of the prior ``N(0, I/lam)``; larger
``beta`` concentrates the kernel at the MAP ``W*``, which does not depend on ``beta``, so one fit
serves every ``beta``); a bottleneck student's hidden weights follow the prior exactly, so both
laws live on one weight space and ``KL_D`` is finite.  Predictors are *drawn* from the kernels
(``draws`` per set, the same normal draws for teacher and students and every ``beta``: common
random numbers), so ``gen`` is the gap of the randomised predictor of THEORY §1, and ``KL_D`` is
the exact KL of the very kernels whose gaps are measured.  ``beta`` trades the two against each
other: the mean part of ``KL_D`` grows like ``beta`` (its spread part does not change), while
the drawn predictors of a diffuse kernel (``beta = 1`` on ``digits``) err far more often than
the MAP.

**Estimates** (:mod:`kdtheory.estimate`; intervals at ``level`` over the training sets; every one
"estimated, not certified").  ``gen_T``, ``gen_S`` (:func:`gen_from_losses`), ``dgen`` (paired,
:func:`dgen_paired`), ``K_n`` (the mean of the exact per-set Gaussian KLs, as
:func:`kn_gaussian`), and the teacher-gap statistics some bounds need, all under the joint law of
``(D, W_T)``: ``V_g = E (g - c)^2 >= Var g`` (``c`` the pooled mean gap), the CGF
``Lambda(theta) = log E exp(theta (g - gen_T))`` and the moments ``E exp(-eta g)`` of the central
condition; the expected-sharpness gap ``Sh_rho`` from smoothed teacher draws ``W_T + rho xi``.

**Bounds** (THEORY §3-§5; each a registered theorem, evaluated by
:meth:`kdtheory.theorems.base.Theorem.evaluate_interval`): ``U0``, ``U1`` and ``U-uniform`` with
Hoeffding's proxy 1; ``U-gamma`` and ``L-gamma`` with Bernstein's sub-gamma constants for a gap
bounded above by 1 and below by -1 (``b_g = (1 - gen_T)/3`` upper, ``(1 + gen_T)/3`` lower; valid
with ``V_g >= Var g``); ``U-joint`` and ``U-joint-lower`` with the plug-in CGF; ``L`` with the
central condition checked on the upper end of the interval of ``E exp(-eta g)`` (not applicable
where no ``eta`` on the grid passes); ``S-smooth`` with the smoothed teacher ``T^rho``.  The free
parameters ``theta``, ``eta``, ``rho`` are picked from fixed grids by the point estimate of the
bound (a selection on the same data, not in the intervals).  Theorem ``S`` is not applicable:
it needs a teacher of bounded support and a C^2 gap (THEORY §5), and a Laplace kernel has
unbounded support and the 0-1 loss is not differentiable.

**Tasks.**  The work is a plain map over independent task units (dataset, a chunk of training
sets); training set ``j`` of dataset ``k`` takes its randomness from the child of
``numpy.random.SeedSequence(seed)`` with spawn key ``(k, j)`` (what
``SeedSequence(seed).spawn(k + 1)[k].spawn(j + 1)[j]`` gives), so results do not depend on the
chunking or on the datasets chosen, and a larger ``sets`` extends a smaller run.  Pass
``mapper=`` (e.g. a process pool's ``map``) to :func:`run_experiment` to run the tasks
elsewhere; :func:`run_task` and its argument are picklable.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cache

import numpy as np

from . import learners
from .estimate import (
    ESTIMATED,
    Estimate,
    IntervalEvaluation,
    dgen_paired,
    gen_from_losses,
    hoeffding_proxy,
    mean_over_sets,
)

__all__ = [
    "DATASETS",
    "SIZES",
    "STUDENTS",
    "Config",
    "Task",
    "config_for_size",
    "tasks",
    "kernels",
    "run_set",
    "run_task",
    "run_experiment",
    "summarise",
    "tables",
    "to_json",
    "iter_bounds",
    "paired_form",
]

#: the loss range of the 0-1 loss (THEORY §3): gaps in [-1, 1], Hoeffding proxy 1
L_MIN, L_MAX = 0.0, 1.0


@dataclass(frozen=True)
class DatasetSpec:
    """A scikit-learn dataset (shipped with the package, no download): its loader, default
    training-set size ``n``, the student's bottleneck and a stable index for the seeds."""

    name: str
    loader: str
    n: int
    bottleneck: str
    index: int


DATASETS = {
    "breast_cancer": DatasetSpec(
        "breast_cancer", "load_breast_cancer", 100, "the 10 'mean' features of 30", 0
    ),
    "digits": DatasetSpec(
        "digits", "load_digits", 300, "the 16 pixels in even rows and columns of 64", 1
    ),
}

#: ``--size`` names: (training sets, posterior draws per set and kernel)
SIZES = {"tiny": (3, 4), "small": (12, 10), "default": (40, 20), "large": (160, 40)}
#: student capacities: every input, or a feature bottleneck
STUDENTS = ("same", "bottleneck")


def config_for_size(size) -> tuple[int, int]:
    """``(sets, draws)`` for a ``--size``: a name of :data:`SIZES`, or a positive number that
    multiplies the default number of sets (at the default draws)."""
    if isinstance(size, str) and size in SIZES:
        return SIZES[size]
    try:
        x = float(size)
    except (TypeError, ValueError):
        raise ValueError(
            f"size must be one of {', '.join(SIZES)} or a positive number, got {size!r}"
        ) from None
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(
            f"size must be one of {', '.join(SIZES)} or a positive number, got {size!r}"
        )
    sets, draws = SIZES["default"]
    return max(2, round(sets * x)), draws


@dataclass(frozen=True)
class Config:
    """What to run.  ``n=None`` uses each dataset's default training-set size; ``chunk`` is the
    number of training sets per task (results do not depend on it).  ``rhos``, ``etas``,
    ``thetas`` are the grids of the smoothing radius, the central-condition constant and the CGF
    argument."""

    datasets: tuple[str, ...] = tuple(DATASETS)
    sets: int = SIZES["default"][0]
    draws: int = SIZES["default"][1]
    n: int | None = None
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    temperatures: tuple[float, ...] = (1.0, 4.0)
    students: tuple[str, ...] = STUDENTS
    lam: float = 1.0
    betas: tuple[float, ...] = (1.0, 100.0)
    rhos: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
    etas: tuple[float, ...] = tuple(2.0**k for k in range(-2, 11))
    thetas: tuple[float, ...] = tuple(2.0**k for k in range(-2, 9))
    level: float = 0.95
    seed: int = 0
    chunk: int = 4

    def __post_init__(self):
        for name in (
            "datasets",
            "alphas",
            "temperatures",
            "students",
            "betas",
            "rhos",
            "etas",
            "thetas",
        ):
            v = tuple(getattr(self, name))
            if not v:
                raise ValueError(f"{name} must not be empty")
            object.__setattr__(self, name, v)
        bad = [d for d in self.datasets if d not in DATASETS]
        if bad:
            raise ValueError(f"unknown dataset {bad[0]!r}; known: {', '.join(DATASETS)}")
        bad = [s for s in self.students if s not in STUDENTS]
        if bad:
            raise ValueError(f"unknown student {bad[0]!r}; known: {', '.join(STUDENTS)}")
        for name, low in (("sets", 2), ("draws", 1), ("chunk", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        if self.n is not None and (not isinstance(self.n, int) or self.n < 2):
            raise ValueError(f"n must be an integer >= 2, got {self.n!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for a in self.alphas:
            if not 0.0 <= a <= 1.0:
                raise ValueError(f"alpha must lie in [0, 1], got {a!r}")
        for name in ("temperatures", "betas", "etas", "thetas"):
            for v in getattr(self, name):
                if not (v > 0 and math.isfinite(v)):
                    raise ValueError(f"{name} must be positive and finite, got {v!r}")
        for r in self.rhos:
            if not (r > 0 and math.isfinite(r)):
                raise ValueError(f"rhos must be positive and finite, got {r!r}")
        if not (self.lam > 0 and math.isfinite(self.lam)):
            raise ValueError(f"lam must be positive and finite, got {self.lam!r}")
        for name in ("datasets", "students", "alphas", "temperatures", "betas"):
            v = getattr(self, name)
            if len(set(v)) != len(v):
                raise ValueError(f"{name} has repeated values: {v!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must lie in (0, 1), got {self.level!r}")

    def training_size(self, dataset: str) -> int:
        return DATASETS[dataset].n if self.n is None else self.n

    def settings(self) -> list[tuple[str, float, float, float]]:
        """``(student, alpha, temperature, beta)`` in table order."""
        return [
            (s, float(a), float(t), float(b))
            for b in self.betas
            for s in self.students
            for t in self.temperatures
            for a in self.alphas
        ]


# -- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """A dataset as the experiment uses it: inputs with the bias column, labels, class count."""

    name: str
    Xb: np.ndarray
    y: np.ndarray
    n_classes: int
    features: int


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(
            "the experiment needs scikit-learn for its datasets: pip install 'kdtheory[experiment]'"
        ) from None
    return datasets


@cache
def load(name: str) -> Data:
    """The dataset ``name`` from scikit-learn (shipped with it: nothing is downloaded), features
    standardised with the whole dataset's mean and standard deviation (a constant feature, such
    as a ``digits`` corner pixel, stays 0)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    X, y = getattr(_sklearn_datasets(), DATASETS[name].loader)(return_X_y=True)
    sd = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return Data(name, learners.with_bias(X), np.asarray(y), int(y.max()) + 1, X.shape[1])


def bottleneck_mask(name: str, p: int) -> np.ndarray:
    """The inputs a ``bottleneck`` student sees (the bias always): ``breast_cancer``'s first ten
    features (the 'mean' ones), the ``digits`` pixels in even rows and even columns."""
    keep = np.zeros(p, dtype=bool)
    keep[0] = True
    if name == "breast_cancer":
        keep[1:11] = True
    else:
        for r in range(0, 8, 2):
            for c in range(0, 8, 2):
                keep[1 + 8 * r + c] = True
    return keep


# -- one training set ---------------------------------------------------------------------------


def kernels(name: str, config: Config, j: int):
    """Training set ``j`` of dataset ``name`` and the kernels fitted on it: ``(idx, teacher,
    students, rng)`` with ``idx`` the indices of the ``n`` points drawn iid from ``mu``,
    ``students`` a dict from ``(student, alpha, T)`` (``T = None`` at ``alpha = 0``, where it
    plays no role) to the student's kernel (the teacher itself for the ``same`` student at
    ``alpha = 0``: the same objective), and ``rng`` the set's generator, to draw predictors.
    The kernels are those of ``beta = 1``; :meth:`learners.GaussianPosterior.tempered` gives the
    others (the minimisers do not depend on ``beta``)."""
    data = load(name)
    spec = DATASETS[name]
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(spec.index, j)))
    idx = rng.integers(0, data.y.shape[0], size=config.training_size(name))
    Y = np.eye(data.n_classes)[data.y[idx]]
    teacher, z_t = learners.laplace_posterior(data.Xb[idx], Y, config.lam, 1.0)
    students: dict = {}
    for student, alpha, temp, _ in config.settings():
        key = _key(student, alpha, temp)
        if key in students:
            continue
        if student == "same" and alpha == 0:
            students[key] = teacher
            continue
        mask = bottleneck_mask(name, data.Xb.shape[1]) if student == "bottleneck" else None
        students[key], _ = learners.laplace_posterior(
            data.Xb[idx],
            learners.soft_targets(Y, z_t, alpha, temp),
            config.lam,
            1.0,
            mask=mask,
            w0=teacher.mean,
        )
    return idx, teacher, students, rng


def _key(student: str, alpha: float, temp: float):
    return (student, alpha, temp if alpha > 0 else None)


def run_set(name: str, config: Config, j: int) -> dict:
    """Everything measured on training set ``j`` of dataset ``name`` (see the module
    docstring), for each ``beta`` of ``config.betas`` (first axis of the teacher's arrays): the
    teacher's per-draw gaps and its smoothed gaps (mean over draws, per ``rho``); per setting
    (``config.settings()``, which includes ``beta``) the mean risks of the student's draws, the
    exact ``KL_D`` and the ``KL`` to each smoothed teacher.  Draws of a tempered kernel are
    ``W* + L^-T z / sqrt(beta)`` with the same ``z`` for every kernel and ``beta``."""
    data = load(name)
    idx, teacher, students, rng = kernels(name, config, j)
    z = rng.standard_normal((config.draws, teacher.dim))
    xi = rng.standard_normal((config.draws, teacher.dim))
    betas = config.betas

    def risks(draws):
        losses = learners.zero_one_losses(draws, data.Xb, data.y, data.n_classes)
        return losses.mean(axis=1), losses[:, idx].mean(axis=1)  # L_mu, L_D per draw

    u_t = teacher.draws(z) - teacher.mean  # L^-T z: the beta = 1 deviations
    map_pop, map_train = risks(teacher.mean[None, :])
    pop_t, train_t, g_rho = [], [], []
    for beta in betas:
        w_t = teacher.mean + u_t / math.sqrt(beta)
        pop, train = risks(w_t)
        pop_t.append(pop)
        train_t.append(train)
        g_rho.append([float(np.mean(np.subtract(*risks(w_t + rho * xi)))) for rho in config.rhos])
    eig = learners.covariance_eig(teacher)
    per_key = {}
    for key, post in students.items():
        u = post.draws(z) - post.mean  # common random numbers with the teacher
        mean_term, spread = learners.gaussian_kl_parts(post, teacher)
        per_key[key] = (
            [risks(post.mean + u / math.sqrt(beta)) for beta in betas],
            [beta * mean_term + spread for beta in betas],
            learners.smoothed_kl(post, eig, teacher.mean, config.rhos, betas),
        )
    rows = []
    for student, alpha, temp, beta in config.settings():
        r, kls, smooth = per_key[_key(student, alpha, temp)]
        b = betas.index(beta)
        rows.append((float(r[b][1].mean()), float(r[b][0].mean()), kls[b], smooth[b]))
    return {
        "map_pop_T": float(map_pop[0]),
        "map_train_T": float(map_train[0]),
        "train_T": np.array([t.mean() for t in train_t]),
        "pop_T": np.array([p.mean() for p in pop_t]),
        "g_T": np.array([p - t for p, t in zip(pop_t, train_t, strict=True)]),
        "g_T_rho": np.array(g_rho),
        "train_S": np.array([r[0] for r in rows]),
        "pop_S": np.array([r[1] for r in rows]),
        "kl": np.array([r[2] for r in rows]),
        "kl_rho": np.array([r[3] for r in rows]),
    }


# -- tasks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A task unit: training sets ``start, ..., stop - 1`` of ``dataset`` (picklable)."""

    dataset: str
    start: int
    stop: int
    config: Config


def tasks(config: Config) -> list[Task]:
    """The task units of ``config``: every dataset's sets in chunks of ``config.chunk``."""
    return [
        Task(name, a, min(a + config.chunk, config.sets), config)
        for name in config.datasets
        for a in range(0, config.sets, config.chunk)
    ]


def run_task(task: Task) -> dict:
    """Run one task unit; returns its per-set arrays stacked along a first axis of sets (and
    ``dataset``, ``start``) -- a pure function of the task, so any mapper may run it."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # small matrices; a shared machine
        rows = [run_set(task.dataset, task.config, j) for j in range(task.start, task.stop)]
    out = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    out.update(dataset=task.dataset, start=task.start)
    return out


def run_experiment(
    config: Config | None = None,
    mapper: Callable = map,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run ``config``'s tasks through ``mapper`` (default the built-in ``map``; any ``map``-like
    callable, e.g. a process pool's, works: tasks are independent and picklable), then
    :func:`summarise` them.  ``progress`` (e.g. a line writer to stderr) gets one line per
    finished task."""
    config = Config() if config is None else config
    start = time.perf_counter()
    todo = tasks(config)
    done: dict[str, list[dict]] = {name: [] for name in config.datasets}
    for i, res in enumerate(mapper(run_task, todo), 1):
        done[res["dataset"]].append(res)
        if progress is not None:
            sets = sum(r["train_T"].shape[0] for r in done[res["dataset"]])
            progress(
                f"experiment: task {i}/{len(todo)} ({res['dataset']}: {sets}/{config.sets} "
                f"training sets), {time.perf_counter() - start:.1f} s"
            )
    merged = {}
    for name, parts in done.items():
        parts = sorted(parts, key=lambda r: r["start"])
        merged[name] = {
            k: np.concatenate([r[k] for r in parts])
            for k in parts[0]
            if k not in ("dataset", "start")
        }
    result = summarise(config, merged)
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


# -- estimates and bounds -----------------------------------------------------------------------


def _est(e: Estimate) -> dict:
    return {
        "value": e.value,
        "low": e.low,
        "high": e.high,
        "level": e.level,
        "method": e.method,
        "note": e.note,
    }


def _point(x):
    return x.value if isinstance(x, Estimate) else (sum(x) / 2 if isinstance(x, tuple) else x)


#: bootstrap resamples of the training sets for the teacher's CGF and central-condition slack
BOOTSTRAP = 2000
#: a CGF argument ``s`` is used only where the exponential tilt ``exp(s g)`` of the pooled gap
#: draws keeps an effective sample size of at least this fraction of them (roughly
#: ``|s| sd(g) <= 1``): beyond, a plug-in CGF is driven by the few largest gaps and its bootstrap
#: interval cannot see the unobserved tail
MIN_ESS = 0.5


@dataclass
class _Teacher:
    """The teacher-side estimates every setting of a dataset shares."""

    gen: Estimate
    V_g: Estimate
    b_upper: tuple[float, float]
    b_lower: tuple[float, float]
    cgf_pos: dict = field(default_factory=dict)  # theta -> Estimate of Lambda(theta)
    cgf_neg: dict = field(default_factory=dict)  # theta -> Estimate of Lambda(-theta)
    slack: dict = field(default_factory=dict)  # eta -> Estimate of c*(eta)
    sh: list = field(default_factory=list)  # Estimate of Sh_rho per rho


def _teacher_estimates(config: Config, m: dict, index: int) -> _Teacher:
    """``gen_T``; ``V_g = E (g - c)^2`` (CLT over sets); the centred CGF ``Lambda(+-theta)`` and
    the central-condition slack ``c*(eta) = -log E exp(-eta g) / (eta gen_T)`` (THEORY §4) with
    percentile-bootstrap intervals over the training sets (both need ``gen_T`` and a moment of
    the same gaps, which the bootstrap keeps together); ``Sh_rho`` (paired, CLT)."""
    lvl = config.level
    gen = gen_from_losses(m["train_T"], m["pop_T"], level=lvl)
    g = m["g_T"]  # (sets, draws)
    c = float(g.mean())
    v = mean_over_sets(
        ((g - c) ** 2).mean(axis=1),
        "mean of (g - c)^2 over draws, c = the pooled mean gap",
        "E (g - c)^2 >= Var g under the joint law of (D, W_T) for any c",
        lvl,
    )
    w = L_MAX - L_MIN
    b_up = ((w - gen.high) / 3, (w - gen.low) / 3)  # g <= w: Bernstein, b_g = (w - gen_T)/3
    b_lo = ((w + gen.low) / 3, (w + gen.high) / 3)  # g >= -w
    t = _Teacher(gen, v, b_up, b_lo)
    rng = np.random.default_rng([config.seed, index, 1])
    boot = rng.integers(0, g.shape[0], size=(BOOTSTRAP, g.shape[0]))
    gbar = g.mean(axis=1)
    gen_b = gbar[boot].mean(axis=1)
    q = ((1 - lvl) / 2, (1 + lvl) / 2)
    how = f"percentile bootstrap over {g.shape[0]} training sets ({BOOTSTRAP} resamples)"

    def cgf(s: float):
        """log E exp(s (g - gen_T)) at the data and per bootstrap resample; None where the
        tilt's effective sample size is below :data:`MIN_ESS` (or it overflows)."""
        with np.errstate(over="ignore"):
            e = np.exp(s * (g - c))
        if not np.all(np.isfinite(e)) or e.sum() ** 2 / np.sum(e * e) < MIN_ESS * e.size:
            return None
        a = e.mean(axis=1)
        point = math.log(a.mean()) - s * (gbar.mean() - c)
        return point, np.log(a[boot].mean(axis=1)) - s * (gen_b - c)

    for sign, grid, store in ((1.0, config.thetas, t.cgf_pos), (-1.0, config.thetas, t.cgf_neg)):
        for theta in grid:
            r = cgf(sign * theta)
            if r is not None:
                lo, hi = np.quantile(r[1], q)
                x = max(r[0], 0.0)  # a centred CGF is >= 0 (Jensen)
                store[theta] = Estimate(
                    x,
                    max(min(float(lo), x), 0.0),
                    max(float(hi), x),
                    lvl,
                    f"plug-in CGF at {sign * theta:g}, {how}",
                    "reliable for moderate theta only: at large theta the largest gaps drive it",
                )
    for eta in config.etas:
        r = cgf(-eta)
        if r is None or gen.value <= 0:
            continue
        # a resample with gen_T <= 0 admits no c >= 0 (Jensen): a very negative slack (a
        # finite stand-in for -inf, which np.quantile would turn into NaN)
        safe = np.where(gen_b > 0, gen_b, 1.0)
        cb = np.where(gen_b > 0, 1.0 - r[1] / (eta * safe), -1e300)
        x = 1.0 - r[0] / (eta * gen.value)
        lo, hi = np.quantile(cb, q)
        t.slack[eta] = Estimate(
            x, min(float(lo), x), max(float(hi), x), lvl, f"c*(eta) at eta = {eta:g}, {how}"
        )
    sh = m["g_T_rho"] - gbar[:, None]
    t.sh = [
        mean_over_sets(sh[:, r], "paired mean of smoothed minus plain teacher gaps", level=lvl)
        for r in range(len(config.rhos))
    ]
    return t


def _vacuity(thm, iv: IntervalEvaluation, side: str) -> str:
    """The evaluation's own vacuity when the theorem declares a bounded loss; otherwise the
    same rule (THEORY §3, :meth:`Theorem.trivial_bound`) with the 0-1 loss's range: ``|dgen| <=
    2``, ``|gen_S| <= 1``."""
    if iv.vacuity is not None:
        return iv.vacuity
    t = (2.0 if side == "dgen" else 1.0) * (L_MAX - L_MIN)
    lo, hi = iv.rhs
    if thm.is_upper:
        return "vacuous" if lo >= t else ("not vacuous" if hi < t else "undecided")
    return "vacuous" if hi <= -t else ("not vacuous" if lo > -t else "undecided")


@cache
def paired_form(thm_id: str):
    """A statement on ``gen_S`` (with ``gen_T`` on its right side) rewritten as the equivalent
    statement on ``dgen = gen_S - gen_T``: ``gen_T`` subtracted from both sides.  Student and
    teacher are measured on the same training sets, so ``dgen``'s paired interval is much
    narrower than ``gen_S``'s and ``gen_T``'s taken apart; interval arithmetic on the original
    statement would treat them as unrelated.  Same theorem, same status; not registered."""
    import dataclasses

    import sympy as sp

    from .symbols import symbol
    from .theorems.registry import theorem

    thm = theorem(thm_id)
    gen_s, gen_t, dgen = symbol("gen_S"), symbol("gen_T"), symbol("dgen")
    if thm.lhs != gen_s:
        raise ValueError(f"{thm_id}: not a statement on gen_S")
    rel = sp.Le if thm.is_upper else sp.Ge
    stmt = rel(dgen, sp.collect(sp.expand(thm.rhs - gen_t), gen_t))  # gen_T at most once
    return dataclasses.replace(thm, id=f"{thm.id}@paired", statement=stmt)


def _inputs_json(inputs: dict) -> dict:
    """A bound's inputs: numbers, ``[lo, hi]`` pairs, estimates as value and interval (their
    method is on the setting's or the teacher's own entry)."""
    return {
        k: (
            {"value": v.value, "low": v.low, "high": v.high}
            if isinstance(v, Estimate)
            else list(v)
            if isinstance(v, tuple)
            else v
        )
        for k, v in inputs.items()
    }


def _bound(
    thm_id: str,
    side: str,
    inputs: dict,
    choice: dict | None = None,
    note: str = "",
    dgen: Estimate | None = None,
) -> dict:
    """Evaluate a registered theorem on estimated inputs.  A bound on ``gen_S`` gets its verdict
    from :func:`paired_form` with ``dgen`` (its right side and vacuity from the statement as
    registered)."""
    from .theorems.registry import theorem

    thm = theorem(thm_id)
    iv = thm.evaluate_interval(**inputs)
    vac = _vacuity(thm, iv, side)
    verdict, how = iv.verdict, "the statement as registered, on the intervals"
    extra = {}
    if side == "gen_S":
        paired = {k: v for k, v in inputs.items() if k != "gen_S"}
        pv = paired_form(thm_id).evaluate_interval(dgen=dgen, **paired)
        verdict = pv.verdict
        how = "the equivalent statement on dgen = gen_S - gen_T (paired sets)"
        extra["dgen_form"] = {"statement": str(paired_form(thm_id).statement), "rhs": list(pv.rhs)}
    return {
        **_head(thm, side, applicable=True),
        "lhs": list(iv.lhs),
        "rhs": list(iv.rhs),
        "verdict": verdict,
        "verdict_from": how,
        "vacuity": vac,
        "vacuous": vac == "vacuous",
        "label": iv.label,
        "choice": choice or {},
        "inputs": _inputs_json(inputs),
        "note": note,
        **extra,
    }


def _head(thm, side: str, applicable: bool) -> dict:
    """The fields every bound entry of the JSON starts with."""
    return {
        "theorem": thm.id,
        "status": thm.status.value,
        "ref": thm.ref,
        "bounds": side,
        "kind": thm.kind,
        "applicable": applicable,
    }


def _not_applicable(thm_id: str, side: str, reason: str) -> dict:
    from .theorems.registry import theorem

    return {**_head(theorem(thm_id), side, applicable=False), "reason": reason}


S_REASON = (
    "not applicable: Theorem S needs a teacher kernel supported in a ball and a gap that is C^2 "
    "there (THEORY §5); the Laplace kernel has unbounded support and the 0-1 loss is not "
    "differentiable"
)
SELECTED = "chosen on a fixed grid by the bound's point estimate (same data; not in the interval)"


def _setting_bounds(
    config: Config, t: _Teacher, gen_s: Estimate, dgen: Estimate, K: Estimate, m: dict, i: int
) -> list[dict]:
    """Every registered bound whose inputs can be estimated, for setting ``i``."""
    sigma = hoeffding_proxy(L_MIN, L_MAX)  # 1: valid under any law for a loss in [0, 1]
    lvl = config.level
    root = mean_over_sets(
        np.sqrt(2.0 * sigma**2 * m["kl"][:, i]),
        "mean of sqrt(2 sigma_D^2 KL_D), sigma_D = 1 (Hoeffding)",
        level=lvl,
    )
    out = [
        _bound("U0", "dgen", {"dgen": dgen, "E_D": root}),
        _bound("U1", "dgen", {"dgen": dgen, "K_n": K, "Esigma2": sigma**2}),
        _bound(
            "U-uniform",
            "dgen",
            {"dgen": dgen, "K_n": K, "sigma_bar": sigma, "l_min": L_MIN, "l_max": L_MAX},
        ),
        _bound(
            "U-gamma",
            "dgen",
            {"dgen": dgen, "K_n": K, "V_g": t.V_g, "b_g": t.b_upper},
            note="Bernstein: g <= 1 gives the sub-gamma envelope with V_g >= Var g, "
            "b_g = (1 - gen_T)/3",
        ),
    ]
    # U-joint / U-joint-lower: (K_n + Lambda(+-theta)) / theta at the best theta of the grid
    for thm_id, store, name in (
        ("U-joint", t.cgf_pos, "Lambda_T"),
        ("U-joint-lower", t.cgf_neg, "Lambda_T_neg"),
    ):
        if not store:
            out.append(_not_applicable(thm_id, "dgen", "no theta with a finite CGF estimate"))
            continue
        theta = min(store, key=lambda th: (K.value + store[th].value) / th)
        out.append(
            _bound(
                thm_id,
                "dgen",
                {"dgen": dgen, "K_n": K, name: store[theta], "theta": theta},
                {"theta": theta, "how": SELECTED},
                "plug-in CGF of the teacher's gap under the joint law of (D, W_T)",
            )
        )
    # L: (eta, c) with c the lower end of c*(eta)'s interval, admissible where it is >= 0
    admissible = {eta: min(e.low, 0.999) for eta, e in t.slack.items() if e.low >= 0}
    if not admissible:
        out.append(
            _not_applicable(
                "L",
                "gen_S",
                "not applicable: no eta on the grid passes the estimated central condition "
                f"E exp(-eta g) <= exp(-c eta gen_T) with c >= 0 (the lower end of the "
                f"{lvl:.0%} interval of c*(eta) is negative everywhere; gen_T = "
                f"{t.gen.value:.4g}, THEORY §4)",
            )
        )
    else:
        eta = max(admissible, key=lambda e: admissible[e] * t.gen.value - K.value / e)
        out.append(
            _bound(
                "L",
                "gen_S",
                {"gen_S": gen_s, "gen_T": t.gen, "K_n": K, "eta": eta, "c": admissible[eta]},
                {"eta": eta, "c": admissible[eta], "c_star": _est(t.slack[eta]), "how": SELECTED},
                "(eta, c)-central condition: c is the lower end of the interval of "
                "c*(eta) = -log E exp(-eta g) / (eta gen_T)",
                dgen,
            )
        )
    out.append(
        _bound(
            "L-gamma",
            "gen_S",
            {"gen_S": gen_s, "gen_T": t.gen, "K_n": K, "V_g": t.V_g, "b_g": t.b_lower},
            note="Bernstein: g >= -1 gives the lower-tail envelope with b_g = (1 + gen_T)/3",
            dgen=dgen,
        )
    )
    # S-smooth: rho = 0 (no smoothing) or one of the grid, by the point estimate
    cands = [(0.0, K, 0.0)]
    for r, rho in enumerate(config.rhos):
        k_rho = mean_over_sets(
            m["kl_rho"][:, i, r], f"mean of exact KL_D to T^rho, rho = {rho:g}", level=lvl
        )
        cands.append((rho, k_rho, t.sh[r]))
    rho, k_rho, sh = min(
        cands, key=lambda x: _point(x[2]) + math.sqrt(2.0 * sigma**2 * max(x[1].value, 0.0))
    )
    out.append(
        _bound(
            "S-smooth",
            "gen_S",
            {
                "gen_S": gen_s,
                "gen_T": t.gen,
                "Sh_rho": sh,
                "Esigma2_rho": sigma**2,
                "K_n_rho": k_rho,
            },
            {"rho": rho, "how": SELECTED},
            "smoothed teacher T^rho = N(W_T*, Sigma_T + rho^2 I), Hoeffding proxy 1 under it",
            dgen,
        )
    )
    out.append(_not_applicable("S", "dgen", S_REASON))
    return out


_TEACHER_KEYS = ("train_T", "pop_T", "g_T", "g_T_rho")


def _risk(x, what: str, level: float) -> Estimate:
    return mean_over_sets(x, f"mean population 0-1 error of {what}", level=level)


def summarise(config: Config, merged: dict[str, dict]) -> dict:
    """The result document (what ``--json`` writes) from the merged per-set arrays."""
    doc = {
        "kdtheory_experiment": 1,
        "label": ESTIMATED,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        "loss": {"name": "0-1", "l_min": L_MIN, "l_max": L_MAX},
        "datasets": {},
    }
    lvl = config.level
    for name, m in merged.items():
        data, spec = load(name), DATASETS[name]
        teachers, views = [], []
        for b, beta in enumerate(config.betas):
            view = {k: m[k][:, b] for k in _TEACHER_KEYS}
            t = _teacher_estimates(config, view, spec.index)
            views.append((view, t))
            teachers.append(
                {
                    "beta": beta,
                    "gen_T": _est(t.gen),
                    "risk_T": _est(_risk(view["pop_T"], "the teacher's draws", lvl)),
                    "V_g": _est(t.V_g),
                    "b_g_upper": list(t.b_upper),
                    "b_g_lower": list(t.b_lower),
                }
            )
        rows = []
        for i, (student, alpha, temp, beta) in enumerate(config.settings()):
            view, t = views[config.betas.index(beta)]
            gen_s = gen_from_losses(m["train_S"][:, i], m["pop_S"][:, i], level=lvl)
            dgen = _dgen(m, view, i, lvl)
            K = mean_over_sets(
                m["kl"][:, i],
                "mean of exact Gaussian KLs",
                "sampling over datasets only; the Laplace kernels are the kernels used, so "
                "KL_D is exact for them",
                lvl,
            )
            rows.append(
                {
                    "student": student,
                    "alpha": alpha,
                    "temperature": temp,
                    "beta": beta,
                    "risk_S": _est(_risk(m["pop_S"][:, i], "the student's draws", lvl)),
                    "gen_S": _est(gen_s),
                    "dgen": _est(dgen),
                    "K_n": _est(K),
                    "bounds": _setting_bounds(config, t, gen_s, dgen, K, m, i),
                }
            )
        doc["datasets"][name] = {
            "points": int(data.y.shape[0]),
            "features": data.features,
            "classes": data.n_classes,
            "weights": (data.n_classes - 1) * (data.features + 1),
            "n": config.training_size(name),
            "sets": int(m["g_T"].shape[0]),
            "draws": int(m["g_T"].shape[2]),
            "bottleneck": spec.bottleneck,
            "map_risk_T": _est(_risk(m["map_pop_T"], "the teacher's MAP predictor", lvl)),
            "teachers": teachers,
            "settings": rows,
        }
    return doc


def _dgen(m: dict, teacher: dict, i: int, level: float) -> Estimate:
    """Paired ``dgen``; exactly 0 (a zero-width interval) where every per-set difference is 0
    (the ``alpha = 0`` student with the teacher's inputs is the teacher)."""
    pop_t, train_t = teacher["pop_T"], teacher["train_T"]
    diff = (m["pop_S"][:, i] - m["train_S"][:, i]) - (pop_t - train_t)
    if np.all(diff == 0):
        return Estimate(0.0, 0.0, 0.0, level, "paired mean of gap differences (all zero)")
    return dgen_paired(m["train_S"][:, i], m["pop_S"][:, i], train_t, pop_t, level)


# -- output -------------------------------------------------------------------------------------

#: the bound columns of the printed table, in order
TABLE_BOUNDS = (
    "U0",
    "U-uniform",
    "U-gamma",
    "U-joint",
    "U-joint-lower",
    "L",
    "L-gamma",
    "S-smooth",
)
_VERDICT = {"holds": "ok", "violated": "VIOLATED", "undecided": "?"}


def _iv(e: dict, digits: int = 4, sign: bool = False) -> str:
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f"{f.format(e['value'])} [{f.format(e['low'])}, {f.format(e['high'])}]"


def _num(x: float) -> str:
    a = abs(x)
    if a >= 1e5:
        return f"{x:.2e}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def _cell(b: dict) -> str:
    """The bound's conservative end (upper end of an upper bound's right side, lower end of a
    lower bound's), its verdict and ``vac`` if vacuous (``vac?`` if undecided)."""
    if not b["applicable"]:
        return "n/a"
    x = b["rhs"][1] if b["kind"] == "upper bound" else b["rhs"][0]
    v = _VERDICT[b["verdict"]]
    vac = {"vacuous": " vac", "undecided": " vac?"}.get(b["vacuity"], "")
    return f"{_num(x)} {v}{vac}"


def _lead(r: dict) -> str:
    return f"  {r['student']:<10} {r['alpha']:>5.2f} {r['temperature']:>4g}  "


def tables(doc: dict) -> str:
    """The printed report: per dataset and Gibbs inverse temperature ``beta``, the measured
    table and the bounds table."""
    lines: list[str] = []
    cfg = doc["config"]
    for name, d in doc["datasets"].items():
        lines += [
            f"{name}: mu = the empirical distribution of its {d['points']} points "
            f"({d['features']} features, {d['classes']} classes); {d['sets']} training sets of "
            f"n = {d['n']} iid from mu; {d['draws']} posterior draws per set and kernel; 0-1 loss",
            f"  teacher: L2 softmax regression on every input ({d['weights']} weights, lam = "
            f"{cfg['lam']:g}), hard labels; its MAP predictor errs {_iv(d['map_risk_T'])}",
            f"  students: 'same' = the teacher's inputs, 'bottleneck' = {d['bottleneck']}; "
            "KD target (1 - alpha) y + alpha softmax(z_T / T)",
        ]
        for t in d["teachers"]:
            rows = [r for r in d["settings"] if r["beta"] == t["beta"]]
            lines += [
                "",
                f"  kernels N(W*, (beta Hess F)^-1) at beta = {t['beta']:g}: the teacher's draws "
                f"err {_iv(t['risk_T'])}; gen_T = {_iv(t['gen_T'])}; "
                f"V_g = E(g-c)^2 = {_iv(t['V_g'], 5)}",
                "",
                f"  {'student':<10} {'alpha':>5} {'T':>4}  {'err_S':<7} {'gen_S [95%]':<27} "
                f"{'dgen [95%]':<28} K_n [95%]",
            ]
            for r in rows:
                k = r["K_n"]
                lines.append(
                    f"{_lead(r)}{r['risk_S']['value']:<7.4f} {_iv(r['gen_S']):<27} "
                    f"{_iv(r['dgen'], sign=True):<28} "
                    f"{_num(k['value'])} [{_num(k['low'])}, {_num(k['high'])}]"
                )
            width = 14
            lines += [
                "",
                (
                    f"  {'student':<10} {'alpha':>5} {'T':>4}  "
                    + " ".join(f"{b:<{width}}" for b in TABLE_BOUNDS)
                ).rstrip(),
            ]
            reasons: dict[str, str] = {}
            for r in rows:
                by = {b["theorem"]: b for b in r["bounds"]}
                cells = " ".join(f"{_cell(by[b]):<{width}}" for b in TABLE_BOUNDS)
                lines.append(f"{_lead(r)}{cells}".rstrip())
                for b in r["bounds"]:
                    if not b["applicable"]:
                        reasons.setdefault(b["theorem"], b["reason"])
            lines += [f"  {k}: {v}" for k, v in reasons.items()]
        lines.append("")
    lines += [
        "err_S: population 0-1 error of the student's drawn predictors (mean over sets). Bounds "
        "on dgen = gen_S - gen_T: U0, U-uniform (= U1 here: Hoeffding proxy 1), U-gamma, "
        "U-joint (upper); U-joint-lower (lower). Bounds on gen_S: L, L-gamma (lower), S-smooth "
        "(upper). A cell is the bound's conservative end, then 'ok' (holds over the whole "
        "intervals), 'VIOLATED' or '?' (undecided), and 'vac' where it is vacuous: at or past "
        "the 0-1 loss's trivial bound |dgen| <= 2, |gen_S| <= 1 ('vac?': undecided).",
        f"every number is {ESTIMATED}: {cfg['level']:.0%} intervals over the training sets; "
        "theta, eta, c and rho are picked on fixed grids from the same data.",
    ]
    return "\n".join(lines)


def to_json(doc: dict) -> str:
    """The document as JSON text (floats as Python's shortest repr; no NaN)."""
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def iter_bounds(doc: dict) -> Iterable[tuple[str, dict, dict]]:
    """``(dataset, setting row, bound)`` for every bound of the document."""
    for name, d in doc["datasets"].items():
        for r in d["settings"]:
            for b in r["bounds"]:
                yield name, r, b
