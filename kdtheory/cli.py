"""Command line: ``kdtheory audit | list | latex``.  Bad arguments exit 2 with a message."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

EPILOG = """exit codes: 0 success (audit: every true claim holds and every false claim is
refuted), 1 audit failure, 2 bad arguments."""


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
    a.add_argument("--quiet", action="store_true", help="no progress output on stderr")
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
        from . import theorems  # noqa: F401  (registers every theorem)
        from .latex import theorems_document

        doc = theorems_document()
        if args.output:
            try:
                with open(args.output, "w", encoding="utf-8") as fh:
                    fh.write(doc)
            except OSError as exc:
                print(f"kdtheory latex: cannot write {args.output}: {exc}", file=sys.stderr)
                return 2
        else:
            sys.stdout.write(doc)
        return 0
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


def _audit(args, parser) -> int:
    from .audit import claims, run_audit
    from .audit.engine import stderr_progress

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
    report = run_audit(
        seed=args.seed,
        scale=args.scale,
        only=args.claim,
        progress=None if args.quiet else stderr_progress,
    )
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
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
