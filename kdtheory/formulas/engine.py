"""The exact Gaussian-moment engine: expectations of polynomials in independent standard
normals, taken symbolically (THEORY §6: every Model A quantity is such an expectation).

Moved here from :mod:`kdtheory.proof` (which re-exports it) so that the formula modules of
:mod:`kdtheory.formulas` derive their closed forms with the same engine the proofs use.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["gaussian_moment", "gaussian_expectation"]


def gaussian_moment(k: int) -> sp.Integer:
    """``E xi^k`` for a standard normal ``xi``: 0 for odd k, ``(k-1)!!`` for even k."""
    return sp.Integer(0) if k % 2 else sp.factorial2(k - 1) if k else sp.Integer(1)


def gaussian_expectation(expr, normals) -> sp.Expr:
    """Exact ``E expr`` for ``expr`` a polynomial in independent standard normal symbols
    ``normals`` (other symbols, and functions of them such as ``log(tau)``, are constants):
    expand, then replace each monomial by the product of its moments."""
    normals = list(normals)
    poly = sp.Poly(sp.expand(expr), *normals)
    out = sp.Integer(0)
    for powers, coeff in poly.terms():
        m = sp.Integer(1)
        for k in powers:
            m *= gaussian_moment(k)
        out += coeff * m
    return sp.simplify(out)
