"""Command line: ``kdtheory audit | list | latex``.  Bad arguments exit 2 with a message.

Results go to stdout; progress goes to stderr only (and only once a run has lasted
:data:`PROGRESS_DELAY` seconds; ``--quiet`` silences it).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

__all__ = ["main", "DelayedProgress", "PROGRESS_DELAY"]

EPILOG = """exit codes: 0 success (audit: every true claim holds and every false claim is
refuted), 1 audit failure, 2 bad arguments, 3 a requested PDF could not be made (pdflatex
missing or failed; the .tex file is written)."""

#: progress lines appear once a run has lasted this many seconds (shorter runs stay silent)
PROGRESS_DELAY = 1.0


class DelayedProgress:
    """A progress callback that writes lines to ``stream`` (default: ``sys.stderr`` at
    construction), but only once ``delay`` seconds have passed since it was made: lines of the
    first ``delay`` seconds are held back and written together when a timer fires, so a run
    that ends sooner prints nothing.  Call :meth:`close` when the run ends."""

    def __init__(self, stream=None, delay: float = PROGRESS_DELAY):
        self.stream = sys.stderr if stream is None else stream
        self._held: list[str] = []
        self._lock = threading.Lock()
        self._live = delay <= 0
        self._timer = None
        if not self._live:
            self._timer = threading.Timer(delay, self.release)
            self._timer.daemon = True
            self._timer.start()

    def __call__(self, message: str) -> None:
        with self._lock:
            if self._live:
                self._write(message)
            else:
                self._held.append(message)

    def _write(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def release(self) -> None:
        """Write the held lines and every later one at once (the timer calls this)."""
        with self._lock:
            self._live = True
            for m in self._held:
                self._write(m)
            self._held.clear()

    def close(self) -> None:
        """Stop the timer; lines still held are dropped (the run was shorter than the delay)."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._held.clear()


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (x > 0 and x < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return x


def _nonneg_int(text: str) -> int:
    try:
        x = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if x < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return x


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kdtheory",
        description=(
            "State, derive and check the generalization bounds of knowledge distillation "
            "(Li & He, arXiv:2605.13143)."
        ),
        epilog=EPILOG,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser(
        "audit",
        help="check every registered claim on exact toy models and print a table",
        description=(
            "Check every registered claim on many random parameter draws of the exact toy "
            "models (true claims must hold, false ones must be refuted by search) and print a "
            "table: claim, status, model, verdict, cases, violations, tightest ratio "
            "(lhs - ref)/(rhs - ref) (<= 1 iff the bound holds), and the ratio reached by "
            "equality witnesses."
        ),
        epilog=EPILOG,
    )
    a.add_argument("--seed", type=_nonneg_int, default=0, help="random seed (default 0)")
    a.add_argument(
        "--scale",
        type=_positive_float,
        default=1.0,
        help="multiply every claim's number of cases by this factor (default 1)",
    )
    a.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    a.add_argument(
        "--claim", action="append", metavar="ID", help="audit only this claim (repeatable)"
    )
    a.add_argument(
        "--report",
        metavar="DIR",
        help=(
            "write DIR/report.tex (audit table, counterexamples, figures, every theorem) and "
            "compile DIR/report.pdf when pdflatex is on PATH"
        ),
    )
    a.add_argument(
        "--quiet",
        action="store_true",
        help=f"no progress output on stderr (shown for runs longer than {PROGRESS_DELAY:g} s)",
    )
    a.add_argument(
        "--certified",
        action="store_true",
        help=(
            "re-evaluate each claim's tightest case (and counterexample) in arb ball arithmetic "
            "(needs python-flint: pip install 'kdtheory[rigorous]')"
        ),
    )

    sub.add_parser("list", help="list the registered theorems with their status")

    lx = sub.add_parser("latex", help="write every registered theorem as a LaTeX document")
    lx.add_argument("-o", "--output", metavar="FILE", help="output .tex file (default stdout)")
    lx.add_argument(
        "--pdf",
        action="store_true",
        help="also compile FILE.pdf with pdflatex (needs -o; says so when pdflatex is missing)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "audit":
        return _audit(args, parser)
    if args.command == "list":
        from .theorems import theorems

        for t in theorems():
            print(f"{t.id:<14} {t.status.value:<14} {t.ref:<30} {t.name}")
        return 0
    if args.command == "latex":
        return _latex(args, parser)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


def _latex(args, parser) -> int:
    from . import theorems  # noqa: F401  (registers every theorem)
    from .latex import compile_pdf, theorems_document

    if args.pdf and not args.output:
        parser.error("--pdf needs -o FILE.tex (the PDF is written next to it)")
    doc = theorems_document()
    if not args.output:
        sys.stdout.write(doc)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(doc)
    except OSError as exc:
        print(f"kdtheory latex: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    if args.pdf:
        result = compile_pdf(args.output)
        if not result.ok:
            print(f"kdtheory latex: {result.message}; wrote {args.output} only", file=sys.stderr)
            return 3
        pdf = Path(args.output).with_suffix(".pdf")
        print(f"wrote {args.output} and {pdf} ({result.pages} pages)")
    return 0


def _audit(args, parser) -> int:
    from .audit import claims

    if args.claim:
        known = {c.id for c in claims()}
        unknown = [c for c in args.claim if c not in known]
        if unknown:
            parser.error(
                f"unknown claim id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
    if args.json:
        try:
            open(args.json, "a", encoding="utf-8").close()
        except OSError as exc:
            parser.error(f"cannot write --json {args.json}: {exc}")
    if args.certified:
        from .certified import flint_available

        if not flint_available():
            parser.error(
                "--certified needs python-flint (arb ball arithmetic), which is not installed: "
                "pip install 'kdtheory[rigorous]'  (or: pip install python-flint)"
            )
    if args.report:
        try:
            Path(args.report).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            parser.error(f"cannot create --report directory {args.report}: {exc}")
    progress = None if args.quiet else DelayedProgress(sys.stderr, PROGRESS_DELAY)
    try:
        return _run_audit(args, progress)
    finally:
        if progress is not None:
            progress.close()


def _run_audit(args, progress) -> int:
    from .audit import run_audit

    report = run_audit(seed=args.seed, scale=args.scale, only=args.claim, progress=progress)
    ok = report.ok
    if args.certified:
        from .audit.certify import certified_ok, certify_report, table_with_certified

        certify_report(report)
        ok = ok and certified_ok(report)
        print(table_with_certified(report))
    else:
        print(report.table())
    cx = report.counterexamples()
    if cx:
        print("\ncounterexamples:")
        print(cx)
    if report.unaudited:
        print(f"\nregistered theorems without a numeric check: {', '.join(report.unaudited)}")
    print(
        f"\n{'OK' if ok else 'FAILED'}: {len(report.results)} claims, seed {report.seed}, "
        f"{report.seconds:.1f} s"
        + (", tightest cases re-evaluated in ball arithmetic" if args.certified else "")
    )
    if args.json:
        report.write_json(args.json)
    rc = 0 if ok else 1
    if args.report:
        from .report import write_report

        files = write_report(report, args.report, pdf=True, progress=progress)
        print(f"\nreport: {files.tex}")
        for f in files.figures:
            if f.path is None:
                print(f"figure {f.name} unavailable: {f.reason}", file=sys.stderr)
        c = files.compiled
        if c is not None and c.ok:
            print(f"report: {files.tex.with_suffix('.pdf')} ({c.pages} pages)")
        elif c is not None:
            print(f"kdtheory audit: report.pdf not made: {c.message}", file=sys.stderr)
            if c.log is not None and rc == 0:  # pdflatex ran and failed: a bug, say so
                rc = 3
    return rc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
