"""Writing files so that a failed or interrupted run never leaves a half-written one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ._errors import InputError

OUTPUT_NAMES = frozenset(
    {
        "summary.csv",
        "townships.csv",
        "facilities.csv",
        "district.csv",
        "coverage.gpkg",
        "coverage.xlsx",
        "overview.png",
        "map.html",
        "proposed_sites.csv",
        "siting_communities.csv",
        "siting_townships.csv",
        "uncoverable.csv",
        "candidates.csv",
        "siting.xlsx",
        "plan_by_year.csv",
        "plan_audit.csv",
        "plan_audit.xlsx",
        "costing.csv",
        "costing.xlsx",
    }
)
"""Every file a command writes into its output folder."""


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


def check_out(out: Path | None, inputs: Mapping[str, Path | None]) -> None:
    """Refuse an output folder that is a file, or that would overwrite one of the inputs.

    Parameters
    ----------
    out : pathlib.Path or None
        The ``--out`` folder (None: a new folder named after the time, which cannot collide).
    inputs : mapping of str to pathlib.Path or None
        Each input file by the option that named it, e.g. ``{"--facilities": path}``.

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
        if path is None or path.name not in OUTPUT_NAMES:
            continue
        if path.resolve().parent == folder:
            msg = (
                f"{option} {str(path)!r} is in the --out folder, where the results' "
                f"{path.name} would overwrite it; choose another --out folder"
            )
            raise InputError(msg)
