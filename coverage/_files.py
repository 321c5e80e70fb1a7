"""Writing files so that a failed or interrupted run never leaves a half-written one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ._errors import InputError

CHECK_OUTPUTS = frozenset(
    {"summary.csv", "townships.csv", "facilities.csv", "district.csv", "coverage.xlsx"}
)
"""What ``check`` writes into its output folder."""

ANALYSIS_OUTPUTS = CHECK_OUTPUTS | {"coverage.gpkg", "overview.png", "map.html"}
"""What ``analyze`` and ``demo`` write."""

SITE_OUTPUTS = ANALYSIS_OUTPUTS | {
    "proposed_sites.csv",
    "siting_communities.csv",
    "siting_townships.csv",
    "uncoverable.csv",
    "candidates.csv",
    "siting.xlsx",
}
"""What ``site`` writes."""

PLAN_OUTPUTS = SITE_OUTPUTS | {"plan_by_year.csv"}
"""What ``scripts/plan_sites.py`` writes."""

COST_OUTPUTS = frozenset({"costing.csv", "costing.xlsx"})
"""What ``cost`` writes."""

AUDIT_OUTPUTS = frozenset({"plan_audit.csv", "plan_audit.xlsx"})
"""What ``plan-audit`` writes."""


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


def check_out(
    out: Path | None, inputs: Mapping[str, Path | None], *, writes: frozenset[str]
) -> None:
    """Refuse an output folder that is a file, or that would overwrite one of the inputs.

    Parameters
    ----------
    out : pathlib.Path or None
        The ``--out`` folder (None: a new folder named after the time, which cannot collide).
    inputs : mapping of str to pathlib.Path or None
        Each input file by the option that named it, e.g. ``{"--facilities": path}``.
    writes : frozenset of str, keyword-only
        The names of the files the command writes into ``out`` (e.g. :data:`SITE_OUTPUTS`).

    Raises
    ------
    InputError
        If ``out`` is an existing file, or holds an input under the name of an output.

    """
    if out is None:
        return
    if out.exists() and not out.is_dir():
        msg = f"--out {str(out)!r} is a file; expected a folder (created when missing)"
        raise InputError(msg)
    folder = out.resolve()
    for option, path in inputs.items():
        if path is None or path.name not in writes:
            continue
        if path.resolve().parent == folder:
            msg = (
                f"{option} {str(path)!r} is in the --out folder, where the results' "
                f"{path.name} would overwrite it; choose another --out folder"
            )
            raise InputError(msg)
