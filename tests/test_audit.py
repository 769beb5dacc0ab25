"""The audit engine and the `kdtheory audit` command (THEORY §2-§8)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from kdtheory.audit import Batch, SamplingClaim, SearchClaim, claims, run_audit
from kdtheory.audit.gaussian_cases import gaussian_mean_batch, tilt_witness_batch
from kdtheory.cli import main
from kdtheory.symbols import symbol
from kdtheory.theorems import Theorem, theorem

VERDICTS = {"holds", "refuted", "inconclusive"}


@pytest.fixture(scope="module")
def small_report():
    return run_audit(seed=3, scale=0.05)


def test_every_claim_as_expected(small_report):
    assert small_report.results, "the audit has claims"
    for r in small_report.results:
        assert r.verdict in VERDICTS
        assert r.as_expected, (r.id, r.verdict, r.notes, r.counterexample)
        assert r.cases > 0
    assert small_report.ok


def test_u1_equality_witness_reaches_one(small_report):
    u1 = next(r for r in small_report.results if r.id == "U1")
    assert u1.witness_ratio == pytest.approx(1.0, abs=1e-12)
    assert u1.max_ratio <= 1 + 1e-9


def test_json_schema(small_report, tmp_path):
    path = tmp_path / "a.json"
    small_report.write_json(path)
    data = json.loads(path.read_text())
    for c in data["claims"]:
        assert {
            "id",
            "status",
            "verdict",
            "cases",
            "violations",
            "max_ratio",
            "counterexample",
        } <= set(c)
        assert c["verdict"] in VERDICTS


def _halved_u1():
    """A deliberately false variant: half of Theorem U1 (the tilt student violates it)."""
    u1 = theorem("U1")
    return Theorem(
        "U1-half", "half U1", "false", "THEORY §3", sp.Le(sp.Abs(symbol("dgen")), u1.rhs / 2)
    )


def test_sampling_check_can_fail():
    claim = SamplingClaim(
        id="U1-half",
        theorem=_halved_u1(),
        model="gaussian-mean",
        sampler=tilt_witness_batch,
        cases=10,
    )
    res = claim.run(np.random.default_rng(0))
    assert res.verdict == "refuted" and res.violations == 10
    cx = res.counterexample
    assert cx["lhs"] > cx["rhs"] and cx["ratio"] == pytest.approx(2.0, rel=1e-9)
    assert cx["params"]["student"]["kind"] == "tilt"


def test_missed_witness_is_inconclusive():
    claim = SamplingClaim(
        id="U1-half-w",
        theorem=_halved_u1(),
        model="gaussian-mean",
        sampler=lambda rng, n: gaussian_mean_batch(rng, n, student_kinds=("rescaled",)),
        cases=5,
        witness=tilt_witness_batch,
        witness_cases=2,
    )
    res = claim.run(np.random.default_rng(0))
    assert res.verdict == "inconclusive" and "witness" in res.notes


def test_search_counterexample_is_reverified():
    u1 = theorem("U1")
    fake = {"params": {}, "values": {"dgen": 0.1, "Esigma2": 1.0, "K_n": 1.0}}
    claim = SearchClaim(
        id="fake", theorem=u1, model="none", search=lambda rng, budget: (budget, fake, 0.07)
    )
    res = claim.run(np.random.default_rng(0))
    assert res.verdict == "holds" and res.counterexample is None  # not a violation after all
    real = {"params": {}, "values": {"dgen": 3.0, "Esigma2": 1.0, "K_n": 1.0}}
    claim = SearchClaim(
        id="real", theorem=u1, model="none", search=lambda rng, budget: (budget, real, 2.1)
    )
    res = claim.run(np.random.default_rng(0))
    assert res.verdict == "refuted" and res.counterexample["lhs"] == 3.0


def test_seed_reproducibility():
    a = run_audit(seed=11, scale=0.02, only=["U1"]).to_json()
    b = run_audit(seed=11, scale=0.02, only=["U1"]).to_json()
    strip = lambda d: [{k: v for k, v in c.items() if k != "seconds"} for c in d["claims"]]  # noqa: E731
    assert strip(a) == strip(b)
    with pytest.raises(ValueError, match="unknown claim"):
        run_audit(only=["nope"])


def test_batch_values_match_their_records():
    batch = gaussian_mean_batch(np.random.default_rng(4), 5)
    assert len(batch.params) == 5 and all(len(v) == 5 for v in batch.values.values())
    assert isinstance(batch, Batch)


def test_cli_audit_json(tmp_path, capsys):
    path = tmp_path / "out.json"
    code = main(["audit", "--claim", "U1", "--scale", "0.01", "--quiet", "--json", str(path)])
    assert code == 0
    out = capsys.readouterr()
    assert "U1" in out.out and "holds" in out.out and out.err == ""
    data = json.loads(path.read_text())
    assert [c["id"] for c in data["claims"]] == ["U1"]


def test_cli_progress_goes_to_stderr(capsys):
    assert main(["audit", "--claim", "lemma-SG", "--scale", "0.01"]) == 0
    out = capsys.readouterr()
    assert "lemma-SG" in out.err and "[1/1]" in out.err and "[1/1]" not in out.out


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--scale", "-1"],
        ["audit", "--scale", "abc"],
        ["audit", "--seed", "-3"],
        ["audit", "--claim", "no-such-claim"],
        ["audit", "--bogus"],
        ["frobnicate"],
        [],
    ],
)
def test_cli_misuse_exits_2_without_traceback(argv):
    proc = subprocess.run(
        [sys.executable, "-m", "kdtheory.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_list_and_latex(tmp_path, capsys):
    assert main(["list"]) == 0
    assert "U1" in capsys.readouterr().out
    out = tmp_path / "t.tex"
    assert main(["latex", "-o", str(out)]) == 0
    tex = out.read_text()
    assert r"\begin{document}" in tex and r"\label{thm:U1}" in tex


def test_claim_registry_has_unique_ids():
    ids = [c.id for c in claims()]
    assert len(ids) == len(set(ids))
