"""Start-up benchmark (issue 15 item 5): ``python benchmarks/bench_startup.py [--runs N]``.

Times fresh interpreters running ``import sympy`` (the reference: any command that prints a
theorem needs sympy), ``import kdtheory``, ``kdtheory --help`` and ``kdtheory list`` (as
``python -m kdtheory.cli``, from the repository root so that this checkout's package is the one
timed), interleaved so that a change of machine load affects every command alike, and prints the
median of each and its ratio to ``import sympy``.  Target: ``kdtheory --help`` and
``kdtheory list`` under twice ``import sympy``.  No assertion: the numbers are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {
    "import sympy": [sys.executable, "-c", "import sympy"],
    "import kdtheory": [sys.executable, "-c", "import kdtheory"],
    "kdtheory --help": [sys.executable, "-m", "kdtheory.cli", "--help"],
    "kdtheory list": [sys.executable, "-m", "kdtheory.cli", "list"],
}
REFERENCE = "import sympy"
TARGET = 2.0


def wall_time(cmd: list[str]) -> float:
    """Seconds of one run of ``cmd`` (output discarded; a failing command is an error)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - t0


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=9, help="runs of each command (default 9)")
    args = p.parse_args(argv)
    for cmd in COMMANDS.values():  # warm the file cache and the bytecode
        wall_time(cmd)
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            times[name].append(wall_time(cmd))
    ref = statistics.median(times[REFERENCE])
    print(
        f"kdtheory start-up ({args.runs} interleaved runs each, median; python {sys.version.split()[0]})"
    )
    print(f"{'command':<18} {'median s':>9} {'min s':>7} {'max s':>7} {'/ import sympy':>15}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<18} {med:9.3f} {min(ts):7.3f} {max(ts):7.3f} {med / ref:15.2f}")
    worst = max(statistics.median(times[k]) for k in ("kdtheory --help", "kdtheory list"))
    print(
        f"ratio of the slower of --help and list to import sympy: {worst / ref:.2f} "
        f"(target < {TARGET:g})"
    )


if __name__ == "__main__":
    main()
