"""Shared by the KL tests: a Gaussian law rescaled exactly (covariance times ``c``, mean times
``root = sqrt(c)``), under which every KL is invariant (issue 10, extreme scales)."""

from kdtheory.divergences import DiagonalGaussian, FullGaussian, IsotropicGaussian
from kdtheory.matrix_normal import MatrixNormal


def rescaled(g, c, root):
    """``g`` with covariance ``c * cov`` and mean ``root * mean`` (``root**2 == c``)."""
    if isinstance(g, IsotropicGaussian):
        return IsotropicGaussian(root * g.mean, c * g.var)
    if isinstance(g, DiagonalGaussian):
        return DiagonalGaussian(root * g.mean, c * g.var)
    if isinstance(g, FullGaussian):
        return FullGaussian(root * g.mean, c * g.cov)
    return MatrixNormal(root * g.M, c * g.Sigma)
