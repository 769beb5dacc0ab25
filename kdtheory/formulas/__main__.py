"""``python -m kdtheory.formulas``: re-derive the shipped formulas (:mod:`.cache`)."""

import sys

from .cache import main

sys.exit(main())
