"""The audit: every registered claim checked on exact models (THEORY §2-§8).

Importing this package registers the claims: one module per theorem family.
"""

from . import claims_upper  # noqa: F401  (lemma-DV, lemma-SG, U0, U1)
from .claims_sharpness import RegimeClaim  # noqa: F401  (registers S, S-regime, S-smooth, ...)
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

__all__ = [
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
