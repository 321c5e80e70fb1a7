"""Writing files so that a failed or interrupted run never leaves a half-written one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; move it into place when the block succeeds.

    The temporary name is unique (two runs writing the same folder do not collide) and is not
    created, so writers that refuse an existing file (GDAL) work. On failure it is removed and
    ``path`` keeps what it had.
    """
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.part{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
