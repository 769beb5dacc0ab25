"""Run each proofs/ script once per test session (several test files inspect the same proof)."""

import functools
import importlib.util
from pathlib import Path

PROOFS_DIR = Path(__file__).resolve().parent.parent / "proofs"


@functools.cache
def run_proof(stem: str):
    """The :class:`kdtheory.proof.Proof` returned by ``proofs/<stem>.py``'s ``run()``."""
    path = PROOFS_DIR / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"proofs_{stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.run()
