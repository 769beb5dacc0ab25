"""The audit on several processes and on a Dask cluster (kdtheory.audit.parallel): the results
equal the serial run's whatever the number of workers, timings aside; blocks merge as if their
cases had been added in order; plugins reach the workers; errors are one line."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from kdtheory.audit import engine as E
from kdtheory.audit import parallel, run_audit

#: cheap claims of every kind: sampling (several blocks at SCALE), a regime claim, searches
CLAIMS = ["lemma-SG", "U1", "S-regime", "U-uniform@memoriser", "N2", "N7"]
#: 2.5 x 1e5 cases: the sampling claims run three blocks (1e5, 1e5, 5e4)
SCALE = 2.5


def _timeless(report) -> dict:
    d = report.to_json()
    d.pop("seconds")
    for c in d["claims"]:
        c.pop("seconds")
    return d


@pytest.fixture(scope="module")
def serial():
    return _timeless(run_audit(seed=3, scale=SCALE, only=CLAIMS))


def test_serial_claims_run_several_blocks():
    sizes = E.claims()[0].block_sizes(SCALE)
    assert sizes == [E.BLOCK, E.BLOCK, E.BLOCK // 2]


def test_two_local_workers_give_the_serial_json(serial):
    lines = []
    report = run_audit(seed=3, scale=SCALE, only=CLAIMS, workers=2, progress=lines.append)
    assert _timeless(report) == serial
    assert lines[0] == f"running {len(CLAIMS)} claims on 2 local worker processes"
    assert sorted(line.split("] ")[1].split()[0] for line in lines[1:]) == sorted(CLAIMS)


def test_merging_blocks_in_any_grouping_equals_one_pass():
    """_Tally.merge: (b0 + b1) + b2 == b0 + (b1 + b2) == the claim's own run, including the
    first-on-ties rule for the tightest case (a batch of equal ratios)."""
    claim = next(c for c in E.claims() if c.id == "lemma-SG")
    claim = dataclasses.replace(claim, cases=3 * E.BLOCK // 100)
    root = E.claim_stream(5, claim.id)
    sizes = [1000, 1000, 1000]
    parts = lambda: [claim.evaluate_block(root, j, n) for j, n in enumerate(sizes)]  # noqa: E731
    a, b, c = parts()
    left = a.merge(b).merge(c)
    a, b, c = parts()
    right = a.merge(b.merge(c))
    for t in (left, right):
        assert t.n == 3000 and t.sample
    assert (left.max_ratio, left.tightest, left.violations) == (
        right.max_ratio,
        right.tightest,
        right.violations,
    )
    ties = E._Tally()
    for j in range(3):  # three blocks of identical ratios: the first case of the first block
        batch = E.Batch([{"j": j, "i": i} for i in range(4)], {"x": np.zeros(4)})
        ev = type(
            "Ev", (), {"holds": np.ones(4, bool), "ratio": np.full(4, 0.5), "lhs": 0, "rhs": 1}
        )
        part = E._Tally()
        part.add(batch, ev)
        ties.merge(part)
    assert ties.tightest["params"] == {"j": 0, "i": 0} and ties.n == 12


def test_session_claims_run_in_this_process():
    """A claim registered in this session cannot be imported by a worker: the parent runs it
    (same result as a serial run), the workers run the rest."""
    import kdtheory as kd

    with kd.scoped():
        c = dataclasses.replace(next(c for c in E.claims() if c.id == "U1"), id="U1-session")
        E.register_claim(c)
        assert E.claim_origin("U1-session") == "session"
        ids = ["U1", "U1-session"]
        both = run_audit(seed=3, scale=SCALE, only=ids, workers=2)
        alone = run_audit(seed=3, scale=SCALE, only=ids)
    assert _timeless(both) == _timeless(alone)
    assert [r.verdict for r in both.results] == ["holds", "holds"]


def test_bad_worker_counts_are_refused():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(E.AuditRequestError, match="workers must be a positive integer"):
            run_audit(only=["N7"], workers=bad)


PLUGIN = textwrap.dedent(
    """
    import dataclasses
    import kdtheory as kd
    from kdtheory.audit import engine

    base = next(c for c in engine.claims() if c.id == "lemma-SG")
    engine.register_claim(dataclasses.replace(base, id="lemma-SG-plugin"))
    """
)


@pytest.fixture
def cluster(dask_cluster):
    return dask_cluster


def test_dask_local_cluster_gives_the_serial_json(serial, cluster):
    lines = []
    report = run_audit(
        seed=3, scale=SCALE, only=CLAIMS, scheduler=cluster.scheduler_address, progress=lines.append
    )
    assert _timeless(report) == serial
    assert lines[0].startswith(f"running {len(CLAIMS)} claims on the Dask cluster at tcp://")
    assert "(2 workers)" in lines[0]


def test_a_plugin_reaches_spawned_dask_workers(cluster, tmp_path):
    """Dask's workers are fresh processes: they load the --plugin file by its path."""
    from kdtheory.plugins import load_plugin

    path = tmp_path / "my_claims.py"
    path.write_text(PLUGIN)
    import kdtheory as kd

    with kd.scoped():
        load_plugin(str(path))
        report = run_audit(
            seed=1, only=["lemma-SG", "lemma-SG-plugin"], scheduler=cluster.scheduler_address
        )
        assert "--plugin" in report.reproduce_command()
    a, b = (r.to_json() | {"seconds": 0, "id": 0} for r in report.results)
    assert b["cases"] == E.BLOCK and a["verdict"] == b["verdict"] == "holds"


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(parallel.ParallelError, match="cannot reach the Dask scheduler at"):
        run_audit(only=["N7"], scheduler="tcp://127.0.0.1:1")


def test_cli_scheduler_error_exits_2_with_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kdtheory.cli",
            "audit",
            "--claim",
            "N7",
            "--scheduler",
            "foo://x:1",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert err == [
        "kdtheory audit: --scheduler foo://x:1: not a Dask scheduler address (unknown address "
        "scheme 'foo' (known schemes: ['inproc', 'tcp', 'tls', 'ucx', 'ws', 'wss']))"
    ]


def test_cli_workers_must_be_positive(capsys):
    from kdtheory import cli

    for bad in ("0", "-2", "two"):
        with pytest.raises(SystemExit) as exc:
            cli.main(["audit", "--workers", bad])
        assert exc.value.code == 2
        assert "--workers: expected a positive integer" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_ctrl_c_stops_the_workers_at_once(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) ends a two-worker audit
    with exit 130 and one line, and no worker process is left behind."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdtheory.cli", "audit", "--workers", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=tmp_path,
    )
    children: list[str] = []
    deadline = time.monotonic() + 120
    while len(children) < 3 and time.monotonic() < deadline:  # the parent and two workers
        time.sleep(0.2)
        group = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
        children = group.stdout.split()
    assert len(children) >= 3, "the workers never started"
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["kdtheory: interrupted"]
    time.sleep(0.5)
    alive = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert alive.stdout.split() == [], (children, alive.stdout)


def test_parallel_map_keeps_the_order_of_its_items(cluster):
    items = [(s, 3) for s in range(7)]
    want = [_draw(x) for x in items]
    assert parallel.parallel_map(_draw, items) == want
    seen = []
    got = parallel.parallel_map(_draw, items, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert got == want and seen[-1] == (7, 7) and len(seen) == 7
    assert parallel.parallel_map(_draw, items, scheduler=cluster.scheduler_address) == want


def _draw(x):
    seed, n = x
    return np.random.default_rng(seed).random(n).tolist()
