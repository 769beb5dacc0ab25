"""Every ``THEORY §x`` citation points to a section of ``docs/theory.md`` that exists, and the
reference, the proofs and ``kdtheory prove`` ship with the package (issue 13, item 6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdtheory.cli import EXIT, main
from kdtheory.proof import proof_script, theory_document
from kdtheory.theorems import all_theorems

ROOT = Path(__file__).resolve().parent.parent
THEORY = ROOT / "docs" / "theory.md"
CITING = [
    *sorted((ROOT / "kdtheory").rglob("*.py")),
    *sorted((ROOT / "proofs").glob("*.py")),
    *sorted((ROOT / "tests").glob("*.py")),
    *sorted((ROOT / "benchmarks").glob("*.py")),
    ROOT / "README.md",
]


def _sections() -> set[str]:
    """Section ids of the theory document: ``6``, ``6.2``, ``6 A-bump``, ``8 N2``."""
    out = set()
    for line in THEORY.read_text().splitlines():
        if m := re.match(r"^## (\d+)\. ", line):
            out.add(m.group(1))
        elif m := re.match(r"^### (\d+\.\d+) ", line):
            out.add(m.group(1))
        elif m := re.match(r"^### (\d+) (A-bump|N\d)\b", line):
            out.add(f"{m.group(1)} {m.group(2)}")
    return out


def _citations():
    """``(file, line number, section id)`` for each ``§x`` on a line that cites THEORY."""
    for path in CITING:
        for no, line in enumerate(path.read_text().splitlines(), 1):
            if "THEORY §" not in line:
                continue
            for m in re.finditer(r"§(\d+)(\.\d+)?(?: (A-bump|N\d)\b)?", line):
                sec = m.group(1) + (m.group(2) or "")
                yield path, no, sec
                if m.group(3):
                    yield path, no, f"{m.group(1)} {m.group(3)}"


def test_theory_document_has_the_cited_structure():
    secs = _sections()
    assert {str(i) for i in range(10)} <= secs
    assert {f"6.{i}" for i in range(1, 7)} <= secs
    assert {"6 A-bump"} | {f"8 N{i}" for i in range(1, 8)} <= secs


def test_every_citation_points_to_an_existing_section():
    secs = _sections()
    cites = list(_citations())
    assert len(cites) > 400  # the code cites the theory throughout
    bad = [f"{p.relative_to(ROOT)}:{no}: §{s}" for p, no, s in cites if s not in secs]
    assert not bad, "citations of missing sections:\n" + "\n".join(bad[:20])


def test_the_wheel_ships_theory_and_proofs():
    conf = (ROOT / "pyproject.toml").read_text()
    block = conf.split("[tool.hatch.build.targets.wheel.force-include]")[1].split("\n[")[0]
    assert '"proofs" = "kdtheory/proofs"' in block
    assert '"docs/theory.md" = "kdtheory/theory.md"' in block
    assert theory_document() is not None and theory_document().read_text() == THEORY.read_text()


@pytest.mark.parametrize("thm", [t for t in all_theorems() if t.proof], ids=lambda t: t.id)
def test_every_proof_script_is_found(thm):
    assert proof_script(thm.proof) == (ROOT / thm.proof).resolve()


def test_prove_runs_a_proof(capsys):
    assert main(["prove", "U1"]) == EXIT["ok"]
    out = capsys.readouterr().out
    assert out.startswith("U1: ") and "proofs/dv_optimisation.py" in out
    assert "[PROVED]" in out and "0 failed" in out
    assert main(["prove", "N1"]) == EXIT["bad_arguments"]
    assert "has no proof script" in capsys.readouterr().err
    assert main(["prove", "nope"]) == EXIT["bad_arguments"]


def test_theory_command_prints_the_path(capsys):
    assert main(["theory"]) == EXIT["ok"]
    assert Path(capsys.readouterr().out.strip()) == THEORY
