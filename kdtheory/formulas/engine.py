"""The exact Gaussian-moment engine: expectations of polynomials in independent standard
normals, taken symbolically (THEORY §6: every Model A quantity is such an expectation), and
the log-MGF of a quadratic form in them (THEORY §6.5: the joint CGF of Model A's gap).

Moved here from :mod:`kdtheory.proof` (which re-exports it) so that the formula modules of
:mod:`kdtheory.formulas` derive their closed forms with the same engine the proofs use.
"""

from __future__ import annotations

import functools

import sympy as sp

__all__ = ["gaussian_moment", "gaussian_expectation", "gaussian_log_mgf"]


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


@functools.cache
def _log_mgf_one():
    """``log E exp(B x - (k - 1) x^2/2)`` for one standard normal ``x`` and ``k > 0``, from its
    definition ``int exp(B x - k x^2/2) dx / sqrt(2 pi)`` (``sympy.integrate``: completing the
    square); in generic symbols ``(k, B)``.  It is ``B^2/(2k) - log(k)/2``."""
    x = sp.Symbol("x", real=True)
    k = sp.Symbol("k", positive=True)
    b = sp.Symbol("B", real=True)
    value = sp.integrate(sp.exp(b * x - k * x**2 / 2) / sp.sqrt(2 * sp.pi), (x, -sp.oo, sp.oo))
    log_value = sp.expand(sp.expand_log(sp.log(sp.simplify(value)), force=True))
    if log_value.has(sp.erf) or log_value.has(sp.Integral):
        raise ArithmeticError(f"the one-dimensional Gaussian integral did not close: {value}")
    return log_value, (k, b)


def gaussian_log_mgf(exponent, normals) -> tuple[sp.Expr, list[sp.Expr]]:
    """``(log E exp(exponent), conditions)`` for ``exponent`` a quadratic polynomial in the
    independent standard normal symbols ``normals`` (other symbols are constants).

    The normals are integrated out one at a time, in the order given: with
    ``exponent = A x^2 + B x + C`` in the current normal ``x`` (``A`` free of the normals, ``B``
    affine in the remaining ones), the one-dimensional integral of :func:`_log_mgf_one` at
    ``k = 1 - 2A`` contributes ``-log(1 - 2A)/2``, and the remaining exponent is
    ``C + B^2/(2 (1 - 2A))`` -- again quadratic.  ``conditions`` lists the ``1 - 2A`` that must
    be positive for the expectation to be finite (constant ones are dropped); outside them it is
    ``+inf``."""
    log_one, (k, b) = _log_mgf_one()
    normals = list(normals)
    rest = sp.expand(exponent)
    out = sp.Integer(0)
    conditions: list[sp.Expr] = []
    for x in normals:
        poly = sp.Poly(rest, x)
        if poly.degree() > 2:
            raise ArithmeticError(f"exponent is not quadratic in {x}: {exponent}")
        a2 = poly.coeff_monomial(x**2)
        b1 = poly.coeff_monomial(x)
        c0 = poly.coeff_monomial(1)
        if a2.free_symbols & set(normals) or sp.Poly(b1, *normals).total_degree() > 1:
            raise ArithmeticError(f"exponent is not a quadratic form in {normals}: {exponent}")
        kk = sp.factor(1 - 2 * a2)
        if not kk.is_number:
            conditions.append(kk)
        elif not kk > 0:
            raise ArithmeticError(f"E exp({exponent}) is infinite")
        out += log_one.subs({k: kk, b: 0})  # the log-determinant part
        rest = sp.expand(c0 + log_one.subs({k: kk, b: b1}) - log_one.subs({k: kk, b: 0}))
    return out + rest, conditions
