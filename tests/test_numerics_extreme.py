"""Reliable verdicts at extreme inputs (issue 10, numerics): KL divergences and the ball kernel.

Every reference here is computed *in the test* from the definition, in mpmath:

* Gaussian / matrix-normal KL (THEORY §1, §6.2, §7): the textbook
  ``[k (tr(Sq^-1 Sp) - d - log det(Sq^-1 Sp)) + tr(Sq^-1 Delta^T Delta)] / 2`` at 60 digits from
  the exact binary values of the float inputs (:func:`kl_reference`) -- no ``phi``, no
  eigenvalues, no rescaling, so it checks the stable forms of :mod:`kdtheory.divergences`;
* the ball average ``Psi(x) = E_U (omega^2/q)^(d/2) exp(-||c_K + U||^2/(2q))`` (THEORY §5, §6
  A-bump) at 50 digits by quadrature over the radius of ``U`` with the exact sphere average
  ``E_theta exp(kappa theta_1) = 0F1(; d/2; kappa^2/4)`` (:func:`ball_average_reference`) --
  independent of the non-central chi-square form the code uses.

Tolerances: ``KL_RTOL = 1e-10`` (the issue's target; the code's own error estimate targets
1e-11) and ``GEN_RTOL = 1e-12`` (the ball average is ``exp`` of a log-prefactor of size up to
~``d log d``, so its relative error is ~``eps d log d``: 2e-13 at ``d = 1000``).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from gaussian_scaling import rescaled
from hypothesis import given
from hypothesis import strategies as st

from kdtheory.divergences import (
    DiagonalGaussian,
    Divergence,
    FullGaussian,
    IsotropicGaussian,
    kl,
)
from kdtheory.formulas import ncx2 as NCX2
from kdtheory.matrix_normal import DEGENERATE_STUDENT, MatrixNormal
from kdtheory.models import BallKernelModel
from kdtheory.models import ball_kernel as BA
from kdtheory.models.linear import LinearGaussianModel

KL_RTOL = 1e-10
GEN_RTOL = 1e-12


# -- references ------------------------------------------------------------------------------
def kl_reference(m_p, m_q, s_p, s_q, dps: int = 60):
    """``KL(MN(M_p, I_k, S_p) || MN(M_q, I_k, S_q))`` from the definition, at ``dps`` digits
    (``M`` of shape ``(k, d)``; ``k = 1`` is the Gaussian KL)."""
    m_p, m_q = np.atleast_2d(m_p), np.atleast_2d(m_q)
    k, d = m_p.shape
    with mpmath.workdps(dps):
        sp_, sq = mpmath.matrix(np.asarray(s_p).tolist()), mpmath.matrix(np.asarray(s_q).tolist())
        sq_inv = mpmath.inverse(sq)
        a = sq_inv * sp_
        trace = mpmath.fsum(a[i, i] for i in range(d))
        logdet = mpmath.log(mpmath.det(sp_)) - mpmath.log(mpmath.det(sq))
        delta = mpmath.matrix((m_p - m_q).tolist())
        maha = mpmath.fsum((delta[r, :] * sq_inv * delta[r, :].T)[0] for r in range(k))
        return (k * (trace - d - logdet) + maha) / 2


def assert_kl_close(got, ref, rtol=KL_RTOL):
    assert isinstance(got, Divergence) and math.isfinite(got), got
    assert abs(mpmath.mpf(float(got)) - ref) <= rtol * abs(ref), (float(got), mpmath.nstr(ref, 17))


def ball_average_reference(ck2, radius, omega, x, d, dps: int = 50):
    """``Psi(x)`` from its definition: ``U = radius s theta`` (density ``d s^(d-1)`` on [0, 1],
    ``theta`` uniform on the sphere), ``E_theta exp(-c.theta r/q) = 0F1(; d/2; ck2 r^2/(4q^2))``."""
    with mpmath.workdps(dps):
        ck2, radius, omega, x = (mpmath.mpf(v) for v in (ck2, radius, omega, x))
        q = omega**2 + x

        def integrand(s):
            r2 = radius**2 * s**2
            return (
                d
                * s ** (d - 1)
                * mpmath.exp(-(ck2 + r2) / (2 * q))
                * mpmath.hyp0f1(mpmath.mpf(d) / 2, ck2 * r2 / (4 * q**2))
            )

        nodes = [0, 1 - mpmath.mpf(10) / d, 1] if d > 20 else [0, 1]
        return (omega**2 / q) ** (mpmath.mpf(d) / 2) * mpmath.quad(integrand, nodes)


def gen_reference(model: BallKernelModel, kern) -> mpmath.mpf:
    """``gen = Psi(v_tr) - Psi(v_te)`` with ``v_tr = s^2 (1 - 2a/n + a^2/n)``,
    ``v_te = s^2 (1 + a^2/n)`` (THEORY §6 A-bump, ``tau = 0``), each ``Psi`` by quadrature."""
    with mpmath.workdps(50):
        c = [
            (mpmath.mpf(kern.a) - 1) * mpmath.mpf(mi) + mpmath.mpf(bi)
            for mi, bi in zip(model.m, kern.b, strict=True)
        ]
        ck2 = mpmath.fsum(ci**2 for ci in c)
        a, n, s2 = mpmath.mpf(kern.a), model.n, mpmath.mpf(model.s) ** 2
        v_tr, v_te = s2 * (1 - 2 * a / n + a**2 / n), s2 * (1 + a**2 / n)
        return ball_average_reference(ck2, kern.radius, model.omega, v_tr, model.d) - (
            ball_average_reference(ck2, kern.radius, model.omega, v_te, model.d)
        )


def spd_with_condition(rng, d: int, cond: float) -> np.ndarray:
    """A random symmetric positive definite ``d x d`` matrix with eigenvalues ``1 .. 1/cond``."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    s = q @ np.diag(np.logspace(0, -math.log10(cond), d)) @ q.T
    return (s + s.T) / 2


# -- nearly equal covariances ---------------------------------------------------------------
@pytest.mark.parametrize("cond", [1.0, 1e5, 1e10])
@pytest.mark.parametrize("eps", [1e-3, 1e-7, 1e-9, 1e-12])
def test_matrix_normal_kl_for_nearly_equal_covariances(eps, cond):
    """``Sigma_S = (1 + eps) Sigma_T`` (k = 2, d = 3): the old ``tr - d - log det`` in double had
    relative error 6.6e-3 at eps = 1e-7 and ~3e8 at eps = 1e-12."""
    rng = np.random.default_rng(int(-math.log10(eps)) * 100 + int(math.log10(cond)))
    sigma = spd_with_condition(rng, 3, cond)
    m_t = rng.normal(size=(2, 3))
    for m_s in (m_t, m_t + 1e-9 * rng.normal(size=(2, 3))):
        student, teacher = MatrixNormal(m_s, (1 + eps) * sigma), MatrixNormal(m_t, sigma)
        assert_kl_close(kl(student, teacher), kl_reference(m_s, m_t, student.Sigma, sigma))
        # the same law as vec W ~ N(vec M, Sigma ⊗ I_k) through the Gaussian registry
        vec = kl(
            FullGaussian(student.mean, student.covariance()),
            FullGaussian(teacher.mean, teacher.covariance()),
        )
        assert_kl_close(vec, kl_reference(m_s, m_t, student.Sigma, sigma))


@pytest.mark.parametrize("eps", [1e-4, 1e-7, 1e-10, 1e-13, -1e-9])
def test_isotropic_and_diagonal_kl_for_nearly_equal_variances(eps):
    """``v_S = v_T (1 + eps)`` with ``v_T`` not a power of 2 (so ``v_S / v_T`` rounds): the old
    ``phi(v_S / v_T)`` lost ~``1e-16/eps`` relative (3e-7 at eps = 1e-9)."""
    v_t = np.array([0.7, 3.3, 1e-3])
    v_s = v_t * (1 + eps)
    mean = np.array([0.1, -0.2, 0.3])
    for i in range(3):
        got = kl(IsotropicGaussian(mean, v_s[i]), IsotropicGaussian(mean, v_t[i]))
        assert_kl_close(got, kl_reference(mean, mean, v_s[i] * np.eye(3), v_t[i] * np.eye(3)))
    got = kl(DiagonalGaussian(mean, v_s), DiagonalGaussian(mean + 1e-9, v_t))
    assert_kl_close(got, kl_reference(mean, mean + 1e-9, np.diag(v_s), np.diag(v_t)))


@st.composite
def near_pairs(draw):
    """Two Gaussians with nearly equal covariances: ``Sp = (I + eps G) Sq (I + eps G)^T``, log-uniform
    ``eps`` in [1e-13, 1e-1], condition number in [1, 1e10], scale in [1e-200, 1e200]."""
    seed = draw(st.integers(0, 2**32 - 1))
    d = draw(st.integers(1, 4))
    log_eps = draw(st.floats(math.log(1e-13), math.log(1e-1)))
    cond = math.exp(draw(st.floats(0.0, math.log(1e10))))
    scale = 10.0 ** draw(st.integers(-200, 200))
    rng = np.random.default_rng(seed)
    sq = spd_with_condition(rng, d, cond)
    g = rng.normal(size=(d, d))
    a = np.eye(d) + math.exp(log_eps) * g
    sp_ = a @ sq @ a.T  # a congruence: relative to sq, and positive definite
    mean_shift = draw(st.sampled_from([0.0, 1e-8, 1.0])) * rng.normal(size=d)
    return scale * sp_, scale * sq, math.sqrt(scale) * mean_shift


@given(near_pairs())
def test_full_gaussian_kl_matches_the_60_digit_definition(pair):
    sp_, sq, shift = pair
    p, q = FullGaussian(shift, sp_), FullGaussian(np.zeros_like(shift), sq)
    ref = kl_reference(shift, np.zeros_like(shift), p.cov, q.cov)
    if ref == 0:
        assert kl(p, q) == 0.0
    else:
        assert_kl_close(kl(p, q), ref)


# -- scale -----------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [1e-200, 1e-100, 1e150, 1e200, 2.0**-660, 2.0**660])
def test_gaussian_kl_is_scale_invariant(c):
    """Covariances times ``c``, means times ``sqrt(c)``: the same KL (to 1e-12; exactly equal
    for powers of 4, which the code's rescaling undoes exactly), never ``inf`` or an error.
    The old code raised ``ValueError`` (mpmath's Cholesky tolerance) below ~1e-100 for an
    ill-conditioned, nearly equal pair."""
    rng = np.random.default_rng(7)
    well = spd_with_condition(rng, 3, 10.0)
    ill = spd_with_condition(rng, 3, 1e9)
    m_p, m_q = rng.normal(size=3), rng.normal(size=3)
    root = math.sqrt(c)
    cases = [
        (FullGaussian(m_p, 2 * well), FullGaussian(m_q, well + np.eye(3))),
        (FullGaussian(m_p, ill * (1 + 1e-7)), FullGaussian(m_p, ill)),
        (IsotropicGaussian(m_p, 2.5), IsotropicGaussian(m_q, 0.5)),
        (DiagonalGaussian(m_p, np.diag(well)), DiagonalGaussian(m_q, [1.0, 2.0, 3.0])),
        (MatrixNormal(np.outer([1, 2], m_p), well), MatrixNormal(np.outer([1, -1], m_q), 3 * well)),
    ]
    for i, (p, q) in enumerate(cases):
        scaled = [rescaled(g, c, root) for g in (p, q)]
        got = kl(*scaled)
        assert_kl_close(got, _ref_of(*scaled))
        if math.log2(c) % 2 == 0:
            assert got == kl(p, q)
        elif i != 1:  # rounding c * ill moves its KL by ~1e-16 cond / 1e-7: compared above only
            assert got == pytest.approx(kl(p, q), rel=1e-12)


def _moments(g):
    if isinstance(g, MatrixNormal):
        return g.M, g.Sigma
    return g.mean, g.covariance()


def _ref_of(p, q):
    (m_p, s_p), (m_q, s_q) = _moments(p), _moments(q)
    return kl_reference(m_p, m_q, s_p, s_q)


@pytest.mark.parametrize("c", [1e-300, 1e-200, 1e200, 1e300])
def test_singular_student_is_still_infinite_with_its_reason_at_any_scale(c):
    teacher = MatrixNormal(np.zeros((2, 2)), c * np.eye(2))
    rank_one = MatrixNormal(np.zeros((2, 2)), c * np.array([[1.0, 1.0], [1.0, 1.0]]))
    out = kl(rank_one, teacher)
    assert out == math.inf and out.reason == DEGENERATE_STUDENT
    out = kl(FullGaussian([0.0, 0.0], rank_one.Sigma), FullGaussian([0.0, 0.0], teacher.Sigma))
    assert out == math.inf and "singular" in out.reason


def test_extreme_variance_ratios_are_finite_or_infinite_with_a_reason():
    """``v_S / v_T = 1e-600`` underflows, yet ``KL = (d/2) phi(1e-600)`` is ~1380 d/2: finite.
    ``v_S / v_T = 1e600`` gives a KL beyond the double range: ``inf`` with a reason."""
    mean = np.zeros(2)
    for p, q in [
        (IsotropicGaussian(mean, 1e-300), IsotropicGaussian(mean, 1e300)),
        (DiagonalGaussian(mean, [1e-300, 1.0]), DiagonalGaussian(mean, [1e300, 1.0])),
        (FullGaussian(mean, 1e-300 * np.eye(2)), FullGaussian(mean, 1e300 * np.eye(2))),
    ]:
        (_, s_p), (_, s_q) = _moments(p), _moments(q)
        with mpmath.workdps(60):  # the definition for diagonal covariances, coordinatewise
            ratios = [
                mpmath.mpf(a) / mpmath.mpf(b)
                for a, b in zip(np.diag(s_p), np.diag(s_q), strict=True)
            ]
            ref = mpmath.fsum(r - 1 - mpmath.log(r) for r in ratios) / 2
        assert_kl_close(kl(p, q), ref)
    for p, q in [
        (IsotropicGaussian(mean, 1e300), IsotropicGaussian(mean, 1e-300)),
        (FullGaussian(mean, 1e300 * np.eye(2)), FullGaussian(mean, 1e-300 * np.eye(2))),
        (IsotropicGaussian([1e300, 0.0], 1.0), IsotropicGaussian(mean, 1e-300)),
    ]:
        out = kl(p, q)
        assert out == math.inf and "largest double" in out.reason


# -- the linear-Gaussian model (THEORY §7) ---------------------------------------------------
@pytest.mark.parametrize("rel", [1e-6, 1e-9, 1e-12])
def test_linear_model_kl_given_data_for_nearly_equal_temperatures(rel):
    """``gamma_S = gamma_T (1 + rel)``: ``KL_Y`` against the 60-digit definition on the kernels'
    float laws given ``Y`` (the old registry form had relative error 0.97 at rel = 1e-9)."""
    rng = np.random.default_rng(10)
    model = LinearGaussianModel(rng.normal(size=(3, 8)), rng.normal(size=(2, 3)), 0.7)
    teacher = model.gibbs(2.0, 0.5)
    student = model.gibbs(2.0 * (1 + rel), 0.5)
    y = rng.normal(size=(2, 8))
    law_s, law_t = student.given(y), teacher.given(y)
    ref = kl_reference(law_s.M, law_t.M, law_s.Sigma, law_t.Sigma)
    assert_kl_close(model.kl_given_data(student, teacher, y), ref)


# -- the uniform-ball kernel (THEORY §5, §6 A-bump) ------------------------------------------
@pytest.mark.parametrize(
    ("d", "radius"),
    [
        (2, 1e-100),
        (2, 1e-160),
        (2, 1e-300),
        (5, 1e-200),
        (1, 1e-12),
        (300, 0.5),
        (1000, 0.5),
        (300, 1e-3),
        (40, 3.0),
    ],
)
def test_ball_gen_at_tiny_radius_and_large_dimension(d, radius):
    """The old code returned NaN for ``radius <= 1e-160`` (``d = 2``) and ``d >= 300``
    (an overflowing prefactor times an underflowed probability)."""
    model = BallKernelModel(d=d, n=5, s=1.0, m=0.0, omega=1.0)
    kern = model.kernel(a=1.0, b=0.1, radius=radius)
    got = model.gen(kern)
    ref = gen_reference(model, kern)
    assert math.isfinite(got)
    assert abs(mpmath.mpf(got) - ref) <= GEN_RTOL * abs(ref), (got, mpmath.nstr(ref, 17))


@pytest.mark.parametrize("t_factor", [0.5, 2.0])
def test_small_ball_expansion_equals_the_definition_at_its_switch(t_factor):
    """Just inside (expansion) and just outside (``ncx2`` form) of ``t = SMALL_BALL_T``: both
    equal the quadrature of the definition to 1e-14."""
    d, ck2, omega, x = 3, 0.49, 0.8, 0.6
    q = omega**2 + x
    radius = math.sqrt(t_factor * NCX2.SMALL_BALL_T * q / (d + ck2 / q))
    got = float(BA._ball_average(ck2, radius, omega, x, d))
    ref = ball_average_reference(ck2, radius, omega, x, d)
    assert abs(mpmath.mpf(got) - ref) <= 1e-14 * ref, (got, mpmath.nstr(ref, 17))


@given(
    st.integers(1, 1200),
    st.floats(math.log(1e-300), math.log(10.0)).map(math.exp),
    st.floats(0.0, 3.0),
)
def test_ball_gen_is_never_nan(d, radius, offset):
    """``gen`` and the two ball averages are finite and in their ranges (``Psi`` in ``[0, 1]``)
    for any radius and dimension."""
    model = BallKernelModel(d=d, n=4, s=1.0, m=0.0, omega=1.0)
    kern = model.kernel(a=1.0, b=offset, radius=radius)
    psi = BA._ball_averages(kern.a, kern.b, kern.radius, model.m, model.n, model.s, model.omega)
    assert all(0.0 <= float(v) <= 1.0 for v in psi), psi
    assert math.isfinite(model.gen(kern))


def test_ball_offset_beyond_the_supported_domain_raises():
    """The model refuses an offset beyond its supported range by name; the array code (no
    validation) refuses an overflowing ``||c_K||^2`` with its own message, never NaN."""
    model = BallKernelModel(d=2, n=4, s=1.0, m=0.0, omega=1.0)
    with pytest.raises(ValueError, match=r"^b .*supported range"):
        model.kernel(a=1.0, b=1e200, radius=1.0)
    with pytest.raises(ValueError, match=r"c_K.*overflows.*1e154"):
        BA._gen(1.0, np.full(2, 1e200), 1.0, np.zeros(2), 4, 1.0, 1.0)
