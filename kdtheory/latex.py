"""LaTeX output: the preamble with the theorem environments, a standalone document with every
registered theorem grouped by status (THEORY §0), and compilation with ``pdflatex``.

Two modes: the default document carries provenance (ids, status labels, THEORY references);
paper mode (``paper=True``, ``kdtheory latex --paper``) is what a paper prints: ``amsthm``
environments (``theorem``, ``lemma``, ``conjecture``), no provenance, no negative controls.
:func:`theorem_preamble` (``kdtheory latex --preamble``) gives exactly the packages and
environments a theorem's LaTeX needs, so that ``kdtheory latex --paper --id U1`` can be pasted
into any ``article``.

Each theorem renders itself (:meth:`kdtheory.theorems.Theorem.latex`); this module assembles
documents and runs the TeX engine.  Only the Debian packages ``texlive-latex-base`` and
``texlive-latex-recommended`` are assumed (``amsmath``, ``amsthm``, ``geometry``, ``booktabs``,
``graphicx``, ``longtable``), with the default OT1 Computer Modern fonts, so
that no font package beyond ``texlive-base`` is needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from .outputs import move_into_place
from .tex import tex_escape, unicode_declarations
from .theorems.base import Status

__all__ = [
    "STATUS_TITLES",
    "SOURCE_LINE",
    "PACKAGES",
    "ENVIRONMENTS",
    "theorem_preamble",
    "preamble",
    "theorem_latex",
    "theorems_body",
    "theorems_document",
    "pdflatex_path",
    "CompileResult",
    "compile_pdf",
    "PDFLATEX_MISSING",
]

STATUS_TITLES = {
    Status.PAPER: "Results stated in the paper",
    Status.RECONSTRUCTED: "Reconstructed results (precise, proved statements of announced results)",
    Status.EXTENSION: "Extensions beyond the paper",
    Status.FALSE: "Negative controls (false statements the checker must refute)",
    Status.CONJECTURE: "Conjectures (truth unknown; checked by sampling and search, not proved)",
}

SOURCE_LINE = (
    r"Source: B.~Li and H.~He, \emph{On the Generalization of Knowledge Distillation: "
    r"An Information-Theoretic View}, arXiv:2605.13143. Status labels follow THEORY \S 0: "
    r"\emph{paper} (in the paper's text), \emph{reconstructed} (a precise, proved statement of "
    r"an announced result), \emph{extension} (beyond the paper), \emph{false} (a negative "
    r"control the checker must refute). ``THEORY \S x'' cites section $x$ of kdtheory's "
    r"mathematical reference, \texttt{docs/theory.md} (installed as \texttt{kdtheory/theory.md}; "
    r"\texttt{kdtheory theory} prints its path)."
)

#: What to tell the user when ``pdflatex`` is not on PATH.
PDFLATEX_MISSING = (
    "pdflatex was not found on PATH; install it (Debian/Ubuntu: apt-get install "
    "texlive-latex-base texlive-latex-recommended) to get a PDF"
)


#: The packages a theorem's LaTeX needs (``amssymb`` for ``\\mathbb``, ``amsmath`` for
#: ``\\operatorname`` and ``multline*``, ``amsthm`` for the environments and ``proof``).
PACKAGES = r"\usepackage{amsmath,amssymb,amsthm}"

#: The environments of :meth:`Theorem.latex`: name -> (``\newtheorem`` line, theorem style).
#: The numbered ones share the ``theorem`` counter.
ENVIRONMENTS = {
    "theorem": (r"\newtheorem{theorem}{Theorem}", "plain"),
    "lemma": (r"\newtheorem{lemma}[theorem]{Lemma}", "plain"),
    "conjecture": (r"\newtheorem{conjecture}[theorem]{Conjecture}", "plain"),
    "claim": (r"\newtheorem{claim}{False claim}", "remark"),
    "remark": (r"\newtheorem*{remark}{Remark}", "remark"),
}


def _environments_of(theorems, paper: bool) -> list[str]:
    if not paper:
        return ["theorem", "lemma", "conjecture", "claim"]
    used = {t.environment for t in theorems}
    if used & {"lemma", "conjecture"}:
        used.add("theorem")  # the shared counter
    return [e for e in ENVIRONMENTS if e in used]


def theorem_preamble(theorems=None, paper: bool = True) -> str:
    r"""Exactly what the LaTeX of ``theorems`` (default: every registered theorem) needs in a
    document's preamble: :data:`PACKAGES` and the ``\newtheorem`` lines of the environments
    they use (:data:`ENVIRONMENTS`), in ``plain`` style except ``remark``/``claim`` (``remark``
    style).  With ``paper=True`` (``kdtheory latex --preamble``) these are the environments of
    :meth:`Theorem.latex(paper=True) <kdtheory.theorems.Theorem.latex>`, for pasting into a
    paper; ``paper=False`` gives the provenance document's (``theorem``, ``lemma``,
    ``conjecture``, ``claim``).  Needs only ``amsmath``, ``amssymb`` and ``amsthm``.
    """
    from .theorems.registry import all_theorems

    thms = list(all_theorems() if theorems is None else theorems)
    lines = [PACKAGES]
    style = "plain"
    for env in sorted(_environments_of(thms, paper), key=lambda e: ENVIRONMENTS[e][1] != "plain"):
        line, want = ENVIRONMENTS[env]
        if want != style:
            lines.append(rf"\theoremstyle{{{want}}}")
            style = want
        lines.append(line)
    return "\n".join(lines)


def preamble(title: str, theorems=None, paper: bool = False) -> str:
    r"""The preamble of the standalone documents: ``article`` at 11pt with 2.5 cm margins
    (``geometry``), :func:`theorem_preamble` (the packages and environments the theorems
    need), ``graphicx`` and ``booktabs``/``longtable`` (the audit report's figures and tables),
    ``\DeclareUnicodeCharacter`` lines for :data:`kdtheory.tex.UNICODE_TEX` (names and notes
    may hold them), ``\S`` from the math fonts, ``\allowdisplaybreaks``, and the title (with
    the author line "generated by kdtheory", except in paper mode)."""
    return "\n".join(
        [
            r"\documentclass[11pt]{article}",
            r"\usepackage[margin=2.5cm]{geometry}",
            theorem_preamble(theorems, paper=paper),
            r"\usepackage{graphicx}",
            r"\usepackage{booktabs,longtable}",
            unicode_declarations(),
            # the section sign from the math fonts: the default \S takes the TS1 font, which
            # texlive-latex-base only has as a bitmap (needs metafont at compile time)
            r"\DeclareRobustCommand{\S}{\ensuremath{\mathsection}}",
            r"\allowdisplaybreaks",
            rf"\title{{{tex_escape(title)}}}",
            r"\author{}" if paper else r"\author{generated by kdtheory}",
            r"\date{}",
        ]
    )


def theorem_latex(theorems, paper: bool = False, proof: bool = True) -> list[str]:
    r"""Each theorem's :meth:`~kdtheory.theorems.Theorem.latex`, a proof sketch already printed
    for an earlier theorem of the list replaced by a reference to it (``Theorem~\ref{...}``):
    the sketch shared by the three forms of the sub-Gaussian bound is printed once, and a sketch
    that extends an earlier one prints only the extension."""
    printed: list[tuple[str, str]] = []  # (sketch, label)
    out = []
    for t in theorems:
        sketch = t.proof_sketch
        for earlier, label in printed:
            if sketch.startswith(earlier):
                env = {"lemma": "Lemma"}.get(t.environment, "Theorem")
                extra = sketch[len(earlier) :].strip()
                sketch = rf"As for {env}~\ref{{{label}}}." + (f" {extra}" if extra else "")
                break
        else:
            if sketch:
                printed.append((sketch, f"thm:{t.id}"))
        out.append(t.latex(proof=proof, paper=paper, proof_sketch=sketch))
    return out


def theorems_body(theorems=None, section: str = r"\section*", paper: bool = False) -> str:
    """Every (given) theorem's :meth:`~kdtheory.theorems.Theorem.latex` (via
    :func:`theorem_latex`).  Default: one section per status (in the order of THEORY §0),
    theorems in registration order.  ``paper=True``: no sections and no negative controls (a
    paper states results; the false statements are the checker's controls, printed by
    ``kdtheory latex --paper --id N1`` as a remark when wanted)."""
    from .theorems.registry import all_theorems

    thms = list(all_theorems() if theorems is None else theorems)
    if paper:
        return "\n\n".join(theorem_latex([t for t in thms if t.status is not Status.FALSE], True))
    ordered = [t for st in Status for t in thms if t.status is st]
    texts = iter(theorem_latex(ordered))
    parts = []
    for st in Status:
        group = [t for t in thms if t.status is st]
        if group:
            parts.append(rf"{section}{{{STATUS_TITLES[st]}}}")
            parts += [next(texts) for _ in group]
    return "\n\n".join(parts)


#: the title of the ``--paper`` document (the normal one names the toolkit and its registry)
PAPER_TITLE = "Generalization bounds for knowledge distillation"


def theorems_document(theorems=None, title: str | None = None, paper: bool = False) -> str:
    """A standalone LaTeX document with every (given) theorem: grouped by status after a note
    on the source and the status labels, or (``paper=True``) as a paper states them, without
    provenance (see :func:`theorems_body`).  ``title`` defaults to "kdtheory: registered
    theorems", or :data:`PAPER_TITLE` in paper mode."""
    from .theorems.registry import all_theorems

    if title is None:
        title = PAPER_TITLE if paper else "kdtheory: registered theorems"
    thms = list(all_theorems() if theorems is None else theorems)
    if paper:
        thms = [t for t in thms if t.status is not Status.FALSE]
    head = [preamble(title, thms, paper=paper), r"\begin{document}", r"\maketitle"]
    parts = head if paper else [*head, SOURCE_LINE]
    parts.append(theorems_body(thms, paper=paper))
    parts.append(r"\end{document}")
    return "\n\n".join(parts) + "\n"


def pdflatex_path() -> str | None:
    """The ``pdflatex`` executable on PATH, or ``None``."""
    return shutil.which("pdflatex")


@dataclass(frozen=True)
class CompileResult:
    """Outcome of :func:`compile_pdf`: ``ok`` iff pdflatex exited 0 and wrote the PDF."""

    ok: bool
    pdf: Path | None
    pages: int | None
    log: Path | None
    message: str


_PAGES = re.compile(r"Output written on .*?\((\d+) pages?")
_ERROR = re.compile(r"^! .*$", re.MULTILINE)


def compile_pdf(
    tex_path, runs: int = 2, timeout: float = 180.0, pdf_path=None, keep_log: bool = True
) -> CompileResult:
    """Compile ``tex_path`` with ``pdflatex -halt-on-error -interaction=nonstopmode`` (``runs``
    passes, so cross-references resolve; a pass is skipped when the log does not ask for a
    rerun) and move the PDF atomically to ``pdf_path`` (default: ``tex_path`` with suffix
    ``.pdf``).

    pdflatex runs in the tex file's folder (so relative ``\\includegraphics`` paths resolve)
    but writes into a private temporary directory (``-output-directory``): its ``.aux``/``.log``
    clutter never lands next to the user's files, and an existing PDF is replaced only by a
    complete new one (never deleted, never left half-written; on failure it is untouched).
    The temporary directory is removed afterwards except for the log, which is kept (and is
    ``result.log``) when the compilation failed or ``keep_log`` is true.

    Never raises for a TeX error: the result says what went wrong, with the first error line
    of the log.  ``FileNotFoundError`` if ``tex_path`` does not exist; ``ok=False`` with
    :data:`PDFLATEX_MISSING` when pdflatex is absent; :class:`~kdtheory.outputs.OutputError`
    when the PDF cannot be moved into place.
    """
    tex = Path(tex_path).resolve()
    if not tex.is_file():
        raise FileNotFoundError(f"tex_path {str(tex_path)!r} does not exist")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1, got {runs!r}")
    target = Path(tex_path).with_suffix(".pdf") if pdf_path is None else Path(pdf_path)
    exe = pdflatex_path()
    if exe is None:
        return CompileResult(False, None, None, None, PDFLATEX_MISSING)
    try:
        work = Path(tempfile.mkdtemp(prefix="kdtheory-pdflatex-"))
    except OSError as exc:
        why = exc.strerror or exc
        return CompileResult(False, None, None, None, f"no temporary directory for pdflatex: {why}")
    log = work / tex.with_suffix(".log").name
    keep = keep_log
    try:
        result = _run_pdflatex(exe, tex, work, log, runs, timeout)
        if result.ok:
            move_into_place(result.pdf, target)
            result = replace(result, pdf=target, message=f"wrote {target} ({result.pages} pages)")
        else:
            keep = True
    finally:
        _clean(work, log if keep else None)
    return result if log.is_file() else replace(result, log=None)


def _run_pdflatex(exe, tex: Path, work: Path, log: Path, runs: int, timeout: float):
    """The passes of :func:`compile_pdf`, writing into ``work``; ``result.pdf`` is in ``work``."""
    cmd = [
        exe,
        "-halt-on-error",
        "-interaction=nonstopmode",
        "-no-shell-escape",
        f"-output-directory={work}",
        tex.name,
    ]
    pdf = work / tex.with_suffix(".pdf").name
    for _ in range(runs):
        try:
            proc = subprocess.run(
                cmd,
                cwd=tex.parent,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return CompileResult(False, None, None, log, f"pdflatex timed out after {timeout} s")
        text = log.read_text(encoding="latin-1") if log.is_file() else proc.stdout.decode("latin-1")
        if proc.returncode != 0 or not pdf.is_file():
            err = _ERROR.search(text)
            first = err.group(0) if err else f"exit status {proc.returncode}"
            return CompileResult(
                False, None, None, log, f"pdflatex failed on {tex.name}: {first} (see {log})"
            )
        if "Rerun to get" not in text and "undefined references" not in text:
            break
    m = _PAGES.search(text)
    pages = int(m.group(1)) if m else None
    return CompileResult(True, pdf, pages, log, f"compiled {tex.name} ({pages} pages)")


def _clean(work: Path, keep: Path | None) -> None:
    """Remove the temporary directory ``work``, or everything in it but ``keep``."""
    if keep is None or not keep.is_file():
        shutil.rmtree(work, ignore_errors=True)
        return
    for entry in work.iterdir():
        if entry != keep:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
