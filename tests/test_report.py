"""The audit report and its figures (kdtheory.report, kdtheory.figures).

Figures whose model API is not on this branch (the smoothing bound, THEORY §6.6; the rank
profile, THEORY §7) are tested on small stand-in objects implementing exactly the documented
API; the report itself must then say "figure unavailable: <reason>".
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from hypothesis import given

import kdtheory
from kdtheory import GaussianMeanModel
from kdtheory.audit import claims, run_audit
from kdtheory.audit.engine import AuditReport, ClaimResult
from kdtheory.figures import (
    FigureUnavailable,
    rank_figure,
    smoothing_curve,
    smoothing_figure,
    tightness_family,
    tightness_figure,
)
from kdtheory.latex import compile_pdf
from kdtheory.report import make_figures, report_tex, standard_gaussian_case, write_report
from kdtheory.sampling import RANGES
from kdtheory.tex import tex_escape
from kdtheory.theorems import all_theorems

needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex not on PATH (apt-get install texlive-latex-base texlive-latex-recommended)",
)


def _is_pdf(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data[:5] == b"%PDF-"


@pytest.fixture(scope="module")
def small_audit() -> AuditReport:
    """Every registered claim at a small scale (seed 0)."""
    return run_audit(seed=0, scale=0.02)


# -- stand-ins implementing the documented APIs of issues 4 and 5 ------------------------------


class SmoothingStandIn:
    """``smoothing_bound(student, teacher, rho)``, ``tightness_radius``, ``optimal_radius``:
    here ``B(rho) = (rho - 1)^2``, so ``B(0) = 1``, ``rho_* = 1`` and ``rho_0 = 2`` (the positive
    root of ``B(rho) = B(0)``)."""

    def smoothing_bound(self, student, teacher, rho):
        return (rho - 1.0) ** 2

    def tightness_radius(self, student, teacher):
        return 2.0

    def optimal_radius(self, student, teacher):
        return 1.0


class RankStandIn:
    """``rank_profile(teacher)`` -> dict with arrays ``rank``, ``rank_bottleneck``, ``K_n``:
    singular values 3, 2, 1 give bottleneck ``(1/2) sum_{i>r} s_i^2``."""

    def __init__(self, profile=None):
        s2 = np.array([9.0, 4.0, 1.0])
        cost = np.array([0.5 * s2[r:].sum() for r in range(4)])
        self.profile = profile or {"rank": np.arange(4), "rank_bottleneck": cost, "K_n": cost + 0.3}

    def rank_profile(self, teacher):
        return self.profile


class _Teacher:
    tau = 0.5


def test_smoothing_curve_passes_the_model_values_through():
    c = smoothing_curve(SmoothingStandIn(), None, _Teacher(), num=51)
    assert c["rho_0"] == 2.0 and c["rho_star"] == 1.0
    assert c["rho"][0] == 0.0 and math.isclose(c["rho"][-1], 5.0, rel_tol=1e-15)  # 2.5 max
    np.testing.assert_allclose(c["B"], (c["rho"] - 1.0) ** 2, rtol=0, atol=0)
    below = c["B"] < c["B"][0]
    assert np.all(below == ((c["rho"] > 0) & (c["rho"] < 2.0)))  # B < B(0) on (0, rho_0)


def test_smoothing_figure_is_written(tmp_path):
    path = smoothing_figure(SmoothingStandIn(), None, _Teacher(), tmp_path / "s.pdf")
    assert _is_pdf(path)


def test_rank_figure_is_written(tmp_path):
    path = rank_figure(RankStandIn(), None, tmp_path / "sub" / "r.pdf")
    assert _is_pdf(path)


class _Bare:
    pass


UNAVAILABLE = [
    (lambda p: smoothing_curve(_Bare(), None, _Teacher()), "_Bare has no smoothing_bound"),
    (lambda p: rank_figure(_Bare(), None, p), "_Bare has no rank_profile"),
    (
        lambda p: rank_figure(RankStandIn({"rank": [1], "K_n": [1.0]}), None, p),
        "rank_profile() returned no rank_bottleneck",
    ),
    (
        lambda p: rank_figure(
            RankStandIn({"rank": [1, 2], "K_n": [1.0], "rank_bottleneck": [1.0, 0.0]}), None, p
        ),
        "arrays must be 1-D of one length",
    ),
]


@pytest.mark.parametrize(("call", "reason"), UNAVAILABLE)
def test_missing_api_makes_the_figure_unavailable(tmp_path, call, reason):
    with pytest.raises(FigureUnavailable, match=reason.replace("(", r"\(").replace(")", r"\)")):
        call(tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


# -- the tightness family (THEORY §6.4) ------------------------------------------------------


def _check_family(fam):
    tilt = fam["kind"] == "tilt"
    # THEORY §6.4: the tilt student attains U1 (ratio 1); every student satisfies ratio <= 1
    np.testing.assert_allclose(fam["ratio"][tilt], 1.0, rtol=0, atol=1e-12)
    assert np.all(fam["ratio"] <= 1.0 + 1e-12)
    np.testing.assert_allclose(np.abs(fam["dgen"]), fam["ratio"] * fam["bound"], rtol=1e-12)


def test_tightness_family_golden_case():
    model, teacher, _ = standard_gaussian_case()
    fam = tightness_family(model, teacher)
    _check_family(fam)
    # here KD students (c_Delta != 0) and the spread family (r != 1) are strictly below 1
    assert np.all(fam["ratio"][fam["kind"] != "tilt"] < 0.999)
    # THEORY §9: E_D sigma_D^2 = 0.6164133738601825 for this teacher
    assert math.isclose(fam["Esigma2"], 0.6164133738601825, rel_tol=1e-12)


@given(
    d=RANGES["d"].strategy(),
    n=RANGES["n"].strategy(),
    s=RANGES["s"].strategy(),
    gamma=RANGES["gamma"].strategy(),
    lam=RANGES["lam"].strategy(),
)
def test_tightness_family_ratio_facts(d, n, s, gamma, lam):
    model = GaussianMeanModel(d=d, n=n, s=s, m=0.7)
    _check_family(tightness_family(model, model.gibbs(gamma=gamma, lam=lam, m0=0.1)))


def test_tightness_figure_is_written(tmp_path):
    model, teacher, _ = standard_gaussian_case()
    assert _is_pdf(tightness_figure(model, teacher, tmp_path / "t.pdf"))


# -- the report --------------------------------------------------------------------------------


def test_make_figures_writes_or_explains_each_figure(tmp_path):
    figs = {f.name: f for f in make_figures(tmp_path)}
    assert set(figs) == {"smoothing", "tightness", "rank"}
    assert _is_pdf(tmp_path / figs["tightness"].path)
    has_smoothing = all(
        hasattr(GaussianMeanModel, a)
        for a in ("smoothing_bound", "tightness_radius", "optimal_radius")
    )
    has_rank = hasattr(getattr(kdtheory, "LinearGaussianModel", None), "rank_profile")
    for name, present in (("smoothing", has_smoothing), ("rank", has_rank)):
        f = figs[name]
        if present:
            assert f.reason is None and _is_pdf(tmp_path / f.path)
        else:
            assert f.path is None and ("has no" in f.reason or "not available" in f.reason)


def test_report_lists_every_claim_and_theorem(small_audit):
    tex = report_tex(small_audit, [])
    assert {r.id for r in small_audit.results} == {c.id for c in claims()}
    for r in small_audit.results:
        assert rf"\texttt{{{tex_escape(r.id)}}} & \texttt{{{tex_escape(r.theorem)}}}" in tex
    for t in all_theorems():
        assert rf"\label{{thm:{t.id}}}" in tex
    for t in small_audit.unaudited:
        assert rf"\texttt{{{tex_escape(t)}}}" in tex
    assert (r"\textbf{OK}" in tex) == small_audit.ok


def _fake_result(status, verdict, cx):
    return ClaimResult(
        id="N-test_1",
        theorem="U1",
        status=status,
        model="toy",
        verdict=verdict,
        cases=3,
        violations=int(cx is not None),
        max_ratio=float("inf"),
        counterexample=cx,
        notes="a made-up result to test rendering",
    )


def test_report_shows_counterexamples_and_unexpected_verdicts():
    cx = {"params": {"m": 2.5, "note": "x_1 & y"}, "lhs": 6.25, "rhs": 3.5355, "ratio": 1.7678}
    refuted = _fake_result("false", "refuted", cx)
    violated = _fake_result("reconstructed", "refuted", cx)
    rep = AuditReport([refuted, violated], seed=3, scale=0.5, seconds=0.1, unaudited=[])
    tex = report_tex(rep, [])
    section = tex.index("Counterexamples of the negative controls")
    assert tex.index(r"\paragraph{\texttt{N-test\_1}}", section) > section
    assert "left side 6.25, right side 3.5355, ratio 1.7678" in tex
    assert '{"m": 2.5, "note": "x_1 & y"}' in tex  # verbatim JSON
    assert "Violations of true claims (an audit failure)" in tex
    assert r"\textbf{FAILED}" in tex and r"\textbf{(!)}" in tex and r"$\infty$" in tex
    assert r"-{}-claim N-test\_1" in tex and "-{}-scale 0.5" in tex


def test_report_with_unavailable_figures_says_why(small_audit):
    from kdtheory.report import FigureOutcome

    tex = report_tex(small_audit, [FigureOutcome("rank", "cap", None, "no model_x here")])
    assert r"figure unavailable: no model\_x here" in tex


@needs_pdflatex
def test_written_report_compiles(tmp_path, small_audit):
    """The real audit plus a made-up refuted negative control with awkward parameters."""
    cx = {"params": {"name": "a_b & {c} ~ ^ % \\ ρ≤σ", "x": [1e300, -2.5]}, "lhs": 2.0}
    cx.update(rhs=1.0, ratio=2.0)
    extra = _fake_result("false", "refuted", cx)
    rep = AuditReport(small_audit.results + [extra], 0, 0.02, 1.0, small_audit.unaudited)
    files = write_report(rep, tmp_path)
    assert files.compiled.ok, files.compiled.message
    assert _is_pdf(files.compiled.pdf) and files.compiled.pages >= 2
    tex = files.tex.read_text(encoding="utf-8")
    for f in files.figures:
        if f.path:
            assert (
                rf"\includegraphics[width=\linewidth,height=0.4\textheight,keepaspectratio]{{{f.path}}}"
                in tex
            )
    # and again from scratch, as the CI test of ``pdflatex -halt-on-error`` demands
    assert compile_pdf(files.tex, runs=1).ok


@pytest.mark.parametrize("value", [0, -1, 1.5, "3"])
def test_smoothing_curve_invalid_num(value):
    with pytest.raises(ValueError, match="num must be an integer >= 2"):
        smoothing_curve(SmoothingStandIn(), None, _Teacher(), num=value)


def test_write_report_lists_every_file_it_wrote_and_nothing_else(tmp_path):
    (tmp_path / "notes.txt").write_text("the user's")
    rep = AuditReport([_fake_result("false", "refuted", None)], 0, 1.0, 0.1, [])
    files = write_report(rep, tmp_path, pdf=False)
    on_disk = {p for p in tmp_path.rglob("*") if p.is_file()} - {tmp_path / "notes.txt"}
    assert set(files.written) == on_disk and len(files.written) == len(on_disk)
    assert files.tex in files.written and files.compiled is None
    drawn = {tmp_path / f.path for f in files.figures if f.path is not None}
    assert drawn <= set(files.written) and (tmp_path / "notes.txt").read_text() == "the user's"
