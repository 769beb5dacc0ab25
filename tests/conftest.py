"""Hypothesis profiles (:data:`kdtheory.strategies.PROFILES`): ``ci`` (deterministic, sized for
2 cores; the default) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough pytest``, for local bug
hunts)."""

import os

from kdtheory.strategies import load_profile

load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
