"""``python -m sandbox``: the same as ``leadflow sandbox``."""

from __future__ import annotations

import sys

from sandbox.server import main

if __name__ == "__main__":
    sys.exit(main())
