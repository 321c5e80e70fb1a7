"""Environment settings: where carecircle caches parsed walking networks.

Analysis parameters (speeds, minutes, thresholds) are never set here: they come from arguments
or a policy profile.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Return the folder for cached networks.

    ``CARECIRCLE_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/carecircle`` or
    ``~/.cache/carecircle``. The folder is created on first use by the caller.
    """
    explicit = os.environ.get("CARECIRCLE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "carecircle"
