"""The audit report and its figures (kdtheory.report, kdtheory.figures).

Figures whose model API is not on this branch (the smoothing bound, THEORY §6.6; the rank
profile, THEORY §7) are tested on small stand-in objects implementing exactly the documented
API; the report itself must then say "figure unavailable: <reason>".
"""

from __future__ import annotations

import dataclasses
import math
import re
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
    ratio_limits,
    smoothing_curve,
    smoothing_figure,
    tightness_family,
    tightness_figure,
)
from kdtheory.latex import compile_pdf, preamble
from kdtheory.report import make_figures, report_tex, standard_gaussian_case, write_report
from kdtheory.sampling import RANGES
from kdtheory.tex import tex_escape
from kdtheory.theorems import all_theorems, theorem

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
        # the statement column names the environment the theorem is typeset in (theorems and
        # false claims are numbered apart)
        begin = re.search(r"\\begin\{(\w+)\}", theorem(r.theorem).latex()).group(1)
        env = {"theorem": "Thm.", "lemma": "Lemma", "claim": "False cl."}[begin]
        assert rf"\texttt{{{tex_escape(r.id)}}} & {env}~\ref{{thm:{r.theorem}}} & " in tex
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
    row = r"\texttt{N-test\_1} & False cl.~\ref{thm:U1} & toy & 6.25 & 3.5355 & 1.7678 \\*"
    assert tex.index(row, section) > section
    # the parameters as name = value pairs in LaTeX, not JSON
    assert r"$m$\,=\,2.5, \texttt{note}\,=\,x\_1 \& y" in tex
    assert '{"m"' not in tex and "verbatim" not in tex
    assert "Violations of true claims (an audit failure)" in tex
    assert r"\textbf{FAILED}" in tex and r"\textbf{refuted!}" in tex and r"$\infty$" in tex
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
            assert rf"\includegraphics[width=\linewidth]{{{f.path}}}" in tex
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


# -- typesetting and figure legibility ---------------------------------------------------------

_OVERFULL = re.compile(r"Overfull \\hbox \(([\d.]+)pt too wide\) .*? at lines (\d+)--(\d+)")


def _overfull_boxes(log: str) -> list[tuple[float, int]]:
    """``(points too wide, first source line)`` of every overfull hbox in a pdflatex log."""
    return [(float(w), int(a)) for w, a, _ in _OVERFULL.findall(log)]


@needs_pdflatex
def test_overfull_box_parser_sees_a_box_that_is_too_wide(tmp_path):
    tex = tmp_path / "wide.tex"
    tex.write_text(
        "\\documentclass{article}\\begin{document}\n\\noindent\\hbox to 1.2\\linewidth{x\\hfil}\n"
        "\\end{document}\n"
    )
    res = compile_pdf(tex, runs=1, keep_log=True)
    boxes = _overfull_boxes(res.log.read_text(errors="replace"))
    assert len(boxes) == 1 and boxes[0][0] > 60  # 0.2 of the 345 pt text width


@needs_pdflatex
def test_report_typesets_without_overfull_boxes(tmp_path, small_audit):
    """The whole report (audit table, claim notes, counterexamples, figures and the registered
    theorems) has no overfull box wider than 1 pt, with the longest names and parameter lists
    there are plus a made-up counterexample of ten parameters."""
    params = {"d": 4, "n": 1000, "s": 0.125, "m": [0.5, -1.0, 2.0, 1e-300], "a_T": -0.25}
    params.update(tau_factor=0.333333333, m0_T=1.5e-7, kappa=-0.008, eta_fraction=0.05)
    params["log10_M"] = 5.0
    cx = {"params": params, "lhs": 1.317333333, "rhs": 1.331594962, "ratio": 9.20402}
    extra = [_fake_result("false", "refuted", cx), _fake_result("extension", "refuted", cx)]
    # the case counts of a full-scale audit (the widest numbers in the table and the notes)
    full = [dataclasses.replace(r, cases=100_000) for r in small_audit.results]
    rep = AuditReport(full + extra, 0, 0.02, 1.0, small_audit.unaudited)
    files = write_report(rep, tmp_path, pdf=False)
    res = compile_pdf(files.tex, runs=2, keep_log=True)
    assert res.ok, res.message
    boxes = _overfull_boxes(res.log.read_text(errors="replace"))
    assert [b for b in boxes if b[0] > 1.0] == []


def test_tightness_figure_shows_a_violation_in_its_own_colour():
    """A point of ratio 1.41 stays inside the ratio panel and is drawn in the violation colour;
    every text of the figure is at least 9 pt at its final size (the figure is as wide as the
    report's text, so it is included unscaled)."""
    from matplotlib.colors import to_rgba
    from matplotlib.text import Text

    from kdtheory import figures

    model, teacher, _ = standard_gaussian_case()
    fam = tightness_family(model, teacher)
    fam["ratio"] = fam["ratio"].copy()
    fam["ratio"][3] = 1.41
    with figures._rc():
        fig = figures._new_figure(2.6)
        _, ax2 = figures.draw_tightness(fig, fam)
    assert ax2.get_ylim()[1] >= 1.41 and ax2.get_ylim()[0] <= 0.0
    red = to_rgba(figures.VIOLATION_COLOUR)
    marked = [
        c.get_offsets()
        for c in ax2.collections
        if len(c.get_offsets()) and np.allclose(c.get_facecolor()[0], red)
    ]
    assert len(marked) == 1 and np.allclose(marked[0], [[fam["K_n"][3], 1.41]])
    # the violating point is in no other series of the panel
    others = [c for c in ax2.collections if not np.allclose(c.get_facecolor()[0], red)]
    assert all(1.41 not in np.asarray(c.get_offsets())[:, 1] for c in others)
    texts = [t for t in fig.findobj(Text) if t.get_text().strip()]
    assert texts and min(t.get_fontsize() for t in texts) >= 9.0


def test_ratio_limits_show_every_point():
    assert ratio_limits([0.2, 1.0]) == (0.0, 1.1)
    lo, hi = ratio_limits([0.5, 1.41, np.inf, np.nan])
    assert lo == 0.0 and 1.41 < hi < 1.5
    assert ratio_limits([-0.4, 0.3])[0] < -0.4


@needs_pdflatex
def test_figures_are_as_wide_as_the_report_text(tmp_path):
    """Each figure's PDF page is as wide as the report's ``\\linewidth`` (read from pdflatex),
    so ``width=\\linewidth`` includes it at scale 1 and its 9 pt fonts stay 9 pt."""
    from kdtheory.figures import COLUMN_WIDTH_IN

    probe = tmp_path / "probe.tex"
    probe.write_text(
        preamble("probe") + "\n\\begin{document}\n\\typeout{LINEWIDTH=\\the\\linewidth}x\n"
        "\\end{document}\n",
        encoding="utf-8",
    )
    res = compile_pdf(probe, runs=1, keep_log=True)
    width_pt = float(re.search(r"LINEWIDTH=([\d.]+)pt", res.log.read_text()).group(1))
    model, teacher, _ = standard_gaussian_case()
    data = tightness_figure(model, teacher, tmp_path / "t.pdf").read_bytes()
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box is not None
    # TeX points are 1/72.27 in, PDF points 1/72 in
    assert abs(float(box.group(1)) / 72 - width_pt / 72.27) < 0.01  # inches
    assert abs(COLUMN_WIDTH_IN - width_pt / 72.27) < 0.01
