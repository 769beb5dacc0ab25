"""The command line: ``latex [-o FILE [--pdf]]``, ``audit [--report DIR] [--quiet]``, ``list``;
progress only on stderr; bad arguments exit 2 with a message."""

from __future__ import annotations

import io
import shutil

import pytest

import kdtheory.cli as cli
import kdtheory.latex as klatex
from kdtheory.audit import claims
from kdtheory.tex import tex_escape
from kdtheory.theorems import all_theorems

needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex not on PATH (apt-get install texlive-latex-base texlive-latex-recommended)",
)


def test_list_prints_every_theorem(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["id", "status", "kind", "from"]
    assert [line.split()[0] for line in out[1:]] == [t.id for t in all_theorems()]


def test_latex_to_stdout_is_the_theorems_document(capsys):
    assert cli.main(["latex"]) == 0
    assert capsys.readouterr().out == klatex.theorems_document()


@needs_pdflatex
def test_latex_pdf_compiles(tmp_path, capsys):
    tex = tmp_path / "thms.tex"
    assert cli.main(["latex", "-o", str(tex), "--pdf"]) == 0
    out = capsys.readouterr().out
    pdf = tmp_path / "thms.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and f"wrote {tex} and {pdf}" in out
    assert tex.read_text(encoding="utf-8") == klatex.theorems_document()


def test_latex_pdf_without_pdflatex_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(klatex, "pdflatex_path", lambda: None)
    tex = tmp_path / "thms.tex"
    assert cli.main(["latex", "-o", str(tex), "--pdf"]) == 3
    err = capsys.readouterr().err
    assert "pdflatex was not found on PATH" in err and f"wrote {tex} only" in err
    assert tex.is_file() and not (tmp_path / "thms.pdf").exists()


@needs_pdflatex
def test_audit_report_writes_and_compiles(tmp_path, capsys):
    out_dir = tmp_path / "rep"
    rc = cli.main(["audit", "--scale", "0.02", "--quiet", "--report", str(out_dir)])
    captured = capsys.readouterr()
    assert rc == 0, captured.out + captured.err
    tex = (out_dir / "report.tex").read_text(encoding="utf-8")
    for c in claims():
        assert rf"\texttt{{{tex_escape(c.id)}}}" in tex
    assert (out_dir / "figures" / "tightness.pdf").stat().st_size > 1000
    assert f"report: wrote {out_dir / 'report.tex'}" in captured.out
    assert (out_dir / "report.pdf").read_bytes()[:5] == b"%PDF-"  # compiled -halt-on-error
    assert f"report: wrote {out_dir / 'report.pdf'} (" in captured.out
    assert "[1/" not in captured.err  # --quiet: no progress
    # only the report's own files, each listed; no pdflatex .aux/.log, no temporary files
    on_disk = {p for p in out_dir.rglob("*") if p.is_file()}
    listed = {
        out_dir / line.split("report: wrote ")[1].split(" (")[0]
        for line in captured.out.splitlines()
        if line.startswith("report: wrote ")
    }
    assert on_disk == listed
    assert {p.name for p in on_disk} >= {"report.tex", "report.pdf", "tightness.pdf"}


def test_progress_goes_to_stderr_never_stdout(capsys, monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0.0)  # show progress at once
    assert cli.main(["audit", "--claim", "lemma-SG", "--scale", "0.002"]) == 0
    captured = capsys.readouterr()
    assert "[1/1] lemma-SG on scalar-laws (200 cases) ..." in captured.err
    assert "holds: 200 cases" in captured.err
    assert "[1/1]" not in captured.out and "cases in" not in captured.out
    assert captured.out.splitlines()[0].split()[:2] == ["claim", "status"]


def test_quiet_prints_no_progress(capsys, monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0.0)
    assert cli.main(["audit", "--claim", "lemma-SG", "--scale", "0.1", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_delayed_progress_holds_lines_until_released():
    stream = io.StringIO()
    p = cli.DelayedProgress(stream, delay=3600.0)
    try:
        p("first")
        p("second")
        assert stream.getvalue() == ""  # a run shorter than the delay prints nothing
        p.release()  # what the timer does once the delay has passed
        assert stream.getvalue() == "first\nsecond\n"
        p("third")
        assert stream.getvalue() == "first\nsecond\nthird\n"
    finally:
        p.close()


def test_delayed_progress_close_drops_held_lines():
    stream = io.StringIO()
    p = cli.DelayedProgress(stream, delay=3600.0)
    p("held")
    p.close()
    assert stream.getvalue() == ""


def test_zero_delay_writes_at_once():
    stream = io.StringIO()
    p = cli.DelayedProgress(stream, delay=0.0)
    p("now")
    p.close()
    assert stream.getvalue() == "now\n"


def _not_a_dir(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    return str(f / "sub")


BAD_ARGS = [
    (["audit", "--scale", "0"], "expected a positive number, got '0'"),
    (["audit", "--scale", "-1"], "expected a positive number, got '-1'"),
    (["audit", "--scale", "inf"], "expected a positive number, got 'inf'"),
    (["audit", "--seed", "-1"], "expected a non-negative integer, got '-1'"),
    (["audit", "--claim", "no-such-claim"], "unknown claim id(s): no-such-claim"),
    (["audit", "--report", "NOT_A_DIR"], "cannot create --report directory"),
    (["latex", "--pdf"], "--pdf needs -o FILE.tex"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_ARGS)
def test_bad_arguments_exit_2_with_a_message(tmp_path, capsys, argv, message):
    argv = [_not_a_dir(tmp_path) if a == "NOT_A_DIR" else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "usage: kdtheory" in capsys.readouterr().out


def test_audit_report_without_pdflatex_keeps_the_audit_exit_code(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(klatex, "pdflatex_path", lambda: None)
    out_dir = tmp_path / "rep"
    rc = cli.main(["audit", "--claim", "lemma-SG", "--scale", "0.1", "--report", str(out_dir)])
    captured = capsys.readouterr()
    assert rc == 0  # the audit passed; a missing TeX engine is reported, not a failure
    assert "report.pdf not made: pdflatex was not found on PATH" in captured.err
    assert (out_dir / "report.tex").is_file() and not (out_dir / "report.pdf").exists()


def test_latex_output_without_suffix_gets_tex(tmp_path, capsys):
    stem = tmp_path / "thms"
    assert cli.main(["latex", "-o", str(stem)]) == 0
    tex = tmp_path / "thms.tex"
    assert [p.name for p in tmp_path.iterdir()] == ["thms.tex"]
    assert tex.read_text(encoding="utf-8") == klatex.theorems_document()
    assert capsys.readouterr().out == f"wrote {tex}\n"
