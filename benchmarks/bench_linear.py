"""Model C (THEORY §7) at large ``d``: ``python benchmarks/bench_linear.py [--sizes 100 200 ...]``.

Times, for ``d = k`` in ``--sizes`` (default 100, 200, 500, 1000, 2000) and ``n = 2d``, design
``X`` and ``W*`` iid normal (``W*`` scaled by ``1/sqrt(d)``), ``nu = 1`` -- the setting of
``bench_closed_forms.py`` section 3:

* ``build``: a tempered-Bayes teacher (``lam = 1``, ``T = 1``) and its KD student (``alpha = .5``,
  ``gamma_S = n/4``, ``lam_S = 2``), the spectral path (the design's SVD is part of it);
* ``K_n``: ``distillation_divergence`` of the pair;
* ``theorem values``: ``theorem_values`` of the pair (``gen``, ``dgen``, ``K_n``, ``Esigma2``).

and prints the least-squares growth exponent of each column over the sizes >= 100 (the O(d^3)
linear algebra dominates there).  One core (BLAS threads pinned to 1 before numpy is imported);
best of ``--repeat`` runs below 1 s.  No assertion on timings (issue 15 item 6: the path should
cost what the trace form costs, ~d^3 with a small constant, not d^2.6-2.8 of eigen-solvers).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from kdtheory import LinearGaussianModel  # noqa: E402

SIZES = (100, 200, 500, 1000, 2000)


def timed(fn, repeat: int):
    """``(seconds, result)``: the best of ``repeat`` runs, or one run if it takes over 1 s."""
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        if best > 1.0:
            break
    return best, out


def growth_exponent(ds, ts) -> float:
    """Least-squares slope of ``log t`` against ``log d``."""
    return float(np.polyfit(np.log(ds), np.log(ts), 1)[0])


def run(sizes=SIZES, repeat: int = 3, seed: int = 5) -> list[tuple]:
    """Rows ``(d, build s, K_n s, theorem values s, K_n)``; prints a table and the exponents."""
    warm = LinearGaussianModel(np.ones((2, 4)), np.ones((2, 2)), 1.0)  # compile the formulas
    warm.distillation_divergence(warm.kd_student(t := warm.bayes_teacher(), 0.5, 1.0, 2.0), t)
    print(f"{'d = k':>6} {'n':>6} {'build s':>9} {'K_n s':>9} {'values s':>9} {'K_n':>22}")
    rows = []
    for d in sizes:
        n = 2 * d
        rng = np.random.default_rng([seed, d])  # the same model at every --sizes
        x = rng.standard_normal((d, n))
        w_star = rng.standard_normal((d, d)) / math.sqrt(d)

        def build(x=x, w_star=w_star, n=n):
            model = LinearGaussianModel(x, w_star, 1.0)  # a fresh model: its SVD is timed
            teacher = model.bayes_teacher(lam=1.0, temperature=1.0)
            return model, teacher, model.kd_student(teacher, alpha=0.5, gamma=n / 4, lam=2.0)

        t_build, (model, teacher, student) = timed(build, repeat)
        t_kn, k_n = timed(
            lambda m=model, s=student, t=teacher: m.distillation_divergence(s, t), repeat
        )
        t_val, _ = timed(lambda m=model, s=student, t=teacher: m.theorem_values(s, t), repeat)
        rows.append((d, t_build, t_kn, t_val, float(k_n)))
        print(f"{d:>6} {n:>6} {t_build:>9.4f} {t_kn:>9.4f} {t_val:>9.4f} {float(k_n):>22.15g}")
    fit = [r for r in rows if r[0] >= 100]
    if len(fit) >= 2:
        ds = [r[0] for r in fit]
        build, k_n, values = (growth_exponent(ds, [r[j] for r in fit]) for j in (1, 2, 3))
        print(
            f"growth exponent (log t against log d): build {build:.2f}, K_n {k_n:.2f}, "
            f"theorem values {values:.2f}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
