"""Nothing lost (issue 10): every output file is written atomically, the CLI never overwrites or
compiles a file it did not write, and a bad path, a full disk, Ctrl-C or a closed pipe ends with
one line on stderr and a documented exit code (``kdtheory.cli.EXIT``), never a traceback."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import kdtheory.audit
import kdtheory.cli as cli
import kdtheory.latex as klatex
import kdtheory.outputs as outputs
from kdtheory.audit.engine import AuditReport, ClaimResult
from kdtheory.figures import rank_figure
from kdtheory.outputs import OutputError, atomic_write_text

needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex not on PATH (apt-get install texlive-latex-base texlive-latex-recommended)",
)

SMALL_AUDIT = ["audit", "--claim", "lemma-SG", "--scale", "0.002", "--quiet"]
REPO = Path(__file__).resolve().parent.parent


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` (relative name -> bytes and mtime in ns)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _one_line_no_traceback(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _small_report() -> AuditReport:
    result = ClaimResult(
        id="lemma-SG",
        theorem="lemma-SG",
        status="paper",
        model="scalar-laws",
        verdict="holds",
        cases=3,
        violations=0,
        max_ratio=0.5,
    )
    return AuditReport([result], seed=0, scale=1.0, seconds=0.1, unaudited=[])


# -- the atomic writer --------------------------------------------------------------------------


class _FailingFile:
    """A file whose ``write`` writes half of the data, then raises ``error`` (a full disk, or
    Ctrl-C in the middle of a write)."""

    def __init__(self, fh, error: BaseException):
        self.fh, self.error = fh, error

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()
        raise self.error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


@pytest.mark.parametrize(
    "error", [OSError(28, "No space left on device"), KeyboardInterrupt()], ids=repr
)
def test_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch, error):
    target = tmp_path / "results.json"
    target.write_text('{"old": true}\n')
    before = _snapshot(tmp_path)
    real_open = open
    monkeypatch.setattr(
        outputs, "open", lambda *a, **k: _FailingFile(real_open(*a, **k), error), raising=False
    )
    with pytest.raises(OutputError if isinstance(error, OSError) else KeyboardInterrupt) as exc:
        atomic_write_text(target, '{"new": true}\n' * 1000)
    assert _snapshot(tmp_path) == before  # old bytes, old mtime, no temporary file
    if isinstance(error, OSError):
        assert str(exc.value) == f"cannot write {target}: No space left on device"


class _ExplodingClaims(dict):
    """JSON serialisation of this fails midway (after the first keys are out)."""

    def __init__(self, error: BaseException):
        super().__init__(x=1)
        self.error = error

    def items(self):
        raise self.error


@pytest.mark.parametrize("error", [OSError(5, "Input/output error"), KeyboardInterrupt()], ids=repr)
def test_write_json_failing_midway_keeps_the_previous_results(tmp_path, monkeypatch, error):
    target = tmp_path / "results.json"
    target.write_text('{"previous": "results"}\n')
    before = _snapshot(tmp_path)
    report = _small_report()
    doc = {"seed": 0, "ok": True, "claims": _ExplodingClaims(error)}
    monkeypatch.setattr(report, "to_json", lambda: doc)
    with pytest.raises(type(error)):
        report.write_json(target)
    assert _snapshot(tmp_path) == before
    report = _small_report()
    report.write_json(target)  # and a successful write replaces it
    assert json.loads(target.read_text()) == report.to_json()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "shared.json"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = atomic_write_text(tmp_path / "fresh.json", "x")  # a new file: the mode open() gives
    plain = tmp_path / "plain.json"
    plain.write_text("x")
    assert stat.S_IMODE(fresh.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_special_file_is_written_directly_never_replaced():
    """Renaming over /dev/full would destroy the device: it is written (and fails) in place."""
    with pytest.raises(OutputError, match="cannot write /dev/full: No space left on device"):
        atomic_write_text("/dev/full", "x" * 100_000)
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


def test_an_interrupted_figure_keeps_the_old_figure(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    class Rank:
        def rank_profile(self, teacher):
            return {"rank": np.arange(3), "rank_bottleneck": np.ones(3), "K_n": np.ones(3)}

    path = tmp_path / "figures" / "rank.pdf"
    path.parent.mkdir()
    path.write_bytes(b"%PDF-old figure")
    before = _snapshot(tmp_path)

    def half_a_figure(self, fname, **kwargs):
        Path(fname).write_bytes(b"%PDF-1.4 trunc")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_a_figure)
    with pytest.raises(KeyboardInterrupt):
        rank_figure(Rank(), None, path)
    assert _snapshot(tmp_path) == before


# -- latex -o: never compile or overwrite a file the run did not write ------------------------


@pytest.mark.parametrize("extra", [[], ["--pdf"]], ids=["tex", "pdf"])
@pytest.mark.parametrize("name", ["out.pdf", "out.txt"])
def test_latex_refuses_a_non_tex_output_and_keeps_the_file(tmp_path, capsys, name, extra):
    target = tmp_path / name
    target.write_bytes(b"%PDF-1.5 the user's own document")
    before = _snapshot(tmp_path)
    with pytest.raises(SystemExit) as exc:
        cli.main(["latex", "-o", str(target), *extra])
    assert exc.value.code == cli.EXIT["bad_arguments"]
    assert "expected a .tex file" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before


def _user_folder(tmp_path: Path) -> Path:
    """A folder with a user's paper.tex, paper.pdf, paper.log and an unrelated file."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "paper.tex").write_text(
        "\\documentclass{article}\\begin{document}mine\\end{document}"
    )
    (folder / "paper.pdf").write_bytes(b"%PDF-1.5 the user's paper")
    (folder / "paper.log").write_text("the user's log")
    (folder / "notes.txt").write_text("unrelated")
    return folder


@needs_pdflatex
def test_latex_stem_gets_tex_and_nothing_else_changes(tmp_path, capsys):
    folder = _user_folder(tmp_path)
    before = _snapshot(folder)
    assert cli.main(["latex", "-o", str(folder / "paper"), "--pdf"]) == 0
    out = capsys.readouterr().out
    after = _snapshot(folder)
    assert set(after) == set(before)  # no `paper`, no .aux, no temporary file
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"paper.tex", "paper.pdf"}  # the two files the run wrote (and said so)
    assert after["paper.tex"][0].decode() == klatex.theorems_document()
    assert after["paper.pdf"][0][:5] == b"%PDF-" and len(after["paper.pdf"][0]) > 1000
    assert f"wrote {folder / 'paper.tex'} and {folder / 'paper.pdf'}" in out


def test_latex_pdf_not_made_keeps_the_old_pdf(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(klatex, "pdflatex_path", lambda: None)
    folder = _user_folder(tmp_path)
    before = _snapshot(folder)
    assert cli.main(["latex", "-o", str(folder / "paper"), "--pdf"]) == cli.EXIT["no_pdf"]
    after = _snapshot(folder)
    assert set(after) == set(before)
    assert {n for n in after if after[n] != before[n]} == {"paper.tex"}
    assert f"{folder / 'paper.pdf'} not updated" in capsys.readouterr().err


@needs_pdflatex
def test_failed_compile_keeps_the_old_pdf_and_leaves_no_clutter(tmp_path):
    tex = tmp_path / "bad.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.5 previous good version")
    before = _snapshot(tmp_path)
    result = klatex.compile_pdf(tex)
    assert not result.ok and "! Undefined control sequence." in result.message
    assert _snapshot(tmp_path) == before  # no bad.aux/bad.log here, bad.pdf as it was
    assert result.log.is_file() and result.log.parent != tmp_path  # the log, for the user
    shutil.rmtree(result.log.parent)


def test_latex_write_failure_is_one_line_and_keeps_the_old_tex(tmp_path, capsys, monkeypatch):
    target = tmp_path / "thms.tex"
    target.write_text("old")

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs, "tempfile", SimpleNamespace(mkstemp=read_only))
    assert cli.main(["latex", "-o", str(target)]) == cli.EXIT["write_failed"]
    line = _one_line_no_traceback(capsys.readouterr().err)
    assert line == f"kdtheory: cannot write {target}: Permission denied"
    assert target.read_text() == "old"


# -- audit: bad paths, full disk, Ctrl-C, absurd scale, closed pipe ----------------------------


def test_json_to_a_full_disk_is_one_line_and_exit_4(capsys):
    assert cli.main([*SMALL_AUDIT, "--json", "/dev/full"]) == cli.EXIT["write_failed"] == 4
    line = _one_line_no_traceback(capsys.readouterr().err)
    assert line == "kdtheory: cannot write /dev/full: No space left on device"
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


def test_report_into_a_read_only_folder_is_one_line_and_keeps_old_files(
    tmp_path, capsys, monkeypatch
):
    """Tests run as root, for whom chmod does not block writing: the folder's refusal is
    simulated where the temporary file is created."""
    folder = tmp_path / "rep"
    folder.mkdir()
    (folder / "report.tex").write_text("the previous report")
    before = _snapshot(folder)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs, "tempfile", SimpleNamespace(mkstemp=read_only))
    monkeypatch.setattr(klatex, "pdflatex_path", lambda: None)
    rc = cli.main([*SMALL_AUDIT, "--report", str(folder)])
    assert rc == cli.EXIT["write_failed"]
    line = _one_line_no_traceback(capsys.readouterr().err)
    assert line.startswith(f"kdtheory: cannot write {folder}") and "Permission denied" in line
    assert _snapshot(folder) == before


def test_interrupted_run_leaves_no_trace(tmp_path, capsys, monkeypatch):
    """Output paths are checked, never created or truncated, before the run: Ctrl-C during the
    audit leaves no empty --json file and no --report folder behind."""

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kdtheory.audit, "run_audit", interrupted)
    argv = [*SMALL_AUDIT, "--json", str(tmp_path / "new.json"), "--report", str(tmp_path / "a/b")]
    assert cli.main(argv) == cli.EXIT["interrupted"] == 130
    assert _one_line_no_traceback(capsys.readouterr().err) == "kdtheory: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_absurd_scale_refused_by_run_audit_is_one_line_and_exit_2(capsys):
    """The real refusal (``AuditRequestError`` from :func:`run_audit`'s run-time estimate)."""
    assert cli.main(["audit", "--scale", "1e9", "--quiet"]) == cli.EXIT["bad_arguments"]
    line = _one_line_no_traceback(capsys.readouterr().err)
    assert line.startswith("kdtheory audit: scale 1e+09 is refused: the estimated run time is")
    assert "hours" in line


class _ClosedPipe:
    """sys.stdout of a process whose reader went away (``| head -1``)."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_pipe_exits_141_quietly_and_still_writes_the_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    target = tmp_path / "r.json"
    assert cli.main([*SMALL_AUDIT, "--json", str(target)]) == cli.EXIT["broken_pipe"] == 141
    assert capsys.readouterr().err == ""
    assert json.loads(target.read_text())["ok"] is True


def test_broken_pipe_in_a_real_pipe_is_quiet():
    """``kdtheory list | head -0``: the reader is gone before the first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdtheory.cli", "list"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"kdtheory {importlib.metadata.version('kdtheory')}\n"


@pytest.mark.parametrize("code", sorted(set(cli.EXIT.values())))
def test_every_exit_code_is_documented(code):
    """In ``--help`` (EPILOG: "N meaning") and in README.md ("`N` meaning")."""
    epilog = " ".join(cli.EPILOG.split())
    assert re.search(rf"(?<![\w.-]){code} [a-z]", epilog), epilog
    assert f"`{code}`" in (REPO / "README.md").read_text(encoding="utf-8")
