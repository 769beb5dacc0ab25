"""The memoriser (THEORY §8 N2): a bounded-loss model whose divergence does not shrink with n.

Data ``Z_i ~ Unif{1..M}`` iid, ``i = 1..n``; hypothesis ``w`` a subset of ``{1..M}``; loss
``l(w, z) = 1[z not in w]`` in ``[0, 1]``.  A kernel with parameter ``p`` outputs ``set(D)`` with
probability ``p`` and the empty set otherwise.  Then ``L_D(set(D)) = 0``,
``L_mu(set(D)) = 1 - |set(D)|/M`` and ``g(empty, D) = 0``, so ``g in [0, 1]`` for every ``W``:

* ``gen(p) = p (1 - 1/M)^n`` (``E |set(D)| = M (1 - (1 - 1/M)^n)``),
* ``K_n = kl(p_S || p_T)`` (binary KL; the law of ``W`` given ``D`` is Bernoulli on two points),
* the range of ``g`` is 1, so ``1/4`` is a legitimate uniform sub-Gaussian proxy (Hoeffding,
  THEORY §3) — only because ``g >= 0`` here; for a general loss in ``[0, 1]`` it is 1.

These closed forms are the formulas of :mod:`kdtheory.formulas.memoriser` (derived there from
the definitions; ``kdtheory derive gen --model memoriser``).  This module is batch-aware: the
private functions after the class evaluate the compiled formulas on broadcast arrays (``M``, ``n``
integer arrays, ``p`` arrays in ``[0, 1]``) without validation; :func:`theorem_values` is their
validated batch entry point (the vectorised audit of Theorem U-uniform).
:meth:`MemoriserModel.brute_force` recomputes gen and ``K_n`` from these definitions by
enumerating all ``M^n`` datasets (small ``M``, ``n`` only).  With sympy symbols for ``M``, ``n`` or
``p`` the model's methods return the same formulas with the arguments substituted (symbolic in,
symbolic out; see :class:`MemoriserModel`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..divergences import Divergence
from ..formulas.table import closed_form_method
from ..symbols import (
    MODEL_COUNT,
    POSITIVE_INTEGER,
    UNIT_CLOSED,
    check_in,
    check_int,
    check_real,
    check_scalar,
    check_symbolic,
    is_symbolic,
    numeric_only,
)
from .gaussian_mean import _out

__all__ = ["MemoriserKernel", "MemoriserModel", "binary_kl", "theorem_values"]

#: enumeration limit of :meth:`MemoriserModel.brute_force` (number of datasets M^n)
BRUTE_FORCE_LIMIT = 200_000


@dataclass(frozen=True)
class MemoriserKernel:
    """Outputs ``set(D)`` with probability ``p``, else the empty set (THEORY §8 N2); ``p`` a
    number in ``[0, 1]`` or a real sympy expression (:attr:`symbolic`)."""

    p: float

    def __post_init__(self):
        object.__setattr__(self, "p", check_real("p", self.p, UNIT_CLOSED))

    @property
    def symbolic(self) -> bool:
        """``True`` if ``p`` is a sympy expression (``kernel(sympy.Symbol("p"))``)."""
        return isinstance(self.p, sp.Basic)


def binary_kl(p: float, q: float) -> Divergence:
    """``kl(p || q) = p log(p/q) + (1-p) log((1-p)/(1-q))`` (THEORY §8 N2); ``inf`` (with a
    reason) when ``q in {0, 1}`` puts zero mass where ``p`` does not."""
    p = check_scalar("p", p, UNIT_CLOSED)
    q = check_scalar("q", q, UNIT_CLOSED)
    val = float(_binary_kl(p, q))
    if math.isinf(val):
        return Divergence(math.inf, f"Bernoulli({p!r}) is not << Bernoulli({q!r})")
    return Divergence(val)


class MemoriserModel:
    """``MemoriserModel(M, n)``: ``Z ~ Unif{1..M}``, loss ``1[z not in w]`` (THEORY §8 N2).

    >>> model = MemoriserModel(M=10**6, n=10)
    >>> round(model.gen(model.kernel(0.5)), 6)
    0.499995

    **Symbolic in, symbolic out** (issue 11 item 3).  ``M``, ``n`` and a kernel's ``p`` may be
    real sympy expressions (``sympy.Symbol("M", positive=True, integer=True)``, ...); then
    :meth:`miss_probability`, :meth:`gen`, :meth:`dgen`, :meth:`distillation_divergence`
    (``K_n``), :meth:`uniform_proxy` and :meth:`theorem_values` return sympy expressions: the
    formulas of :mod:`kdtheory.formulas.memoriser` with the arguments substituted (never a second
    copy; the stable functions ``log1p`` and ``binary_kl`` stay as sympy functions,
    :func:`kdtheory.formulas.compile.definition` expands them).  Numbers still give floats (and
    ``K_n`` a :class:`~kdtheory.divergences.Divergence`).  The validation is Model A's
    (:func:`kdtheory.symbols.check_real`): real or plain symbols only; strings, complex symbols
    (``TypeError``) and values proved outside the domain (``p = 1 + Symbol("x", positive=True)``,
    ``ValueError``) are refused naming the parameter.  :meth:`brute_force` needs numbers
    (``TypeError``).

    >>> import sympy
    >>> p, n = sympy.Symbol("p", real=True), sympy.Symbol("n", positive=True, integer=True)
    >>> MemoriserModel(M=10, n=n).gen(model.kernel(p))
    p*exp(n*log(9/10))
    """

    closed_form = closed_form_method("memoriser", "memoriser")

    def __init__(self, M: int, n: int):
        self.M = _count("M", M)
        self.n = _count("n", n)
        #: ``True`` if ``M`` or ``n`` is symbolic (then every kernel's quantities are)
        self.symbolic = isinstance(self.M, sp.Basic) or isinstance(self.n, sp.Basic)

    def __repr__(self) -> str:
        return f"MemoriserModel(M={self.M}, n={self.n})"

    def kernel(self, p: float) -> MemoriserKernel:
        """The kernel outputting ``set(D)`` with probability ``p in [0, 1]`` (a number or a real
        sympy expression)."""
        return MemoriserKernel(check_real("p", p, UNIT_CLOSED))

    def _check_kernel(self, name: str, k, symbolic: bool = False) -> None:
        """``k`` a memoriser kernel; unless ``symbolic``, the caller needs numbers (``TypeError``
        for a symbolic kernel or model)."""
        if not isinstance(k, MemoriserKernel):
            raise TypeError(f"{name} must be a MemoriserKernel, got {type(k).__name__}")
        if not symbolic and (k.symbolic or self.symbolic):
            raise numeric_only(
                f"{name} {k!r}" if k.symbolic else f"the model {self!r}",
                "miss_probability, gen, dgen, K_n, the proxy, theorem_values",
            )

    # -- exact quantities ---------------------------------------------------------------------
    def miss_probability(self) -> float:
        """``(1 - 1/M)^n = E[1 - |set(D)|/M]``: the chance that a fresh ``Z`` is not in ``D``."""
        return _out(_miss_probability(self.M, self.n))

    def gen(self, k: MemoriserKernel) -> float:
        """``gen = p (1 - 1/M)^n`` (THEORY §8 N2)."""
        self._check_kernel("kernel", k, symbolic=True)
        return _out(_gen(k.p, self.M, self.n))

    def dgen(self, student: MemoriserKernel, teacher: MemoriserKernel) -> float:
        """``gen_S - gen_T = (p_S - p_T)(1 - 1/M)^n``."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        return self.gen(student) - self.gen(teacher)

    def distillation_divergence(self, student: MemoriserKernel, teacher: MemoriserKernel):
        """``K_n = kl(p_S || p_T)``, the same for every ``D`` (THEORY §8 N2): a
        :class:`~kdtheory.divergences.Divergence` for numbers, the formula ``K_n`` (the sympy
        function ``binary_kl(p_S, p_T)``) for a symbolic kernel."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        if student.symbolic or teacher.symbolic:
            return _binary_kl(student.p, teacher.p)
        return binary_kl(student.p, teacher.p)

    def uniform_proxy(self) -> float:
        """``sigma_bar = 1/2``: ``g(W, D) in [0, 1]`` for every ``W`` and ``D`` (range 1), so by
        Hoeffding's lemma ``1/4`` is a proxy under any law (THEORY §3, §8 N2)."""
        return float(_f("uniform_proxy")())

    def theorem_values(self, student: MemoriserKernel, teacher: MemoriserKernel) -> dict:
        """Exact values of the symbols of the upper bounds (``dgen``, ``gen_S``, ``gen_T``,
        ``K_n``, ``sigma_bar``, ``n``); sympy expressions where the model or a kernel is
        symbolic (``sigma_bar`` then the formula's exact ``1/2``)."""
        self._check_kernel("student", student, symbolic=True)
        self._check_kernel("teacher", teacher, symbolic=True)
        symbolic = self.symbolic or student.symbolic or teacher.symbolic
        proxy = _f("uniform_proxy")
        return {
            "dgen": self.dgen(student, teacher),
            "gen_S": self.gen(student),
            "gen_T": self.gen(teacher),
            "K_n": _out(self.distillation_divergence(student, teacher)),
            "sigma_bar": proxy.symbolic() if symbolic else self.uniform_proxy(),
            "n": self.n,
        }

    # -- brute force --------------------------------------------------------------------------
    def loss(self, w: frozenset, z: int) -> float:
        """``l(w, z) = 1[z not in w]``."""
        return 0.0 if z in w else 1.0

    def brute_force(self, student: MemoriserKernel, teacher: MemoriserKernel) -> dict:
        """``gen_S``, ``gen_T``, ``K_n`` and the range of ``g`` by enumerating every dataset in
        ``{1..M}^n`` and both outputs, from the definitions ``g = L_mu - L_D`` and
        ``KL_D = sum_w P_S(w|D) log(P_S(w|D) / P_T(w|D))`` (THEORY §1).  Numbers only."""
        self._check_kernel("student", student)
        self._check_kernel("teacher", teacher)
        # compare n log M, not M**n (an exact power of huge M, n would not finish)
        if self.n * math.log(self.M) > math.log(BRUTE_FORCE_LIMIT) + 1e-9 or (
            self.M**self.n > BRUTE_FORCE_LIMIT
        ):
            raise ValueError(
                f"brute force needs M^n <= {BRUTE_FORCE_LIMIT}, got M={self.M}, n={self.n}"
            )
        zs = range(1, self.M + 1)
        prob_d = 1.0 / self.M**self.n
        gen = {"S": 0.0, "T": 0.0}
        from scipy.special import rel_entr  # brute force only: from the definition of KL_D

        k_n, g_min, g_max = 0.0, math.inf, -math.inf
        for data in itertools.product(zs, repeat=self.n):
            outputs = (frozenset(data), frozenset())
            kl_d = 0.0
            for w, ps, pt in zip(
                outputs, (student.p, 1 - student.p), (teacher.p, 1 - teacher.p), strict=True
            ):
                g = sum(self.loss(w, z) for z in zs) / self.M - sum(
                    self.loss(w, z) for z in data
                ) / len(data)
                g_min, g_max = min(g_min, g), max(g_max, g)
                gen["S"] += prob_d * ps * g
                gen["T"] += prob_d * pt * g
                kl_d += float(rel_entr(ps, pt))
            k_n += prob_d * kl_d
        return {"gen_S": gen["S"], "gen_T": gen["T"], "K_n": k_n, "g_range": (g_min, g_max)}


# -- batch functions: the compiled formulas of kdtheory.formulas.memoriser ------------------------
def _f(name: str):
    """The compiled memoriser formula ``name`` (:mod:`kdtheory.formulas.memoriser`)."""
    from ..formulas.memoriser import compiled

    return compiled(name)


def _count(name: str, value):
    """``M`` or ``n``: an ``int`` (:func:`~kdtheory.symbols.check_int`) or a symbolic count
    (:func:`~kdtheory.symbols.check_symbolic`: an expression sympy proves below 1 or not an
    integer is refused)."""
    if is_symbolic(value):
        return check_symbolic(name, value, MODEL_COUNT)
    return check_int(name, value, MODEL_COUNT)


def _alphabet(M, *others):
    """``M`` as floats for the numpy path; unchanged where an argument is symbolic (the compiled
    formula then substitutes it exactly)."""
    if any(isinstance(x, sp.Basic) for x in (M, *others)):
        return M
    return np.asarray(M, dtype=float)


def _miss_probability(M, n):
    """``(1 - 1/M)^n``, the chance that a fresh ``Z`` is not in ``D`` (``0`` for ``M = 1``;
    formula ``miss_probability``)."""
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf at M = 1: exp gives 0 exactly
        return _f("miss_probability")(_alphabet(M, n), n)


def _gen(p, M, n):
    """``gen = p (1 - 1/M)^n`` (THEORY §8 N2; formula ``gen``)."""
    with np.errstate(divide="ignore"):
        return _f("gen")(p, _alphabet(M, p, n), n)


def _binary_kl(p, q):
    """``kl(p || q)`` (THEORY §8 N2; formula ``K_n``, the registered ``binary_kl`` override):
    clipped at 0 from below; ``inf`` where ``q in {0, 1}`` puts zero mass where ``p`` does not."""
    return _f("K_n")(p, q)


def _theorem_values(M, n, p_s, p_t):
    """Exact values of the upper bounds' symbols (``dgen``, ``gen_S``, ``gen_T``, ``K_n``,
    ``sigma_bar``, ``n``; THEORY §3, §8 N2), from the compiled formulas."""
    gen_s, gen_t = _gen(p_s, M, n), _gen(p_t, M, n)
    k_n = _binary_kl(p_s, p_t)
    shape = np.shape(k_n)
    return {
        "dgen": gen_s - gen_t,
        "gen_S": gen_s,
        "gen_T": gen_t,
        "K_n": k_n,
        "sigma_bar": np.full(shape, float(_f("uniform_proxy")())),
        "n": np.broadcast_to(np.asarray(n, dtype=float), shape),
    }


def theorem_values(M, n, p_s, p_t) -> dict:
    """Validated :func:`_theorem_values` for broadcastable arrays of memorisers and kernels."""
    M = np.asarray(check_in("M", M, POSITIVE_INTEGER))
    n = np.asarray(check_in("n", n, POSITIVE_INTEGER))
    p_s = np.asarray(check_in("p_S", p_s, UNIT_CLOSED), dtype=float)
    p_t = np.asarray(check_in("p_T", p_t, UNIT_CLOSED), dtype=float)
    M, n, p_s, p_t = np.broadcast_arrays(M, n, p_s, p_t)
    return _theorem_values(M, n, p_s, p_t)
