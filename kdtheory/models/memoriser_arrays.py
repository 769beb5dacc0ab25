"""The memoriser's closed forms as array code (THEORY §8 N2): one source for the scalar methods
of :class:`~kdtheory.models.memoriser.MemoriserModel` and the vectorised audit of Theorem
U-uniform on it.  Every quantity is a compiled formula of :mod:`kdtheory.formulas.memoriser`
(derived there from the definitions).  Arguments broadcast (``M``, ``n`` integer arrays, ``p`` arrays in ``[0, 1]``);
the private kernels do no validation, the public function validates.
"""

from __future__ import annotations

import numpy as np

from ..symbols import POSITIVE_INTEGER, UNIT_CLOSED, check_in

__all__ = ["theorem_values"]


def _f(name: str):
    """The compiled memoriser formula ``name`` (:mod:`kdtheory.formulas.memoriser`)."""
    from ..formulas.memoriser import compiled

    return compiled(name)


def _miss_probability(M, n):
    """``(1 - 1/M)^n``, the chance that a fresh ``Z`` is not in ``D`` (``0`` for ``M = 1``;
    formula ``miss_probability``)."""
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf at M = 1: exp gives 0 exactly
        return _f("miss_probability")(np.asarray(M, dtype=float), n)


def _gen(p, M, n):
    """``gen = p (1 - 1/M)^n`` (THEORY §8 N2; formula ``gen``)."""
    with np.errstate(divide="ignore"):
        return _f("gen")(p, np.asarray(M, dtype=float), n)


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
