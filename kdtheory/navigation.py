"""Navigation as data: for each theorem, where it is stated, which claims check it, its proof
script and its tests (``kdtheory list``, ``kdtheory show ID``, ``kdtheory list --families``).

A theorem records the file and line where it was constructed (:attr:`Theorem.source`), its proof
script (:attr:`Theorem.proof`, a path in the source repository) and the test files that check
it (:attr:`Theorem.tests`); the claims come from the audit's registry.  Paths inside the toolkit
are printed relative to the repository root (the folder holding ``kdtheory/``).
"""

from __future__ import annotations

from pathlib import Path

from .theorems import Status, Theorem, all_theorems, origin, theorem

__all__ = ["ROOT", "claims_of", "proof_of", "show_lines", "theorem_lines", "family_lines"]

#: the folder that holds the ``kdtheory`` package (the repository root in a source checkout)
ROOT = Path(__file__).resolve().parent.parent


def _rel(path: str) -> str:
    """``path`` relative to :data:`ROOT` when it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except (ValueError, OSError):
        return path


def claims_of(thm: Theorem) -> list:
    """The registered audit claims that check ``thm``."""
    from .audit import claims

    return [c for c in claims() if c.theorem.id == thm.id]


def proof_of(thm: Theorem) -> str:
    """The proof script, or why there is none (a negative control is refuted, not proved; a
    conjecture has no proof by definition)."""
    if thm.proof:
        from .proof import proof_script

        where = proof_script(thm.proof)
        return thm.proof + (
            f" (run it: kdtheory prove {thm.id})" if where else " (missing from this install)"
        )
    if thm.status is Status.FALSE:
        return "none: a negative control, refuted by the audit's counterexample (THEORY §8)"
    if thm.status is Status.CONJECTURE:
        return "none: a conjecture"
    return "none"


def theorem_lines() -> list[str]:
    """One line per registered theorem: id, status, kind, origin, reference, name."""
    rows = [("id", "status", "kind", "from", "reference", "name")]
    for t in all_theorems():
        rows.append((t.id, t.status.value, t.kind, origin(t.id), t.ref, t.name))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)), r[5]]) for r in rows
    ]


def family_lines() -> list[str]:
    """The model families (:mod:`kdtheory.families`) with their coordinates and checks."""
    from .families import families

    out = []
    for f in families():
        out.append(f"{f.name}: {f.description}")
        coords = ", ".join(
            f"{k} in [{r.low:g}, {r.high:g}]"
            + (" log" if r.log else "")
            + (" int" if r.integer else "")
            for k, r in f.space.coords
        )
        out.append(f"    coordinates: {coords}")
        out.append(f"    supplies: {', '.join(f.provides)}")
        checks = ", ".join(f.checks) if f.checks else "none"
        out.append(f"    assumption checks: {checks}")
    return out


def show_lines(id: str, latex: bool = False) -> list[str]:
    """What ``kdtheory show ID`` prints (module doc)."""
    t = theorem(id)
    out = [
        f"{t.id}: {t.name}",
        f"  status:      {t.status.value} ({t.kind}; {t.ref})",
        f"  statement:   {t.statement}",
    ]
    if t.assumptions:
        out.append("  assumptions: " + "; ".join(str(a) for a in t.assumptions))
    else:
        out.append("  assumptions: none")
    out.append(f"  from:        {origin(t.id)}")
    out.append(f"  stated at:   {_rel(t.source) if t.source else 'unknown'}")
    cl = claims_of(t)
    out.append(
        "  claims:      "
        + (", ".join(f"{c.id} (on {c.model})" for c in cl) if cl else "none (not audited)")
    )
    out.append(f"  proof:       {proof_of(t)}")
    out.append("  tests:       " + (", ".join(t.tests) if t.tests else "none listed"))
    if t.notes:
        out.append(f"  notes:       {t.notes_text}")
    if latex:
        out.append("")
        out.extend(t.latex().splitlines())
    return out
