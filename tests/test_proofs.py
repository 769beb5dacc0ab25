"""Every executable derivation in proofs/ runs, and no step fails (STYLE.md: steps as data)."""

import pytest
from proof_runner import PROOFS_DIR, run_proof

from kdtheory.proof import EVIDENCE, FAILED, PROVED, Proof

PROOFS = sorted(PROOFS_DIR.glob("*.py"))


def test_there_are_proofs():
    assert len(PROOFS) >= 3


@pytest.mark.parametrize("path", PROOFS, ids=[p.stem for p in PROOFS])
def test_proof_script(path):
    proof = run_proof(path.stem)
    assert isinstance(proof, Proof)
    failed = [s.claim for s in proof.steps if s.verdict == FAILED]
    assert not failed, proof.report()
    assert any(s.verdict == PROVED for s in proof.steps), "a proof needs at least one exact step"
    assert proof.ok


def test_a_wrong_identity_fails():
    import sympy as sp

    x = sp.Symbol("x")
    pr = Proof("control", "none")
    assert not pr.identity("x^2 = x", x**2, x)
    assert pr.steps[0].verdict == FAILED and not pr.ok
    assert pr.evidence("numeric", True) and pr.steps[1].verdict == EVIDENCE


def test_an_identity_checked_at_one_size_is_evidence_not_proof():
    import sympy as sp

    x = sp.Symbol("x")
    pr = Proof("instance", "none")
    assert pr.instance("(x+1)^2 = x^2 + 2x + 1", (x + 1) ** 2, x**2 + 2 * x + 1, where="d = 2",
                       simplify=sp.expand)  # fmt: skip
    assert pr.steps[0].verdict == EVIDENCE and "[exact at d = 2]" in pr.steps[0].claim
    assert not pr.instance("x^2 = x", x**2, x, where="d = 2")
    assert pr.steps[1].verdict == FAILED
