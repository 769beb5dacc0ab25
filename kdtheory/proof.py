"""Executable derivations as data (the teorth/estimates idea, STYLE.md).

A :class:`Proof` is a list of :class:`Step` s.  Each step is checked when it is added and marked

* ``PROVED``   — an exact symbolic fact (``sympy.simplify(a - b) == 0``, a solved equation, a sign
  established by sympy's assumption system),
* ``EVIDENCE`` — a numeric check only (stated with its tolerance),
* ``FAILED``   — the check did not go through.

Each script in ``proofs/`` defines ``run() -> Proof``; ``python proofs/NAME.py`` prints the steps
and exits non-zero if any step failed, and the test-suite runs every script.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from .formulas.engine import gaussian_expectation, gaussian_moment

__all__ = [
    "Proof",
    "Step",
    "PROVED",
    "EVIDENCE",
    "FAILED",
    "gaussian_expectation",
    "gaussian_moment",
    "run_script",
]

PROVED, EVIDENCE, FAILED = "PROVED", "EVIDENCE", "FAILED"


@dataclass
class Step:
    claim: str
    verdict: str
    detail: str = ""


@dataclass
class Proof:
    title: str
    ref: str
    steps: list[Step] = field(default_factory=list)

    # -- step kinds ------------------------------------------------------------------------
    def identity(self, claim: str, lhs, rhs, *, simplify: Callable = sp.simplify) -> bool:
        """PROVED iff ``simplify(lhs - rhs) == 0`` (exact)."""
        diff = simplify(sp.sympify(lhs) - sp.sympify(rhs))
        ok = diff == 0
        return self._add(claim, PROVED if ok else FAILED, "" if ok else f"residual {diff}")

    def instance(
        self, claim: str, lhs, rhs, *, where: str, simplify: Callable = sp.simplify
    ) -> bool:
        """An exact identity checked in a fixed-size instance (e.g. matrices of free symbols at
        ``k = d = n = 2``): EVIDENCE for the general statement, never PROVED, since other sizes
        are not covered; FAILED if the identity does not hold there."""
        diff = simplify(sp.sympify(lhs) - sp.sympify(rhs))
        if diff == 0:
            return self._add(
                f"{claim} [exact at {where}]",
                EVIDENCE,
                f"exact symbolic identity at {where}; evidence, not a proof, for other sizes",
            )
        return self._add(claim, FAILED, f"residual {diff} (at {where})")

    def fact(self, claim: str, holds: bool, detail: str = "") -> bool:
        """PROVED iff ``holds`` is a *symbolic* truth established by the caller (e.g. sympy's
        assumption system returning ``True``); ``None`` or ``False`` fail."""
        return self._add(claim, PROVED if holds is True else FAILED, detail)

    def evidence(self, claim: str, holds: bool, detail: str = "") -> bool:
        """A numeric check: EVIDENCE if it passed, FAILED otherwise (say the tolerance in
        ``detail``)."""
        return self._add(claim, EVIDENCE if bool(holds) else FAILED, detail)

    def counterexample(self, claim: str, violated: bool, detail: str = "") -> bool:
        """A negative control: dropping an assumption must give a concrete violation
        (EVIDENCE if ``violated``)."""
        return self._add(claim, EVIDENCE if bool(violated) else FAILED, detail)

    def _add(self, claim: str, verdict: str, detail: str) -> bool:
        self.steps.append(Step(claim, verdict, detail))
        return verdict != FAILED

    # -- results ---------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.verdict != FAILED for s in self.steps)

    def report(self) -> str:
        lines = [f"{self.title}  ({self.ref})"]
        for i, s in enumerate(self.steps, 1):
            lines.append(
                f"  {i:>2}. [{s.verdict}] {s.claim}" + (f" -- {s.detail}" if s.detail else "")
            )
        n_p = sum(s.verdict == PROVED for s in self.steps)
        n_e = sum(s.verdict == EVIDENCE for s in self.steps)
        n_f = sum(s.verdict == FAILED for s in self.steps)
        lines.append(f"  => {n_p} proved, {n_e} evidence, {n_f} failed")
        return "\n".join(lines)

    def main(self) -> int:
        print(self.report())
        return 0 if self.ok else 1


def run_script(run: Callable[[], Proof]) -> None:
    """``if __name__ == "__main__": run_script(run)`` in a proofs/ script."""
    sys.exit(run().main())


def proof_script(path: str):
    """The file of a proof script named as in :attr:`Theorem.proof` (``"proofs/x.py"``): the copy
    installed with the package (``kdtheory/proofs/x.py`` in a wheel), else the source
    repository's (``proofs/x.py`` next to the ``kdtheory`` folder); ``None`` if neither exists."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    name = Path(path).name
    for candidate in (here / "proofs" / name, here.parent / "proofs" / name):
        if candidate.is_file():
            return candidate
    return None


def theory_document():
    """The project's mathematical reference that every ``THEORY §x`` cites: ``kdtheory/theory.md``
    in a wheel, ``docs/theory.md`` in the source repository; ``None`` if neither exists."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for candidate in (here / "theory.md", here.parent / "docs" / "theory.md"):
        if candidate.is_file():
            return candidate
    return None


def run_proof_file(path) -> Proof:
    """Import a proof script and return its ``run()`` (the :class:`Proof` with its steps)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"kdtheory_proof_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run()
