"""Model C's formulas in the spectral form (issue 11; THEORY §7): every per-direction formula's
compiled numpy function equals its expression at 50 digits; the spectral path of the model equals
its matrix path; Model A's golden values (THEORY §9) come out of the Model C expressions at
``X = 1_n^T``; ``kdtheory derive --model linear-gaussian`` prints the sums and solves for alpha*."""

from __future__ import annotations

import zlib

import mpmath
import numpy as np
import pytest
import sympy as sp
from formula_checks import run_derive
from test_formulas_models import _draw

from kdtheory.formulas import linear_gaussian as FC
from kdtheory.formulas.compile import definition
from kdtheory.models.linear import LinearGaussianModel, MatrixNormalKernel

RTOL = 1e-12


@pytest.mark.parametrize("name", list(FC.formulas()))
def test_compiled_numpy_equals_expression_at_50_digits(name):
    """The meta-test of tests/test_formulas_models.py for Model C's per-direction formulas:
    compiled numpy (stable overrides included) vs the expression in mpmath at 50 digits, 200
    random points of the symbols' domains, 1e-12 relative."""
    f, c = FC.formula(name), FC.compiled(name)
    rng = np.random.default_rng(zlib.crc32(f"linear-gaussian/{name}".encode()))
    cols = [_draw(rng, FC.SYMBOLS[k], 200) for k in f.args]
    got = np.broadcast_to(c.numpy(*cols), (200,))
    worst = 0.0
    for i in range(200):
        with mpmath.workdps(50):
            want = c.mpmath(*[mpmath.mpf(int(x[i]) if x.dtype.kind == "i" else x[i]) for x in cols])
            worst = max(worst, float(abs(got[i] - want) / max(abs(want), mpmath.mpf(1e-300))))
    assert worst <= RTOL, f"{name}: max relative difference {worst:.2e}"


def test_formulas_have_symbols_meanings_and_provenance():
    for f in FC.formulas().values():
        assert f.ref == "THEORY §7" and f.meaning and f.how.startswith("derived")
        assert FC.closed_form(f.name) is f
    with pytest.raises(KeyError, match="unknown linear-gaussian quantity"):
        FC.expression("nope")


def test_derivations_equal_theory_closed_forms():
    """THEORY §7's trace forms restricted to a spectral kernel (``H = X^T U diag(h) U^T``,
    ``Sigma = U diag(v) U^T``, ``P = I``), per direction, symbolically."""
    S = {k: p.symbol for k, p in FC.SYMBOLS.items()}
    k, n, nu, s, h, v = (S[x] for x in ("k", "n", "nu", "s", "h", "v"))
    hs, ht, vs, vt, c2 = (S[x] for x in ("h_S", "h_T", "v_S", "v_T", "c_Delta2"))
    e = {name: definition(f.expr) for name, f in FC.formulas().items()}
    assert sp.simplify(e["gen_dir"] - 2 * nu**2 / n * k * h * s) == 0  # tr(P) tr(HX)
    assert sp.simplify(e["Esigma2_dir"] - 4 * nu**2 * k / n**2 * vt * s) == 0
    est = nu**2 / 2 * k * (hs - ht) ** 2 * s / vt  # tr(Sigma_T^-1 dH^T dH) tr(I)
    spread = k * (vs / vt - 1 - sp.log(vs / vt)) / 2
    assert sp.simplify(e["estimation_dir"] - est) == 0
    assert sp.simplify(sp.expand_log(e["spread_dir"] - spread, force=True)) == 0
    assert sp.simplify(e["offset_dir"] - c2 / (2 * vt)) == 0
    gam, lam = S["gamma_T"], S["lam_T"]
    assert sp.simplify(e["gibbs_v"] - 1 / (lam + 2 * gam / n * s)) == 0
    assert sp.simplify(e["gibbs_h"] - 2 * gam / n * e["gibbs_v"]) == 0
    # gen = I_SKL / gamma for a Gibbs kernel (THEORY §7)
    gibbs = {h: e["gibbs_h"], v: e["gibbs_v"]}
    assert sp.simplify(e["gen_dir"].subs(gibbs) - e["symmetrized_information_dir"].subs(gibbs) / gam) == 0  # fmt: skip


def _model(rng, k, d, n):
    return LinearGaussianModel(
        rng.standard_normal((d, n)), rng.standard_normal((k, d)), float(rng.uniform(0.3, 2))
    )


def _matrix_copy(kern):
    return MatrixNormalKernel(kern.P, kern.H, kern.B, kern.Sigma)


@pytest.mark.parametrize("seed", range(6))
def test_spectral_path_equals_matrix_path(seed):
    """Kernels built by the compiled kernel maps (Gibbs, Bayes, KD with mean / sampled soft
    labels, tilt) against the same matrices through the matrix path: gen, K_n, its parts,
    Esigma2, informations and the rank profile agree to 1e-12 relative (parts: relative to K_n);
    d > n included (zero eigenvalues)."""
    rng = np.random.default_rng(seed)
    k, d, n = (int(x) for x in rng.integers(1, 5, 3))
    model = _model(rng, k, d, n + 1)
    teacher = model.gibbs(gamma=rng.uniform(0.2, 3), lam=rng.uniform(0.1, 2), M0=rng.normal(size=(k, d)))  # fmt: skip
    alpha, lam_s = rng.uniform(0, 1), rng.uniform(0.1, 2)
    students = [
        model.kd_student(teacher, alpha, rng.uniform(0.2, 3), lam_s, M0=rng.normal(size=(k, d))),
        model.kd_student(teacher, alpha, 1.0, lam_s, teacher_sample=True),
        model.tilt_student(teacher, rng.normal()),
        model.bayes_teacher(lam=lam_s, temperature=rng.uniform(0.5, 2)),
    ]
    mt = _matrix_copy(teacher)
    for student in students:
        assert student.spectral is not None
        ms = _matrix_copy(student)
        for a, b in ((student, ms), (teacher, mt)):
            assert model.gen(a) == pytest.approx(model.gen(b), rel=RTOL, abs=1e-15)
            for name in ("mutual_information", "lautum_information", "symmetrized_information"):
                assert getattr(model, name)(a) == pytest.approx(getattr(model, name)(b), rel=1e-11)
        assert model.conditional_proxy(teacher) == pytest.approx(model.conditional_proxy(mt), rel=RTOL)  # fmt: skip
        spec, mat = model.divergence_parts(student, teacher), model.divergence_parts(ms, mt)
        total = sum(mat.values())
        assert sum(spec.values()) == pytest.approx(total, rel=RTOL, abs=1e-15)
        for key in spec:
            assert spec[key] == pytest.approx(mat[key], rel=RTOL, abs=RTOL * total + 1e-15)
    p_spec, p_mat = model.rank_profile(teacher), model.rank_profile(mt)
    for key in ("rank_bottleneck", "K_n"):
        np.testing.assert_allclose(p_spec[key], p_mat[key], rtol=1e-11, atol=1e-12 * p_mat[key][0])


def test_rank_profile_total_is_the_k_n_of_the_zero_student():
    """The rank profile's cost at r = 0 is the K_n of the zero-mean student with Sigma_S =
    Sigma_T, i.e. sum_i (||abar_i||^2 + k e_i)/2 from the formulas whitened_mean and
    estimation_weight -- the same expressions as K_n_dir at h_S = b_S = 0."""
    rng = np.random.default_rng(7)
    model = _model(rng, 3, 4, 6)
    teacher = model.gibbs(gamma=1.3, lam=0.4, M0=0.2)
    zero = model._spectral_kernel(np.zeros(4), np.zeros((3, 4)), teacher.spectral.v)
    k_n = float(model.distillation_divergence(zero, teacher))
    assert model.rank_profile(teacher)["K_n"][0] == pytest.approx(k_n, rel=1e-12)


GOLDEN_A = {  # THEORY §9, Model A
    "gen_T": 1.232826747720365,
    "gen_S": 0.648775075987842,
    "K_n": 2.3605964336210143,
    "offset": 2.063304175531915,
    "estimation": 0.2766944794832827,
    "spread": 0.02059777860581659,
    "Esigma2": 0.6164133738601825,
    "U1": 1.705932713778972,
}


def test_theory_golden_values_from_the_model_c_expressions():
    """THEORY §9 has no Model C golden values; it says Model A is Model C with ``X = 1_n^T``
    (one direction, ``s = n``, ``omega = m``, ``nu = s_A``).  Model A's golden values from the
    compiled Model C formulas alone (per-direction kernel maps, then the parts), 1e-12 relative."""
    n, nu, m = 7, 1.3, np.array([0.5, -1.0, 2.0])
    k, s = 3, float(n)

    def f(name, **kw):
        return FC.compiled(name)(*(kw[a] for a in FC.formula(name).args))

    base = {"s": s, "n": n, "nu": nu, "k": k, "omega": m}
    t = dict(h=f("gibbs_h", gamma_T=2.0, lam_T=0.7, **base),
             b=f("gibbs_b", gamma_T=2.0, lam_T=0.7, mu0_T=0.2, **base),
             v=f("gibbs_v", gamma_T=2.0, lam_T=0.7, **base))  # fmt: skip
    hyper = {"alpha": 0.3, "gamma_S": 1.0, "lam_S": 2.0, "mu0_S": 0.0, **base}
    st = dict(h=f("kd_h_S", h_T=t["h"], **hyper), b=f("kd_b_S", b_T=t["b"], **hyper),
              v=f("kd_v_S", **hyper))  # fmt: skip
    pair = {"h_S": st["h"], "b_S": st["b"], "v_S": st["v"], "h_T": t["h"], "b_T": t["b"],
            "v_T": t["v"], **base}  # fmt: skip
    c2 = float(np.sum(f("c_Delta", **pair) ** 2))
    got = {
        "gen_T": f("gen_dir", h=t["h"], **base),
        "gen_S": f("gen_dir", h=st["h"], **base),
        "offset": f("offset_dir", c_Delta2=c2, **pair),
        "estimation": f("estimation_dir", **pair),
        "spread": f("spread_dir", **pair),
        "K_n": f("K_n_dir", c_Delta2=c2, **pair),
        "Esigma2": f("Esigma2_dir", v_T=t["v"], **base),
    }
    got["U1"] = np.sqrt(2 * got["Esigma2"] * got["K_n"])
    for key, want in GOLDEN_A.items():
        assert float(got[key]) == pytest.approx(want, rel=1e-12), key
    # and the model's spectral path at X = 1_n^T
    model = LinearGaussianModel(np.ones((1, n)), m[:, None], nu)
    teacher = model.gibbs(gamma=2.0, lam=0.7, M0=0.2)
    student = model.kd_student(teacher, alpha=0.3, gamma=1.0, lam=2.0)
    vals = model.theorem_values(student, teacher)
    for key in ("gen_T", "gen_S", "K_n", "Esigma2"):
        assert vals[key] == pytest.approx(GOLDEN_A[key], rel=1e-12), key


def test_model_a_is_model_c_symbolically():
    """At one direction with ``s = n`` the Model C K_n_kd (zero prior means) is Model A's
    ``K_n_kd`` with ``m0 = 0``, ``d = k``, ``||m||^2 = omega2``, ``s_A = nu``."""
    from kdtheory.formulas import gaussian_mean as FA

    A = {k: p.symbol for k, p in FA.SYMBOLS.items()}
    C = {k: p.symbol for k, p in FC.SYMBOLS.items()}
    kc = definition(FC.formula("K_n_kd_dir").expr).subs(C["s"], C["n"])
    ka = definition(FA.formula("K_n_kd").expr).subs({A["m0_T"]: 0, A["m0_S"]: 0})
    ka = ka.subs({A["d"]: C["k"], A["m_sq"]: C["omega2"], A["s"]: C["nu"], A["n"]: C["n"]})
    ka = ka.subs({A[x]: C[x] for x in ("alpha", "gamma_S", "lam_S", "gamma_T", "lam_T")})
    assert sp.simplify(sp.expand_log(kc - ka, force=True)) == 0


def test_optimal_kd_weight_from_the_solver_matches_a_numeric_minimiser():
    """alpha* of K_n_kd summed over the spectrum comes out of the solver as
    gamma_T lam_S / (gamma_S lam_T) (free of the spectrum), and a numeric minimiser over alpha of
    the model's K_n (compiled kernel maps, zero prior means) finds it."""
    from scipy.optimize import minimize_scalar

    S = {k: p.symbol for k, p in FC.SYMBOLS.items()}
    _, points, how = FC.stationary_points(FC.spectral_sum("K_n_kd"), S["alpha"])
    assert how == "symbolic"
    assert [sp.simplify(p - S["gamma_T"] * S["lam_S"] / (S["gamma_S"] * S["lam_T"])) for p in points] == [0]  # fmt: skip
    rng = np.random.default_rng(3)
    model = _model(rng, 2, 3, 5)
    teacher = model.gibbs(gamma=1.5, lam=0.6)

    def k_n(alpha):
        return float(model.distillation_divergence(model.kd_student(teacher, alpha, 2.0, 0.5), teacher))  # fmt: skip

    best = minimize_scalar(k_n, bounds=(0, 1), method="bounded", options={"xatol": 1e-10}).x
    assert best == pytest.approx(1.5 * 0.5 / (2.0 * 0.6), abs=1e-6)


def test_derive_linear_gaussian():
    """``kdtheory derive`` lists Model C, prints a spectral sum with its symbols (indexed terms
    by their base symbol) and alpha* from the solver; a per-direction formula parses back."""
    rc, text = run_derive("K_n_kd", "--model", "linear-gaussian", "--wrt", "alpha")
    assert rc == 0 and "Sum(" in text.splitlines()[1] and "s[i]" in text
    assert "  s         eigenvalue of X X^T" in text and "  omega2 " in text
    assert text.splitlines()[-1] == (
        "stationary points in alpha (sympy.solve, symbolic): gamma_T*lam_S/(gamma_S*lam_T)"
    )
    rc, text = run_derive("gibbs_v", "--model", "linear-gaussian", "--wrt", "lam_T")
    local = {k: p.symbol for k, p in FC.SYMBOLS.items()}
    shown = sp.sympify(text.splitlines()[1].split("=", 1)[1], locals=local)
    assert rc == 0 and sp.simplify(shown - FC.formula("gibbs_v").expr) == 0
    assert "stationary points in lam_T (sympy.solve, symbolic): none" in text
    rc, text = run_derive("K_n_kd", "--model", "linear-gaussian", "--wrt", "lam_S")
    assert rc == 0 and "not a polynomial in lam_S" in text.splitlines()[-1]
    rc, text = run_derive("gen", "--model", "linear-gaussian", "--latex")
    assert rc == 0 and r"\sum_{i=0}^{d - 1}" in text


def test_a_matrix_student_equal_to_a_spectral_teacher_has_dgen_and_k_n_zero():
    """Mixed paths never meet in one difference: a full-rank output projection (a matrix kernel
    equal to the spectral teacher) has dgen = 0 exactly and K_n at the rounding floor of the
    matrix path's spread (phi of pencil eigenvalues 1 +- eps: ~1e-32) (the seed-0 audit of
    U1@linear found dgen = -1.4e-13 against U1 = 5e-16 when gen_S and gen_T came from different
    paths)."""
    rng = np.random.default_rng(11)
    model = _model(rng, 3, 2, 5)
    teacher = model.gibbs(gamma=2.0, lam=0.7, M0=rng.normal(size=(3, 2)))
    student = model.output_projection_student(teacher, np.eye(3))
    assert student.spectral is None and teacher.spectral is not None
    vals = model.theorem_values(student, teacher)
    assert vals["dgen"] == 0.0 and 0.0 <= vals["K_n"] <= 1e-30
    assert vals["gen_S"] == vals["gen_T"] == model.gen(_matrix_copy(teacher))
    tilt = model.tilt_student(teacher, 1e-9)  # dgen from the slope differences: no cancellation
    want = 2 * 1e-9 * model.nu**2 * model.k / model.n**2 * float(np.sum(teacher.Sigma * model.XXt))
    assert model.dgen(tilt, teacher) == pytest.approx(want, rel=1e-12)


def test_derive_prints_every_formula_and_sum():
    """Every per-direction formula parses back from ``derive``; every spectral sum prints as a
    ``Sum`` over ``i = 0..d-1`` of its per-direction term with the per-direction symbols indexed."""
    from kdtheory.formulas.compile import OVERRIDES

    local = {k: p.symbol for k, p in FC.SYMBOLS.items()}
    local.update({k: ov.function for k, ov in OVERRIDES.items()})
    for name, f in FC.formulas().items():
        rc, text = run_derive(name, "--model", "linear-gaussian")
        shown = sp.sympify(text.splitlines()[1].split("=", 1)[1], locals=local)
        assert rc == 0 and sp.simplify(shown - f.expr) == 0, name
    for name, (per_dir, _) in FC.SUMS.items():
        rc, text = run_derive(name, "--model", "linear-gaussian")
        line = text.splitlines()[1]
        assert rc == 0 and line.startswith(f"  {name} = Sum(") and line.endswith("(i, 0, d - 1))")
        indexed = set(FC.formula(per_dir).args) & FC.PER_DIRECTION
        assert indexed and all(f"{x}[i]" in line for x in indexed), name


def test_import_kdtheory_derives_nothing_of_model_c():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, kdtheory; print('kdtheory.formulas.linear_gaussian' in sys.modules)"
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.stdout.strip() == "False"


def test_design_formulas_equal_the_model():
    """The composed per-direction formulas of the design helper (a KD student of a Gibbs teacher,
    zero prior means), summed over the spectrum, equal the model's values from the separately
    compiled kernel maps: gen_T, gen_S, Esigma2 and K_n (1e-12 relative)."""
    rng = np.random.default_rng(13)
    model = _model(rng, 3, 4, 6)
    hyper = {"gamma_T": 1.7, "lam_T": 0.4, "alpha": 0.35, "gamma_S": 0.9, "lam_S": 1.3}
    teacher = model.gibbs(gamma=hyper["gamma_T"], lam=hyper["lam_T"])
    student = model.kd_student(teacher, hyper["alpha"], hyper["gamma_S"], hyper["lam_S"])
    dz = model.design
    values = {**hyper, "s": dz.s, "nu": model.nu, "n": model.n, "k": model.k,
              "omega2": np.sum(dz.omega**2, axis=0)}  # fmt: skip

    def summed(name):
        return float(np.sum(FC.compiled(name)(*(values[a] for a in FC.formula(name).args))))

    vals = model.theorem_values(student, teacher)
    assert summed("gen_T_gibbs_dir") == pytest.approx(vals["gen_T"], rel=1e-12)
    assert summed("gen_S_kd_dir") == pytest.approx(vals["gen_S"], rel=1e-12)
    assert summed("Esigma2_gibbs_dir") == pytest.approx(vals["Esigma2"], rel=1e-12)
    assert summed("K_n_kd_dir") == pytest.approx(vals["K_n"], rel=1e-12)


def test_derive_u1_in_model_c():
    """``derive U1 --model linear-gaussian``: the U1 bound of a KD student of a Gibbs teacher as
    sqrt(2 Sum(Esigma2) Sum(K_n)) and its stationary alpha from the solver; a theorem needing
    symbols Model C does not supply is refused."""
    rc, text = run_derive("U1", "--model", "linear-gaussian", "--wrt", "alpha")
    assert rc == 0 and text.startswith("U1 (linear-gaussian): upper side of theorem U1")
    assert text.splitlines()[-1] == (
        "stationary points in alpha (sympy.solve, symbolic): gamma_T*lam_S/(gamma_S*lam_T)"
    )
    with pytest.raises(ValueError, match="needs .*sigma_bar"):
        FC.expression("U-uniform")
