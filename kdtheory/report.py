"""The audit report: ``report.tex`` (and ``report.pdf`` where pdflatex exists) with the audit
table, the counterexamples of the negative controls, the figures and every registered theorem.

Everything in it is computed from an :class:`~kdtheory.audit.engine.AuditReport` and the theorem
registry at the time of writing, so theorems and claims registered later appear automatically.
One command makes it: ``kdtheory audit --report DIR``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audit.engine import AuditReport, ClaimResult
from .figures import FigureUnavailable, require
from .latex import CompileResult, compile_pdf, preamble, theorems_body
from .outputs import OutputError, atomic_write_text
from .tex import tex_escape

__all__ = [
    "FigureOutcome",
    "ReportFiles",
    "standard_gaussian_case",
    "standard_linear_case",
    "make_figures",
    "report_tex",
    "write_report",
]


@dataclass(frozen=True)
class FigureOutcome:
    """One figure of the report: its file (relative to the report directory) or the reason it
    is unavailable."""

    name: str
    caption: str
    path: str | None
    reason: str | None = None


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` made: ``report.tex``, the figures (drawn or explained), the
    outcome of compiling ``report.pdf`` (``None`` when not asked), and ``written``, every file
    it wrote, in order (nothing else in the report directory is touched)."""

    tex: Path
    figures: list[FigureOutcome]
    compiled: CompileResult | None
    written: tuple[Path, ...] = ()


# -- the models behind the figures ------------------------------------------------------------


def standard_gaussian_case():
    """Model A with the golden parameters of THEORY §9: ``d=3, n=7, s=1.3, m=(.5,-1,2)``, the
    Gibbs teacher ``(gamma=2, lam=.7, m0=.2)`` and the student ``(a_T, b_T, 1.5 tau_T)`` whose
    ``rho_*`` and ``rho_0^sm`` THEORY §9 records.  Returns ``(model, teacher, student)``."""
    from .models import GaussianMeanModel

    model = GaussianMeanModel(d=3, n=7, s=1.3, m=[0.5, -1.0, 2.0])
    teacher = model.gibbs(gamma=2.0, lam=0.7, m0=0.2)
    student = model.kernel(a=teacher.a, b=teacher.b, tau=1.5 * teacher.tau)
    return model, teacher, student


def standard_linear_case():
    """Model C (THEORY §7) on a fixed design: ``X`` 6 x 40 with iid N(0, 1) entries, ``W*`` 4 x 6
    with singular values 3, 1.5, 0.6, 0.2 (seed 7), ``nu = 0.5``, Gibbs teacher ``gamma = 20,
    lam = 0.5``.  Returns ``(model, teacher)``; :class:`FigureUnavailable` if the model's API is
    not there."""
    import kdtheory

    cls = getattr(kdtheory, "LinearGaussianModel", None)
    if cls is None:
        raise FigureUnavailable("kdtheory.LinearGaussianModel is not available (THEORY §7 model)")
    require(cls, "rank_profile", what="the rank-profile API of THEORY §7")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 40))
    u, _, vt = np.linalg.svd(rng.standard_normal((4, 6)), full_matrices=False)
    w_star = (u * np.array([3.0, 1.5, 0.6, 0.2])) @ vt
    model = cls(x, w_star, 0.5)
    try:
        teacher = model.gibbs(gamma=20.0, lam=0.5)
    except (AttributeError, TypeError, ValueError) as exc:
        raise FigureUnavailable(f"cannot build the Gibbs teacher of Model C: {exc}") from None
    return model, teacher


_CAPTIONS = {
    "smoothing": (
        r"The smoothing bound $B(\rho)$ on $\mathrm{gen}_S$ (THEORY \S 5, \S 6.6) in the Gaussian "
        r"mean model with the parameters of THEORY \S 9 and the student $(a_T, b_T, 1.5\tau_T)$: "
        r"it is below $B(0)$ exactly for $0<\rho<\rho_0^{\mathrm{sm}}$ and minimal at $\rho_*$."
    ),
    "tightness": (
        r"Theorem U1 against the exact $\Delta\mathrm{gen}$ for a family of students of one "
        r"teacher (THEORY \S 6.4; parameters of THEORY \S 9). Tilt students attain the bound "
        r"(ratio 1); KD students and students with another spread lie below it."
    ),
    "rank": (
        r"The rank-bottleneck cost $\frac12\sum_{i>r}\varsigma_i^2$ and $K_n$ at student "
        r"rank $r$, against $r$, in the linear-Gaussian model (THEORY \S 7)."
    ),
}


def make_figures(outdir, progress: Callable[[str], None] | None = None) -> list[FigureOutcome]:
    """Draw every figure into ``outdir/figures/`` (PDF); a figure that cannot be drawn is
    returned with its reason instead."""
    from . import figures

    outdir = Path(outdir)

    def smoothing(path):
        model, teacher, student = standard_gaussian_case()
        return figures.smoothing_figure(model, student, teacher, path)

    def tightness(path):
        model, teacher, _ = standard_gaussian_case()
        return figures.tightness_figure(model, teacher, path)

    def rank(path):
        model, teacher = standard_linear_case()
        return figures.rank_figure(model, teacher, path)

    out = []
    for name, draw in (("smoothing", smoothing), ("tightness", tightness), ("rank", rank)):
        rel = f"figures/{name}.pdf"
        try:
            draw(outdir / rel)
            outcome = FigureOutcome(name, _CAPTIONS[name], rel)
        except FigureUnavailable as exc:
            outcome = FigureOutcome(name, _CAPTIONS[name], None, str(exc))
        if progress:
            progress(f"figure {name}: {outcome.path or 'unavailable'}")
        out.append(outcome)
    return out


# -- the document -------------------------------------------------------------------------------


def _num(x, fmt: str = ".6g") -> str:
    r"""``x`` for a table cell (text mode): ``--`` for ``None``, NaN, the infinities as math,
    and powers of ten as ``m\times10^{e}``."""
    if x is None:
        return "--"
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return r"$\infty$" if x > 0 else r"$-\infty$"
    text = f"{x:{fmt}}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return rf"${mantissa}\times 10^{{{int(exp)}}}$"
    return text if x >= 0 else f"${text}$"


def _witness(x) -> str:
    """A witness ratio: exactly ``1`` when it is 1 to double precision, otherwise its distance
    from 1 (``1 - 2.2e-13``), which a rounded decimal would hide."""
    if x is None or not math.isfinite(float(x)):
        return _num(x)
    x = float(x)
    gap = x - 1.0
    if gap == 0.0:
        return "1"
    if abs(gap) >= 1e-6:
        return _num(x, ".8g")
    sign = "+" if gap > 0 else "-"
    mantissa, exp = f"{abs(gap):.1e}".split("e")
    return rf"$1{sign}{mantissa}\mathrm{{e}}{{{int(exp)}}}$"


#: parameter names whose first part is a Greek letter (``tau_T`` -> ``\tau_T``)
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "kappa", "lambda", "mu", "nu",
    "xi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
}  # fmt: skip
_NAME = re.compile(r"^([A-Za-z]+?)(\d*)(?:_([A-Za-z0-9]{1,3}))?$")


def _param_name(name: str) -> str:
    r"""A model parameter's name as LaTeX: ``a_T`` -> ``$a_T$``, ``tau_T`` -> ``$\tau_T$``,
    ``m0_T`` -> ``$m_{0,T}$``, ``lam`` -> ``$\lambda$``; any other name (``tau_factor``,
    ``log10_M``) in typewriter type."""
    m = _NAME.match(name)
    if m:
        base, digits, sub = m.groups()
        greek = {"lam": "lambda"}.get(base, base)
        if len(base) == 1 or greek in _GREEK:
            symbol = base if len(base) == 1 else "\\" + greek
            index = ",".join(x for x in (digits, sub) if x)
            return f"${symbol}_{{{index}}}$" if index else f"${symbol}$"
    return rf"\texttt{{{tex_escape(name)}}}"


def _param_value(v) -> str:
    if isinstance(v, bool) or v is None:
        return tex_escape(str(v))
    if isinstance(v, (int, float)):
        return _num(v)
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_param_value(x) for x in v) + ")"
    return tex_escape(str(v))


def _params(params: dict) -> str:
    """The parameters of a counterexample as ``name = value`` pairs (text mode)."""
    if not params:
        return "--"
    return ", ".join(rf"{_param_name(k)}\,=\,{_param_value(v)}" for k, v in params.items())


def _full_width_longtable(spec: str, head: str, rows: list[str]) -> str:
    r"""A booktabs ``longtable`` exactly ``\linewidth`` wide (columns spread by
    ``\extracolsep{\fill}``), in ``\footnotesize``, with ``head`` repeated on every page."""
    return "\n".join(
        [
            r"{\footnotesize\setlength{\LTleft}{0pt}\setlength{\LTright}{0pt}"
            r"\setlength{\tabcolsep}{3pt}",
            rf"\begin{{longtable}}{{@{{\extracolsep{{\fill}}}}{spec}@{{}}}}",
            r"\toprule",
            head + r" \\",
            r"\midrule",
            r"\endhead",
            *rows,
            r"\bottomrule",
            r"\end{longtable}}",
        ]
    )


def _breakable(tex: str) -> str:
    """Allow a line break after every slash (``Gibbs/tempered-Bayes/generic`` has none)."""
    return tex.replace("/", r"/\allowbreak{}")


def _statement_ref(r: ClaimResult, theorems: dict) -> str:
    """The claim's statement by its number in the theorems section, with the name of its
    environment (as :meth:`~kdtheory.theorems.Theorem.latex` chooses it): theorems and lemmas
    share a counter, false claims have their own."""
    thm = theorems.get(r.theorem)
    if r.status == "false":
        env = "False cl."
    elif r.status == "conjecture":
        env = "Conj."
    elif thm is not None and "lemma" in getattr(thm, "tags", ()):
        env = "Lemma"
    else:
        env = "Thm."
    return rf"{env}~\ref{{thm:{r.theorem}}}"


def _theorems_by_id() -> dict:
    from .theorems.registry import all_theorems

    return {t.id: t for t in all_theorems()}


def _table(results: list[ClaimResult]) -> str:
    theorems = _theorems_by_id()
    head = r"claim & statement & status & model & verdict & cases & viol. & max ratio & witness"
    rows = []
    for r in results:
        verdict = tex_escape(r.verdict)
        if not r.as_expected:
            verdict = rf"\textbf{{{verdict}!}}"
        cells = [
            rf"\texttt{{{tex_escape(r.id)}}}",
            _statement_ref(r, theorems),
            tex_escape(r.status),
            tex_escape(r.model),
            verdict,
            str(r.cases),
            str(r.violations),
            _num(r.max_ratio),
            _witness(r.witness_ratio),
        ]
        rows.append(" & ".join(cells) + r" \\")
    return _full_width_longtable("lllllrrrr", head, rows)


def _counterexamples(results: list[ClaimResult]) -> str:
    """One two-line row per counterexample: the claim, its theorem and model and the two sides
    re-evaluated from the statement, then the parameters of the point as ``name = value``."""
    head = r"claim & statement & model & left side & right side & ratio"
    theorems = _theorems_by_id()
    rows = []
    for r in results:
        cx = r.to_json()["counterexample"]
        cells = [
            rf"\texttt{{{tex_escape(r.id)}}}",
            _statement_ref(r, theorems),
            tex_escape(r.model),
            _num(cx.get("lhs"), ".10g"),
            _num(cx.get("rhs"), ".10g"),
            _num(cx.get("ratio")),
        ]
        rows.append(" & ".join(cells) + r" \\*")
        rows.append(
            r"\multicolumn{6}{@{\quad}p{0.9\linewidth}@{}}{\raggedright "
            + _params(cx.get("params", {}))
            + r"} \\[2pt]"
        )
    return _full_width_longtable("lllrrr", head, rows)


#: let a page hold the three figures under their heading (LaTeX's defaults allow two floats
#: at the top of a page and 70 % of it for floats, which left the third figure alone on a page)
_FLOAT_PARAMETERS = "\n".join(
    [
        r"\setcounter{topnumber}{3}",
        r"\setcounter{totalnumber}{4}",
        r"\renewcommand{\topfraction}{0.95}",
        r"\renewcommand{\textfraction}{0.05}",
        r"\renewcommand{\floatpagefraction}{0.8}",
    ]
)


def report_tex(report: AuditReport, figures: list[FigureOutcome] | None = None) -> str:
    """The report as a standalone LaTeX document (see the module docstring)."""
    from . import __version__
    from .theorems.registry import all_theorems

    res = report.results
    false_cx = [r for r in res if r.status == "false" and r.counterexample is not None]
    true_cx = [r for r in res if r.status != "false" and r.counterexample is not None]
    unexpected = [r for r in res if not r.as_expected]
    parts = [preamble("kdtheory audit report"), _FLOAT_PARAMETERS]
    parts += [r"\begin{document}", r"\maketitle"]
    verdict = r"\textbf{OK}" if report.ok else r"\textbf{FAILED}"
    parts.append(
        rf"{verdict}: {len(res)} claims audited (seed {report.seed}, scale "
        rf"{_num(report.scale)}, {report.seconds:.1f}\,s, kdtheory {__version__}); "
        rf"{len(unexpected)} not as expected. Every true claim must \emph{{hold}} on all "
        r"cases and every \emph{false} claim (a negative control) must be \emph{refuted} by a "
        r"concrete counterexample; a \emph{conjecture} is reported neutrally."
        + (
            " Claims registered in a Python session ("
            + ", ".join(tex_escape(c) for c in report.session_claims)
            + ") cannot be reproduced from the command line: save them in a plugin file."
            if report.session_claims
            else ""
        )
        + " To reproduce it:"
    )
    # typewriter spaces do not stretch: the command is set ragged right, on lines of its own
    command = tex_escape(report.reproduce_command()).replace("--", "-{}-")
    parts.append(
        r"\begin{flushleft}\ttfamily"
        + "\n"
        + command
        + r" -{}-report DIR"
        + "\n"
        + r"\end{flushleft}"
    )
    parts.append(r"\section{Audit table}")
    parts.append(
        r"\emph{statement} refers to the claim's statement in Section~\ref{sec:theorems}; "
        r"\emph{max ratio} is the largest $(\mathrm{lhs}-\mathrm{ref})/(\mathrm{rhs}-\mathrm{ref})$ "
        r"over the cases ($\le 1$ iff the statement holds there); \emph{witness} is the ratio "
        r"reached by the equality witnesses (1 when the bound is attained); a verdict in bold "
        r"with ! is not the expected one."
    )
    parts.append(_table(res))
    parts.append(r"\subsection*{What each claim checks}")
    items = [
        rf"\item[\texttt{{{tex_escape(r.id)}}}] {_breakable(tex_escape(r.notes)) or '--'} "
        rf"({r.cases} cases, {r.seconds:.2f}\,s)"
        for r in res
    ]
    parts.append("\\begin{description}\n" + "\n".join(items) + "\n\\end{description}")
    parts.append(r"\section{Counterexamples of the negative controls}")
    cx_intro = (
        r"Each row gives the two sides re-evaluated from the statement at the shrunk "
        r"counterexample, and below them the parameters of that point."
    )
    if false_cx:
        parts += [cx_intro, _counterexamples(false_cx)]
    else:
        parts.append("No negative control was refuted in this run.")
    if true_cx:
        parts.append(r"\subsection*{Violations of true claims (an audit failure)}")
        parts.append(_counterexamples(true_cx))
    if report.unaudited:
        parts.append(
            "Registered theorems without a numeric check: "
            + ", ".join(rf"\texttt{{{tex_escape(t)}}}" for t in report.unaudited)
            + "."
        )
    parts.append(r"\section{Figures}")
    drawn = [f for f in figures or [] if f.path is not None]
    if drawn:
        parts.append(
            "Figures "
            + ", ".join(rf"\ref{{fig:{f.name}}}" for f in drawn)
            + " are drawn from the models' exact quantities and the theorems' statements."
        )
    # Three figures (with their own captions) share one float, which fills a page: separate
    # floats left the third alone on a page of its own, or inside a theorem.
    for i in range(0, len(drawn), 3):
        panels = [
            "\\centering\n"
            rf"\includegraphics[width=\linewidth]{{{f.path}}}"
            "\n"
            rf"\caption{{{f.caption}}}\label{{fig:{f.name}}}"
            for f in drawn[i : i + 3]
        ]
        parts.append("\\begin{figure}[htbp]\n" + "\n\\bigskip\n".join(panels) + "\n\\end{figure}")
    for f in figures or []:
        if f.path is None:
            parts.append(
                rf"\paragraph{{Figure \emph{{{f.name}}}.}} {f.caption} "
                rf"\textbf{{figure unavailable: {tex_escape(f.reason or '')}}}"
            )
    # the figures are set before the theorems (none floats into a theorem)
    parts.append(r"\clearpage" + "\n" + r"\section{Registered theorems}\label{sec:theorems}")
    parts.append(theorems_body(all_theorems(), section=r"\subsection*"))
    parts.append(r"\end{document}")
    return "\n\n".join(parts) + "\n"


def write_report(
    report: AuditReport,
    outdir,
    pdf: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ReportFiles:
    """Write ``outdir/report.tex`` and the figures; compile ``report.pdf`` when ``pdf`` (the
    result says when pdflatex is missing or failed).

    Only the report's own files are written, each atomically (:mod:`kdtheory.outputs`): a
    failure or Ctrl-C leaves the previous version of each file intact, and pdflatex's
    ``.aux``/``.log`` stay in a temporary directory (the log is kept there, and named in the
    result, only when compiling failed).  ``outdir`` is created if missing.
    :class:`~kdtheory.outputs.OutputError` when a file cannot be written."""
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError.from_oserror(outdir, exc) from exc
    figs = make_figures(outdir, progress)
    written = [outdir / f.path for f in figs if f.path is not None]
    tex = outdir / "report.tex"
    atomic_write_text(tex, report_tex(report, figs))
    written.append(tex)
    if progress:
        progress(f"wrote {tex}")
    compiled = None
    if pdf:
        if progress:
            progress("compiling report.pdf with pdflatex ...")
        compiled = compile_pdf(tex, keep_log=False)
        if compiled.ok:
            written.append(compiled.pdf)
        if progress:
            progress(compiled.message)
    return ReportFiles(tex, figs, compiled, tuple(written))
