"""The system Chromium that Playwright drives (no browser download): Debian's, or $MLPLAB_CHROMIUM."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("MLPLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
