"""Every registered theorem carries the status label THEORY gives its statement (THEORY §0).

The table below is written from THEORY.md by hand, not from the code: each id with the label and
the THEORY section (and its heading's tag) that the label comes from.  A relabelled theorem fails
here, and so does a newly registered theorem until its label is added to the table.
"""

from __future__ import annotations

import pytest

import kdtheory.audit  # noqa: F401  (every module that could register a theorem is imported)
from kdtheory.theorems import Status, all_theorems, theorem

#: id -> (expected label, where THEORY says so)
EXPECTED_STATUS: dict[str, tuple[Status, str]] = {
    "lemma-DV": (Status.PAPER, "§2 'Lemmas [paper]', Lemma DV (paper eq. (10))"),
    "lemma-SG": (Status.PAPER, "§2 'Lemmas [paper]', Lemma SG (paper eq. (11))"),
    "U0": (Status.RECONSTRUCTED, "§3 Theorem U [reconstructed], U0 = E_D sqrt(2 sigma_D^2 KL_D)"),
    "U1": (Status.RECONSTRUCTED, "§3 Theorem U [reconstructed], U1 = sqrt(2 Esigma2 K_n)"),
    "U-uniform": (Status.RECONSTRUCTED, "§3 Theorem U [reconstructed], sqrt(2 sigma_bar^2 K_n)"),
    "L": (Status.RECONSTRUCTED, "§4 'Lower bound ... [reconstructed]', Theorem L"),
    "U-joint": (Status.EXTENSION, "§3 Theorem U-joint (exact CGF) [extension], upper side"),
    "U-joint-lower": (Status.EXTENSION, "§3 Theorem U-joint [extension], lower side (also §4)"),
    "U-gamma": (Status.EXTENSION, "§3 Theorem U-gamma [extension]; envelope §6.5"),
    "L-gamma": (Status.EXTENSION, "§3 Theorem U-gamma [extension], lower side; L_gamma §6.5"),
    "S": (Status.RECONSTRUCTED, "§5 Theorem S (local curvature form) [reconstructed]"),
    "S-smooth": (Status.EXTENSION, "§5 Theorem S' (smoothing form) [extension]; §6.6"),
    **{f"N{i}": (Status.FALSE, f"§8 'Negative controls [false]', N{i}") for i in range(1, 8)},
}


def test_the_table_covers_every_registered_theorem():
    """A theorem registered without an entry here (or an entry for a theorem that is gone)
    fails: its label must be checked against THEORY by whoever adds it."""
    registered = {t.id for t in all_theorems()}
    assert registered - EXPECTED_STATUS.keys() == set(), "add these ids to EXPECTED_STATUS"
    assert EXPECTED_STATUS.keys() - registered == set(), "these ids are no longer registered"


@pytest.mark.parametrize("tid", sorted(EXPECTED_STATUS))
def test_status_label_matches_theory(tid):
    expected, source = EXPECTED_STATUS[tid]
    assert theorem(tid).status is expected, f"{tid}: THEORY {source}"


@pytest.mark.parametrize("tid", sorted(EXPECTED_STATUS))
def test_label_appears_in_the_latex(tid):
    """The statement's LaTeX carries the same label (a negative control says 'false')."""
    expected, _ = EXPECTED_STATUS[tid]
    assert expected.value in theorem(tid).latex()


def test_every_label_is_used():
    """Each THEORY §0 label names at least one registered theorem (the table is not one-sided);
    ``conjecture`` is for a user's statements, never the toolkit's."""
    assert {s for s, _ in EXPECTED_STATUS.values()} == set(Status) - {Status.CONJECTURE}
