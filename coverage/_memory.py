"""How much memory a run may use, and a one-line stop when its inputs need more.

The figure available is the least of what the system (``MemAvailable``), the container
(cgroup ``memory.max``) and the process's own limit (``ulimit -v``) leave; where none of them
can be read (not Linux), no check is made.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import InputError

logger = logging.getLogger(__name__)

GIB = 2**30

#: Peak memory per facility of ``analyze`` and ``check``, measured on runs of 20,000 and
#: 200,000 facilities (about 9 KiB each, mostly the workbook's cells), with some margin.
BYTES_PER_FACILITY = 10 * 2**10
#: Peak memory of a run apart from its facilities (the demo district takes 0.3 GiB).
BASE_BYTES = GIB // 2


def available_bytes() -> int | None:
    """Bytes this process may still allocate, or None when the system does not say."""
    figures = [
        figure
        for figure in (_meminfo_available(), _cgroup_available(), _address_space_left())
        if figure is not None
    ]
    return min(figures) if figures else None


def require(needed_bytes: float, *, what: str, advice: str) -> None:
    """Stop with one line when ``needed_bytes`` is more than :func:`available_bytes`.

    Parameters
    ----------
    needed_bytes : float
        The estimated peak memory, bytes.
    what : str
        What needs it, e.g. ``"200,000 facilities"``.
    advice : str
        What to do instead, appended after a semicolon.

    Raises
    ------
    InputError
        ``"<what> need about N GiB of memory; M GiB is available: <advice>"``.

    """
    free = available_bytes()
    logger.debug("%s: about %.1f GiB needed, %s available", what, needed_bytes / GIB, free)
    if free is None or needed_bytes <= free:
        return
    msg = (
        f"{what} need about {needed_bytes / GIB:.1f} GiB of memory; "
        f"{free / GIB:.1f} GiB is available: {advice}"
    )
    raise InputError(msg)


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text(encoding="ascii").strip()
        used = (folder / "memory.current").read_text(encoding="ascii").strip()
    except OSError:
        return None
    if limit == "max" or not limit.isdigit() or not used.isdigit():
        return None
    return max(int(limit) - int(used), 0)


def _address_space_left() -> int | None:
    try:
        import resource  # not on Windows
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(soft - pages * resource.getpagesize(), 0)
