"""The audit: every registered claim checked on exact models (THEORY §2-§8).

Importing this package registers the claims: one module per theorem family.
"""

from importlib import import_module

from ..theorems.registry import loading
from .engine import (
    AuditReport,
    Batch,
    Claim,
    ClaimResult,
    SamplingClaim,
    SearchClaim,
    claims,
    register_claim,
    run_audit,
)

#: the claim modules, in the order their claims are audited and reported
CLAIM_MODULES = (
    "claims_upper",
    "claims_lower",
    "claims_sharpness",
    "claims_linear",
    "claims_negative",
)
with loading("kdtheory"):
    for _name in CLAIM_MODULES:
        import_module(f"{__name__}.{_name}")

from .statement import StatementClaim, check, claim  # noqa: E402  (after the toolkit's claims)

__all__ = [
    "StatementClaim",
    "check",
    "claim",
    "AuditReport",
    "Batch",
    "Claim",
    "ClaimResult",
    "SamplingClaim",
    "SearchClaim",
    "claims",
    "register_claim",
    "run_audit",
]
