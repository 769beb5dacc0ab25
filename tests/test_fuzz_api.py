"""Fuzz test of the public API (issue 10 "Reliable verdicts").

Every public constructor and method is called with one argument replaced by a hostile value of
each kind in :data:`KINDS`.  The only acceptable outcomes (the contract of STYLE.md):

* ``value``: a result with no NaN anywhere (``inf`` allowed where documented, e.g. a CGF outside
  its domain);
* ``inf-with-reason``: a :class:`~kdtheory.divergences.Divergence` ``inf`` carrying its reason;
* ``ValueError`` / ``TypeError`` whose message names the replaced parameter.

Anything else -- NaN, an exception from inside numpy/scipy (warnings are errors under pytest),
an error naming another parameter, a call slower than :data:`SLOW` seconds -- is a failure.

Every (target, kind) pair is enumerated deterministically (:func:`run_all`); a hypothesis test
adds random magnitudes and random (target, kind) draws.  The outcome counts per kind are printed
(``pytest -s``) and written as Markdown to ``$KDTHEORY_FUZZ_REPORT`` if set; ``python
tests/test_fuzz_api.py`` prints the same table (the numbers quoted in the issue).
"""

from __future__ import annotations

import dataclasses
import decimal
import fractions
import math
import os
import re
import time
import warnings
from collections import Counter, defaultdict

import numpy as np
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import kdtheory as K
from kdtheory.assumptions import BoundedLoss, CentralCondition, Sharpness, SubGamma, SubGaussian
from kdtheory.divergences import (
    DiagonalGaussian,
    Divergence,
    FullGaussian,
    IsotropicGaussian,
    kl,
    kl_monte_carlo,
)
from kdtheory.matrix_normal import MatrixNormal
from kdtheory.models import smallest_rank
from kdtheory.models.memoriser import binary_kl
from kdtheory.models.scalar_laws import sg_values

#: a call slower than this (seconds) counts as a hang
SLOW = 10.0

KINDS = (
    "nan",
    "inf",
    "huge",
    "tiny",
    "str",
    "None",
    "dict",
    "bool",
    "wrong-shape",
    "complex",
    "masked",
    "non-contiguous",
    "float32",
    "0-d",
    "wrong-length list",
    "Decimal/Fraction/sympy",
    "huge int",
    "ill-conditioned",
)
OUTCOMES = ("value", "inf-with-reason", "ValueError", "TypeError", "FAIL")


# -- hostile values by role -----------------------------------------------------------------------
def _ill(v: np.ndarray) -> np.ndarray:
    """A matrix like ``v`` with condition number ~1e12 (a near-collinear design)."""
    u, s, vt = np.linalg.svd(v, full_matrices=False)
    s = np.geomspace(1.0, 1e-12, s.size) if s.size > 1 else s
    return (u * s) @ vt if v.ndim == 2 else v


def hostile(kind: str, role: str, valid, scale: float | None = None):
    """The hostile value of ``kind`` for a parameter of ``role`` (scalar, int, vector, matrix,
    object) whose valid value is ``valid``; ``scale`` overrides the huge/tiny magnitude."""
    arr = np.asarray(valid, dtype=float) if role in ("vector", "matrix") else None
    num = 1.0 if role == "object" else valid
    if kind in ("nan", "inf", "huge", "tiny"):
        x = {"nan": math.nan, "inf": math.inf, "huge": 1e300, "tiny": 1e-300}[kind]
        if scale is not None and kind in ("huge", "tiny"):
            x = scale
        if arr is None:
            return x
        out = arr.copy()
        if kind in ("huge", "tiny"):
            return out * x if np.any(out) else out + x
        out.flat[0] = x
        return out
    if kind == "str":
        return "1.0"
    if kind == "None":
        return None
    if kind == "dict":
        return {"value": 1.0}
    if kind == "bool":
        return True if arr is None else np.ones(arr.shape, dtype=bool).tolist()
    if kind == "wrong-shape":
        return np.ones(3) if role == "matrix" else np.ones((2, 2, 2))
    if kind == "complex":
        return complex(num) if arr is None else arr + 0j
    if kind == "masked":
        return np.ma.masked_array(np.asarray(num if arr is None else arr, dtype=float))
    if kind == "non-contiguous":
        if arr is None:
            return np.array([num, 0.0, num], dtype=float)[::2][:1].reshape(())
        big = np.repeat(arr, 2, axis=-1)
        view = big[..., ::2]
        assert not view.flags.c_contiguous
        return view
    if kind == "float32":
        return np.float32(num) if arr is None else arr.astype(np.float32)
    if kind == "0-d":
        return np.array(num) if arr is None else np.array(arr.flat[0])
    if kind == "wrong-length list":
        if arr is None:
            return [num, num, num]
        if role == "vector":
            return [*arr.tolist(), 0.0]
        rows = arr.tolist()
        return [*rows[:-1], rows[-1][:-1] or [0.0, 0.0]]  # a ragged matrix
    if kind == "Decimal/Fraction/sympy":
        if arr is None:
            return sp.Integer(int(num)) if role == "int" else decimal.Decimal(repr(float(num)))
        conv = [fractions.Fraction, sp.Float, decimal.Decimal]
        return np.array(
            [conv[i % 3](repr(float(x))) for i, x in enumerate(arr.flat)], dtype=object
        ).reshape(arr.shape)
    if kind == "huge int":
        if arr is None:
            return 10**400
        out = arr.astype(object)
        out.flat[0] = 10**400
        return out
    if kind == "ill-conditioned":
        if role == "matrix":
            return _ill(arr)
        if role == "vector":
            return (arr * (1 + 1e-12)).tolist()
        return num * (1 + 1e-12) if role in ("scalar",) else num
    raise AssertionError(kind)


# -- the public API -------------------------------------------------------------------------------
def _fixtures():
    rng = np.random.default_rng(1)
    A = K.GaussianMeanModel(2, 5, 1.0, [0.5, -0.5])
    TA = A.gibbs(1.0, 0.5)
    SA = A.kd_student(TA, 0.5, 1.0, 0.5)
    B = K.BumpLossModel(2, 5, 1.0, 0.0, beta=1.0)
    TB, SB = B.kernel(0.5, 0.0, 0.5), B.kernel(0.6, 0.1, 0.7)
    Ba = K.BallKernelModel(2, 5, 1.0, 0.0, omega=1.0)
    TBa, SBa = Ba.kernel(1.0, 0.0, 0.5), Ba.kernel(1.0, 0.1, 0.3)
    M = K.MemoriserModel(3, 2)
    TM, SM = M.kernel(0.5), M.kernel(0.3)
    X = np.array([[1.0, 0.5, -1.0, 2.0], [0.0, 1.0, 1.0, -1.0]])
    W = np.array([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0]])
    C = K.LinearGaussianModel(X, W, 1.0)
    TC = C.bayes_teacher()
    SC = C.kd_student(TC, 0.5, 1.0, 1.0)
    Y = W @ X + 0.1
    return locals()


F = _fixtures()
A, B, Ba, M, C = F["A"], F["B"], F["Ba"], F["M"], F["C"]
TA, SA, TB, SB, TBa, SBa, TM, SM, TC, SC = (
    F[k] for k in ("TA", "SA", "TB", "SB", "TBa", "SBa", "TM", "SM", "TC", "SC")
)
X, W, Y = F["X"], F["W"], F["Y"]
G1 = IsotropicGaussian([0.0, 0.0], 1.0)


def rng():
    return np.random.default_rng(0)


#: (target name, parameter, role, valid value, call) -- ``call(x)`` runs the target with the
#: parameter set to ``x``
TARGETS: list[tuple[str, str, str, object, object]] = []


def target(name, param, role, valid, fn):
    TARGETS.append((name, param, role, valid, fn))


def kernel_methods(model_name, model, names, student, teacher):
    """One-kernel methods perturbed in ``kernel``/``teacher``; two-kernel in ``student``."""
    for meth in names:
        fn = getattr(model, meth)
        # the messages say "kernel" where the signature says ``k`` or ``kern``
        first = next(iter(fn.__code__.co_varnames[1:2]), "kernel")
        first = "kernel" if first in ("k", "kern") else first
        if meth in TWO_KERNEL:
            target(
                f"{model_name}.{meth}",
                "student",
                "object",
                student,
                lambda x, fn=fn: fn(x, teacher),
            )
            target(
                f"{model_name}.{meth}",
                "teacher",
                "object",
                teacher,
                lambda x, fn=fn: fn(student, x),
            )
        else:
            target(f"{model_name}.{meth}", first, "object", teacher, fn)


TWO_KERNEL = {
    "dgen", "divergence_parts", "distillation_divergence", "theorem_values", "u_joint",
    "u_joint_lower", "u_gamma", "l_gamma", "optimal_radius", "tightness_radius",
    "tightness_radius_numeric", "brute_force",
}  # fmt: skip

# Model A (THEORY §6) and its mixins
for p, role, v in (
    ("d", "int", 2),
    ("n", "int", 5),
    ("s", "scalar", 1.0),
    ("m", "vector", [0.5, -0.5]),
):
    target(
        "GaussianMeanModel",
        p,
        role,
        v,
        lambda x, p=p: K.GaussianMeanModel(**{"d": 2, "n": 5, "s": 1.0, "m": 0.0, p: x}),
    )
for p, role, v in (("a", "scalar", 0.5), ("b", "vector", [0.0, 0.1]), ("tau", "scalar", 0.7)):
    target(
        "GaussianMeanModel.kernel",
        p,
        role,
        v,
        lambda x, p=p: A.kernel(**{"a": 0.5, "b": 0.0, "tau": 0.7, p: x}),
    )
    target(
        "GaussianKernel",
        p,
        role,
        v,
        lambda x, p=p: K.GaussianKernel(**{"a": 0.5, "b": np.zeros(2), "tau": 0.7, p: x}),
    )
for p, role, v in (("gamma", "scalar", 1.0), ("lam", "scalar", 0.5), ("m0", "vector", [0.1, 0.2])):
    target(
        "GaussianMeanModel.gibbs",
        p,
        role,
        v,
        lambda x, p=p: A.gibbs(**{"gamma": 1.0, "lam": 0.5, p: x}),
    )
target(
    "GaussianMeanModel.tempered_bayes", "temperature", "scalar", 1.0, lambda x: A.tempered_bayes(x)
)
for p, role, v in (
    ("alpha", "scalar", 0.5),
    ("gamma", "scalar", 1.0),
    ("lam", "scalar", 0.5),
    ("teacher", "object", TA),
    ("teacher_sample", "object", False),
):
    target(
        "GaussianMeanModel.kd_student",
        p,
        role,
        v,
        lambda x, p=p: A.kd_student(
            **{"teacher": TA, "alpha": 0.5, "gamma": 1.0, "lam": 0.5, p: x}
        ),
    )
target("GaussianMeanModel.tilt_student", "kappa", "scalar", 0.3, lambda x: A.tilt_student(TA, x))
target(
    "GaussianMeanModel.kl_given_data",
    "zbar",
    "vector",
    [0.1, 0.2],
    lambda x: A.kl_given_data(SA, TA, x),
)
target(
    "GaussianMeanModel.smoothed_teacher", "rho", "scalar", 0.5, lambda x: A.smoothed_teacher(TA, x)
)
target(
    "GaussianMeanModel.smoothing_bound",
    "rho",
    "scalar",
    0.5,
    lambda x: A.smoothing_bound(SA, TA, x),
)
target(
    "GaussianMeanModel.smoothing_values",
    "rho",
    "scalar",
    0.5,
    lambda x: A.smoothing_values(SA, TA, x),
)
target("GaussianMeanModel.sharpness_gap", "rho", "scalar", 0.5, lambda x: A.sharpness_gap(TA, x))
target("GaussianMeanModel.joint_cgf", "theta", "scalar", 0.1, lambda x: A.joint_cgf(TA, x))
target("GaussianMeanModel.centred_cgf", "theta", "scalar", 0.1, lambda x: A.centred_cgf(TA, x))
target(
    "GaussianMeanModel.joint_cgf_derivative",
    "theta",
    "scalar",
    0.1,
    lambda x: A.joint_cgf_derivative(TA, x),
)
target("GaussianMeanModel.central_slack", "eta", "scalar", 0.1, lambda x: A.central_slack(TA, x))
target(
    "GaussianMeanModel.expectation_over_data",
    "epsrel",
    "scalar",
    1e-8,
    lambda x: A.expectation_over_data(lambda v: v["KL_D"], SA, TA, x),
)
for meth in ("monte_carlo_gen",):
    target(
        f"GaussianMeanModel.{meth}", "size", "int", 20, lambda x: A.monte_carlo_gen(TA, x, rng())
    )
    target(
        f"GaussianMeanModel.{meth}", "rng", "object", rng(), lambda x: A.monte_carlo_gen(TA, 20, x)
    )
target(
    "GaussianMeanModel.monte_carlo_divergence",
    "size",
    "int",
    20,
    lambda x: A.monte_carlo_divergence(SA, TA, x, rng()),
)
target(
    "GaussianMeanModel.monte_carlo_cgf",
    "size",
    "int",
    20,
    lambda x: A.monte_carlo_cgf(TA, 0.1, x, rng()),
)
target(
    "GaussianMeanModel.monte_carlo_cgf",
    "theta",
    "scalar",
    0.1,
    lambda x: A.monte_carlo_cgf(TA, x, 20, rng()),
)
target("GaussianMeanModel.simulate", "size", "int", 20, lambda x: A.simulate(TA, x, rng()))
kernel_methods("GaussianMeanModel", A, [
    "gen", "dgen", "offset", "divergence_parts", "distillation_divergence", "conditional_proxy",
    "information_ratio", "mutual_information", "lautum_information", "symmetrized_information",
    "theorem_values", "chaos_eigenvalues", "cgf_domain", "gap_variance", "eta_central",
    "u_joint", "u_joint_lower", "u_gamma", "l_gamma", "sub_gamma_constants", "optimal_radius",
    "tightness_radius", "tightness_radius_numeric",
], SA, TA)  # fmt: skip

# Model A-bump
for p, role, v in (("s", "scalar", 1.0), ("beta", "scalar", 1.0), ("m", "vector", [0.0, 0.0])):
    target(
        "BumpLossModel",
        p,
        role,
        v,
        lambda x, p=p: K.BumpLossModel(**{"d": 2, "n": 5, "s": 1.0, "m": 0.0, "beta": 1.0, p: x}),
    )
target("BumpLossModel.kernel", "tau", "scalar", 0.5, lambda x: B.kernel(0.5, 0.0, x))
target(
    "BumpLossModel.monte_carlo_gen", "size", "int", 20, lambda x: B.monte_carlo_gen(TB, x, rng())
)
target(
    "BumpLossModel.smoothing_bound", "rho", "scalar", 0.5, lambda x: B.smoothing_bound(SB, TB, x)
)
kernel_methods("BumpLossModel", B, [
    "gen", "dgen", "train_variance", "test_variance", "conditional_proxy", "theorem_values",
    "distillation_divergence", "offset",
], SB, TB)  # fmt: skip

# the ball-kernel model (THEORY §5)
for p, role, v in (("s", "scalar", 1.0), ("omega", "scalar", 1.0), ("n", "int", 5)):
    target(
        "BallKernelModel",
        p,
        role,
        v,
        lambda x, p=p: K.BallKernelModel(
            **{"d": 2, "n": 5, "s": 1.0, "m": 0.0, "omega": 1.0, p: x}
        ),
    )
for p, role, v in (("a", "scalar", 1.0), ("b", "vector", [0.0, 0.1]), ("radius", "scalar", 0.5)):
    target(
        "BallKernelModel.kernel",
        p,
        role,
        v,
        lambda x, p=p: Ba.kernel(**{"a": 1.0, "b": 0.0, "radius": 0.5, p: x}),
    )
target(
    "BallKernelModel.monte_carlo_gen",
    "size",
    "int",
    20,
    lambda x: Ba.monte_carlo_gen(TBa, x, rng()),
)
kernel_methods(
    "BallKernelModel",
    Ba,
    ["gen", "dgen", "distillation_divergence", "theorem_values", "offset"],
    SBa,
    TBa,
)

# the memoriser (THEORY §8 N2)
for p in ("M", "n"):
    target("MemoriserModel", p, "int", 3, lambda x, p=p: K.MemoriserModel(**{"M": 3, "n": 2, p: x}))
target("MemoriserModel.kernel", "p", "scalar", 0.5, lambda x: M.kernel(x))
target("binary_kl", "p", "scalar", 0.5, lambda x: binary_kl(x, 0.3))
target("binary_kl", "q", "scalar", 0.3, lambda x: binary_kl(0.5, x))
kernel_methods(
    "MemoriserModel",
    M,
    ["gen", "dgen", "distillation_divergence", "theorem_values", "brute_force"],
    SM,
    TM,
)

# Model C (THEORY §7)
for p, role, v in (("X", "matrix", X), ("W_star", "matrix", W), ("nu", "scalar", 1.0)):
    target(
        "LinearGaussianModel",
        p,
        role,
        v,
        lambda x, p=p: K.LinearGaussianModel(
            **{"X": X, "W_star": W, "nu": 1.0, p: x}
        ).bayes_teacher(),
    )
for p, role, v in (("H", "matrix", TC.H), ("Sigma", "matrix", TC.Sigma), ("B", "matrix", TC.B)):
    target(
        "LinearGaussianModel.kernel",
        p,
        role,
        v,
        lambda x, p=p: C.kernel(**{"H": TC.H, "Sigma": TC.Sigma, "B": TC.B, p: x}),
    )
for p, role, v in (
    ("gamma", "scalar", 1.0),
    ("lam", "scalar", 1.0),
    ("M0", "matrix", np.ones((3, 2))),
):
    target(
        "LinearGaussianModel.gibbs",
        p,
        role,
        v,
        lambda x, p=p: C.gibbs(**{"gamma": 1.0, "lam": 1.0, p: x}),
    )
target(
    "LinearGaussianModel.bayes_teacher",
    "temperature",
    "scalar",
    1.0,
    lambda x: C.bayes_teacher(temperature=x),
)
target(
    "LinearGaussianModel.kd_student",
    "alpha",
    "scalar",
    0.5,
    lambda x: C.kd_student(TC, x, 1.0, 1.0),
)
target("LinearGaussianModel.tilt_student", "kappa", "scalar", 0.3, lambda x: C.tilt_student(TC, x))
target(
    "LinearGaussianModel.output_projection_student",
    "U",
    "matrix",
    np.eye(3)[:, :2],
    lambda x: C.output_projection_student(TC, x),
)
target(
    "LinearGaussianModel.input_projection_student",
    "V",
    "matrix",
    np.eye(2)[:, :1],
    lambda x: C.input_projection_student(TC, x),
)
for meth in ("kl_given_data", "decomposition"):
    target(
        f"LinearGaussianModel.{meth}",
        "Y",
        "matrix",
        Y,
        lambda x, meth=meth: getattr(C, meth)(SC, TC, x),
    )
target(
    "LinearGaussianModel.conditional_proxy_given_data",
    "Y",
    "matrix",
    Y,
    lambda x: C.conditional_proxy_given_data(TC, x),
)
target("LinearGaussianModel.soft_label_law", "Y", "matrix", Y, lambda x: C.soft_label_law(TC, x))
target(
    "LinearGaussianModel.simulate_soft_labels",
    "size",
    "int",
    20,
    lambda x: C.simulate_soft_labels(TC, Y, x, rng()),
)
target("LinearGaussianModel.best_rank_student", "r", "int", 1, lambda x: C.best_rank_student(TC, x))
target(
    "LinearGaussianModel.monte_carlo_gen",
    "size",
    "int",
    20,
    lambda x: C.monte_carlo_gen(TC, x, rng()),
)
target(
    "LinearGaussianModel.monte_carlo_divergence",
    "size",
    "int",
    20,
    lambda x: C.monte_carlo_divergence(SC, TC, x, rng()),
)
target("smallest_rank", "budget", "scalar", 0.5, lambda x: smallest_rank(C.rank_profile(TC), x))
kernel_methods("LinearGaussianModel", C, [
    "gen", "dgen", "divergence_parts", "distillation_divergence", "conditional_proxy",
    "mutual_information", "symmetrized_information", "lautum_information", "theorem_values",
    "rank_profile", "mean_over_data",
], SC, TC)  # fmt: skip

# divergences and matrix-normal laws
target(
    "IsotropicGaussian", "mean", "vector", [0.0, 1.0], lambda x: kl(IsotropicGaussian(x, 1.0), G1)
)
target(
    "IsotropicGaussian", "var", "scalar", 0.5, lambda x: kl(IsotropicGaussian([0.0, 1.0], x), G1)
)
target(
    "DiagonalGaussian",
    "var",
    "vector",
    [0.5, 2.0],
    lambda x: kl(DiagonalGaussian([0.0, 1.0], x), DiagonalGaussian([0.0, 0.0], 1.0)),
)
target(
    "FullGaussian",
    "cov",
    "matrix",
    [[2.0, 0.3], [0.3, 1.0]],
    lambda x: kl(FullGaussian([0.0, 1.0], x), FullGaussian([0.0, 0.0], np.eye(2))),
)
target("kl", "p", "object", G1, lambda x: kl(x, G1))
target("kl_monte_carlo", "size", "int", 20, lambda x: kl_monte_carlo(G1, G1, x, rng()))
target(
    "MatrixNormal",
    "M",
    "matrix",
    np.zeros((2, 2)),
    lambda x: kl(MatrixNormal(x, np.eye(2)), MatrixNormal(np.zeros((2, 2)), np.eye(2))),
)
target(
    "MatrixNormal",
    "Sigma",
    "matrix",
    [[1.0, 0.2], [0.2, 1.0]],
    lambda x: kl(MatrixNormal(np.zeros((2, 2)), x), MatrixNormal(np.zeros((2, 2)), np.eye(2))),
)

# assumptions, scalar laws, theorems
target("SubGaussian", "sigma", "scalar", 1.0, lambda x: SubGaussian(sigma=x).latex())
target("SubGamma", "v", "scalar", 1.0, lambda x: SubGamma(v=x, b=0.5).latex())
target("CentralCondition", "c", "scalar", 0.5, lambda x: CentralCondition(eta=1.0, c=x).latex())
target("Sharpness", "rho", "scalar", 0.5, lambda x: Sharpness(beta=1.0, rho=x, G1=0.1).variation())
target("BoundedLoss", "l_max", "scalar", 1.0, lambda x: BoundedLoss(0.0, x).latex())
for p, v in (("t", 0.3), ("sd", 1.0)):
    target(
        "sg_values(gaussian)",
        p,
        "scalar",
        v,
        lambda x, p=p: sg_values("gaussian", **{"t": 0.3, "mean": 0.0, "sd": 1.0, p: x}),
    )
target(
    "sg_values(bernoulli)",
    "p",
    "scalar",
    0.5,
    lambda x: sg_values("bernoulli", 0.3, lo=0.0, width=1.0, p=x),
)
target(
    "sg_values(uniform)",
    "width",
    "scalar",
    1.0,
    lambda x: sg_values("uniform", 0.3, lo=0.0, width=x),
)
for thm in K.all_theorems():
    base = {k: (2 if k in ("d", "n") else 0.5) for k in thm.symbols}
    for p in thm.symbols:
        role = "int" if p in ("d", "n") else "scalar"
        target(
            f"Theorem({thm.id}).evaluate",
            p,
            role,
            base[p],
            lambda x, thm=thm, p=p, base=base: thm.evaluate(**{**base, p: x}),
        )


# -- running one call -----------------------------------------------------------------------------
def _nan_free(x) -> bool:
    if isinstance(x, (str, bytes, bool, type(None))) or callable(x) and not hasattr(x, "__dict__"):
        return True
    if isinstance(x, float):
        return not math.isnan(x)
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype.kind not in "fc" or not np.any(np.isnan(x))
    if isinstance(x, dict):
        return all(_nan_free(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(_nan_free(v) for v in x)
    if dataclasses.is_dataclass(x):
        return all(_nan_free(getattr(x, f.name)) for f in dataclasses.fields(x))
    return True


def _has_bare_inf_divergence(x) -> bool:
    return isinstance(x, Divergence) and math.isinf(x) and not x.reason


def classify(param: str, fn, x) -> tuple[str, str]:
    """``(outcome, detail)`` of ``fn(x)`` under the contract of the module docstring."""
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = fn(x)  # numpy's default errstate: overflow, divide, invalid warn -> error
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if not re.search(rf"(?<![A-Za-z_0-9]){re.escape(param)}(?![A-Za-z_0-9])", msg):
            return "FAIL", f"{type(exc).__name__} not naming {param!r}: {msg[:160]}"
        return ("ValueError" if isinstance(exc, ValueError) else "TypeError"), msg[:80]
    except Exception as exc:  # noqa: BLE001 - anything else is the failure being counted
        return "FAIL", f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        elapsed = time.perf_counter() - t0
    if elapsed > SLOW:
        return "FAIL", f"took {elapsed:.1f} s"
    if not _nan_free(out):
        return "FAIL", f"NaN in the result {out!r:.160}"
    if _has_bare_inf_divergence(out):
        return "FAIL", "KL = inf without a reason"
    if isinstance(out, Divergence) and math.isinf(out):
        return "inf-with-reason", out.reason[:80]
    return "value", ""


def run_all(kinds=KINDS) -> tuple[dict, list]:
    """Run every (target, kind) pair; returns the counts per kind and the failures."""
    counts: dict[str, Counter] = defaultdict(Counter)
    failures = []
    for name, param, role, valid, fn in TARGETS:
        for kind in kinds:
            outcome, detail = classify(param, fn, hostile(kind, role, valid))
            counts[kind][outcome] += 1
            if outcome == "FAIL":
                failures.append((name, param, kind, detail))
    return counts, failures


def table(counts: dict) -> str:
    """The outcome counts per hostile kind as a Markdown table."""
    head = "| kind | " + " | ".join(OUTCOMES) + " | total |"
    rows = [head, "|" + "---|" * (len(OUTCOMES) + 2)]
    total = Counter()
    for kind in KINDS:
        c = counts.get(kind, Counter())
        total.update(c)
        rows.append(
            f"| {kind} | " + " | ".join(str(c[o]) for o in OUTCOMES) + f" | {sum(c.values())} |"
        )
    rows.append(
        "| **all** | " + " | ".join(str(total[o]) for o in OUTCOMES) + f" | {sum(total.values())} |"
    )
    return "\n".join(rows)


# -- the tests ------------------------------------------------------------------------------------
def test_every_public_class_is_a_target():
    names = {t[0].split(".")[0] for t in TARGETS}
    for export in ("GaussianMeanModel", "BumpLossModel", "BallKernelModel", "MemoriserModel",
                   "LinearGaussianModel", "MatrixNormal", "GaussianKernel", "SubGaussian",
                   "SubGamma", "CentralCondition", "Sharpness", "BoundedLoss"):  # fmt: skip
        assert export in names, export
    assert {f"Theorem({t.id}).evaluate" for t in K.all_theorems()} <= {t[0] for t in TARGETS}
    assert len(KINDS) >= 12


def test_every_target_and_kind_meets_the_contract():
    """The deterministic enumeration: every (target, parameter, kind) once."""
    counts, failures = run_all()
    report = table(counts)
    print("\n" + report)
    path = os.environ.get("KDTHEORY_FUZZ_REPORT")
    if path:
        with open(path, "w") as fh:
            fh.write(report + "\n")
    assert sum(sum(c.values()) for c in counts.values()) == len(TARGETS) * len(KINDS)
    assert not failures, "\n".join(map(str, failures[:40])) + f"\n({len(failures)} failures)"


@given(
    st.sampled_from(range(len(TARGETS))),
    st.sampled_from(KINDS),
    st.floats(-320, 308).map(lambda e: 10.0**e),
)
def test_random_magnitudes_meet_the_contract(i, kind, scale):
    """Hypothesis: a random target, kind and (for huge/tiny) a random magnitude in 1e-320..1e308."""
    name, param, role, valid, fn = TARGETS[i]
    outcome, detail = classify(param, fn, hostile(kind, role, valid, scale=scale))
    assert outcome != "FAIL", (name, param, kind, detail)


if __name__ == "__main__":  # the helper: `python tests/test_fuzz_api.py` prints the table
    c, f = run_all()
    print(table(c))
    for row in f:
        print("FAIL", *row)
