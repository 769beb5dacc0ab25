"""The memoriser (THEORY §8 N2) as data: its quantities as sympy expressions derived from the
definitions.

Data ``Z_i ~ Unif{1..M}`` iid, loss ``l(w, z) = 1[z not in w]``; a kernel with parameter ``p``
outputs ``set(D)`` with probability ``p`` and the empty set otherwise.

* ``miss_probability`` -- **derived**: ``P(Z_i = z) = sum_{k=1}^M 1[k = z]/M`` (a finite sum
  sympy does, for ``z in 1..M``), and by independence ``E_D 1[z not in D] = prod_{i=1}^n
  (1 - P(Z_i = z)) = (1 - 1/M)^n``; written in the stable form ``exp(n log1p(-1/M))`` (the
  registered ``log1p`` override), proved equal to the product by sympy.
* ``gen`` -- **derived**: ``E_D [p g(set(D), D) + (1 - p) g(empty, D)]`` with
  ``L_mu(set D) = (1/M) sum_{z=1}^M 1[z not in D]`` (its expectation the sum of the miss
  probabilities), ``L_D(set D) = (1/n) sum_i 1[Z_i not in D] = 0`` and ``g(empty, D) = 1 - 1 = 0``:
  ``gen = p (1 - 1/M)^n``.
* ``K_n`` -- **derived**: ``KL_D = sum_w P_S(w|D) log(P_S(w|D)/P_T(w|D))`` over the two outputs,
  the same for every ``D``, so ``K_n = E_D KL_D`` is the binary KL; written as the registered
  override ``binary_kl(p_S, p_T)`` (``scipy.special.rel_entr``: ``0 log 0 = 0``, ``inf`` off the
  support), proved equal to the sum.
* ``uniform_proxy`` -- a **closed form taken from THEORY** (§3, §8 N2): ``g in [0, 1]`` for every
  ``W``, so by Hoeffding's lemma ``range/2 = 1/2`` is a proxy under any law (checked against the
  range of ``g`` from the derivation in ``tests/test_formulas_models.py``).

Nothing is derived at import (:class:`~kdtheory.formulas.table.FormulaTable`); the array code of
the batch functions of :mod:`kdtheory.models.memoriser` evaluate the compiled functions.
"""

from __future__ import annotations

import sympy as sp

from ..symbols import PARAMS, POSITIVE_INTEGER, UNIT_CLOSED, Param
from .compile import binary_kl, log1p
from .table import FormulaTable, proved

__all__ = ["SYMBOLS", "TABLE", "formulas", "formula", "compiled", "closed_form", "expression"]

#: The symbols of the memoriser's formulas: name -> Param (LaTeX, domain, meaning).
SYMBOLS: dict[str, Param] = {
    p.name: p
    for p in [
        Param("M", "M", POSITIVE_INTEGER, r"size of the data alphabet $\{1, \dots, M\}$"),
        PARAMS["n"],
        Param("p", "p", UNIT_CLOSED, r"probability that a kernel outputs $\mathrm{set}(D)$"),
        Param("p_S", "p_S", UNIT_CLOSED, "the student's p"),
        Param("p_T", "p_T", UNIT_CLOSED, "the teacher's p"),
    ]
}

_REF = "THEORY §8 N2"


def _derive(add, S) -> None:
    M, n, p, p_s, p_t = S("M"), S("n"), S("p"), S("p_S"), S("p_T")
    z, k, i = sp.symbols("z k i", integer=True, positive=True)
    # P(Z_i = z) for a fixed z in {1..M}: the finite sum over the alphabet
    hit = sp.refine(sp.summation(sp.KroneckerDelta(k, z) / M, (k, 1, M)), sp.Q.le(z, M))
    miss = sp.Product(1 - hit, (i, 1, n)).doit()  # E_D 1[z not in D], independence
    # L_mu(set D) averaged over D: (1/M) sum_z E_D 1[z not in D]; L_D(set D) = 0
    risk_pop = sp.summation(miss / M, (z, 1, M))
    risk_emp = sp.summation((1 - 1) / n, (i, 1, n))  # each Z_i is in set(D)
    g_empty = sp.summation(sp.Integer(1) / M, (z, 1, M)) - sp.summation(
        sp.Integer(1) / n, (i, 1, n)
    )
    miss_stable = proved(miss, sp.exp(n * log1p(-1 / M)), positive=True)
    add(
        "miss_probability",
        miss_stable,
        ("M", "n"),
        "(1 - 1/M)^n: the chance that a fresh Z is not in D",
        _REF,
        "derived: E_D 1[z not in D] as a finite sum and a product; stable form exp(n log1p(-1/M))",
    )
    gen = sp.simplify(p * (risk_pop - risk_emp) + (1 - p) * g_empty)
    add(
        "gen",
        proved(gen, p * miss_stable, positive=True),
        ("p", "M", "n"),
        "gen of the kernel with parameter p",
        _REF,
        "derived: E_D of the loss difference over both outputs",
    )
    outputs = [(p_s, p_t), (1 - p_s, 1 - p_t)]  # P(set D | D), P(empty | D)
    kl_d = sum(ps * sp.log(ps / pt) for ps, pt in outputs)  # the same for every D
    add(
        "K_n",
        proved(kl_d, binary_kl(p_s, p_t)),
        ("p_S", "p_T"),
        "distillation divergence E_D KL_D (binary KL)",
        _REF,
        "derived: KL_D summed over the two outputs, constant in D; stable override binary_kl",
    )
    add(
        "uniform_proxy",
        (sp.Integer(1) - 0) / 2,
        (),
        "sigma_bar: Hoeffding proxy of g in [0, 1]",
        "THEORY §3, §8 N2",
        "closed form from THEORY (Hoeffding: range/2 on g in [0, 1])",
    )


TABLE = FormulaTable("memoriser", SYMBOLS, _derive)
formulas, formula, compiled, expression, closed_form = TABLE.api()
