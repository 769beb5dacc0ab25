"""Benchmark of the audit at full size (issue 15): ``python benchmarks/bench_audit.py [--quick]``.

Prints, in one run:

1. the default audit (``kdtheory audit``, seed 0) on 1 and 2 local workers and on a two-worker
   ``dask.distributed`` ``LocalCluster``: wall time, per-claim cases, seconds and configurations
   per second, and the parallel efficiency ``T1 / (N * T_N)``; each run is a fresh process (it
   pays its own start-up), and the JSON of every run must equal the serial run's, timings aside;
2. the start-up ratio: ``kdtheory --help`` and ``kdtheory list`` against
   ``python -c "import sympy"`` (median of several runs each);
3. K_n + U1 on Model A, one core: configurations per second of the package against a fused
   numpy reference written below (the same formulas by hand, in place; never in the package);
4. Model C's ``K_n`` time for ``d = k`` up to 2000 with the fitted growth exponent
   (:mod:`bench_linear`);
5. peak memory (max RSS of the audit process, one worker) at ``--scale 1`` and ``--scale 10``,
   and ``--scale 3`` at seed 0 (which must exit 0).

No timing is asserted anywhere; the targets of the issue are printed next to the measurements.
``--quick`` skips the scale-10 run and shortens the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _vm_hwm_kb(pid: int) -> int:
    """``VmHWM`` of ``/proc/PID/status`` (Linux; 0 elsewhere or once the process is gone).  Not
    ``ru_maxrss``: after ``fork`` + ``exec`` that reports the forking process's size too."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_audit(args: list[str], json_path: Path | None = None) -> dict:
    """Run ``kdtheory audit ARGS`` in a fresh process: wall seconds, exit code, max RSS (MB) of
    that process, and its JSON (if ``json_path``)."""
    cmd = [sys.executable, "-m", "kdtheory.cli", "audit", "--quiet", *args]
    if json_path is not None:
        cmd += ["--json", str(json_path)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hwm = 0
    while proc.poll() is None:  # VmHWM: the peak RSS of the process's own memory since exec
        hwm = max(hwm, _vm_hwm_kb(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    out = {"cmd": " ".join(cmd[2:]), "seconds": wall, "rc": proc.returncode}
    out["max_rss_mb"] = hwm / 1024
    if json_path is not None and json_path.exists():
        out["json"] = json.loads(json_path.read_text())
    return out


def timeless(report: dict) -> dict:
    d = {k: v for k, v in report.items() if k != "seconds"}
    d["claims"] = [{k: v for k, v in c.items() if k != "seconds"} for c in report["claims"]]
    return d


def section_parallel(tmp: Path) -> dict:
    print("## 1. The default audit on 1 and 2 workers and a two-worker Dask LocalCluster\n")
    one = run_audit(["--workers", "1"], tmp / "w1.json")
    two = run_audit(["--workers", "2"], tmp / "w2.json")
    runs = {"1 worker": one, "2 workers": two}
    try:
        from distributed import LocalCluster

        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cl:
            runs["Dask, 2 workers"] = run_audit(
                ["--scheduler", cl.scheduler_address], tmp / "dask.json"
            )
    except ImportError:
        print("(dask.distributed not installed: pip install '.[distributed]')\n")
    serial = timeless(one["json"])
    print(f"{'claim':22} {'cases':>8} {'seconds':>8} {'configs/s':>11}")
    for c in one["json"]["claims"]:
        rate = c["cases"] / c["seconds"] if c["seconds"] else float("inf")
        print(f"{c['id']:22} {c['cases']:>8} {c['seconds']:>8.2f} {rate:>11,.0f}")
    sampled = [c for c in one["json"]["claims"] if c["status"] != "false"]
    small = [c["id"] for c in sampled if c["cases"] < 100_000]
    print(
        f"\nsampled claims below 1e5 configurations: {small or 'none'} (target: none; the "
        "negative controls N1-N7 are searches that stop at a re-verified counterexample)"
    )
    print(f"\n{'run':18} {'wall s':>7} {'exit':>4} {'efficiency':>10}  same JSON as 1 worker")
    for name, r in runs.items():
        n = 1 if name == "1 worker" else 2
        eff = one["seconds"] / (n * r["seconds"])
        same = "json" in r and timeless(r["json"]) == serial
        print(f"{name:18} {r['seconds']:>7.1f} {r['rc']:>4} {eff:>9.0%}  {same}")
    print("(target: parallel efficiency on 2 workers >= 80 %)\n")
    return runs


def _median_seconds(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def section_startup(repeat: int) -> None:
    print("## 2. Start-up\n")
    py = sys.executable
    base = _median_seconds([py, "-c", "import sympy"], repeat)
    print(f"python -c 'import sympy'   {base:6.3f} s")
    for args in (["--help"], ["list"]):
        t = _median_seconds([py, "-m", "kdtheory.cli", *args], repeat)
        print(f"kdtheory {' '.join(args):17} {t:6.3f} s   ratio {t / base:4.2f}  (target < 2)")
    print()


def section_memory(tmp: Path, quick: bool) -> None:
    print("## 5. Peak memory and larger scales (one worker: the peak is the audit process's)\n")
    scales = ["1", "3"] if quick else ["1", "3", "10"]
    rss = {}
    for s in scales:
        r = run_audit(["--workers", "1", "--scale", s])
        rss[s] = r["max_rss_mb"]
        print(f"--scale {s:>3}: exit {r['rc']}, {r['seconds']:7.1f} s, peak {rss[s]:6.0f} MB")
    if "10" in rss:
        print(f"peak at scale 10 / scale 1: {rss['10'] / rss['1']:.2f} (target <= 1.5)")
    print("(target: --scale 3 at seed 0 exits 0)\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip --scale 10, fewer repeats")
    args = ap.parse_args(argv)
    print(
        f"# bench_audit on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
    )
    import bench_closed_forms  # one BLAS thread in this process (set before numpy's import)
    import bench_linear

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        section_parallel(tmp)
        section_startup(3 if args.quick else 7)
        print("## 3. K_n + U1 on one core against a fused numpy reference\n")
        print("(bench_closed_forms.py section 1)")
        bench_closed_forms.section_vectorised(args.quick)
        print("## 4. Model C's K_n for d = k up to 2000 (bench_linear.py)\n")
        bench_linear.run(bench_linear.SIZES[:3] if args.quick else bench_linear.SIZES, repeat=2)
        print()
        section_memory(tmp, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
