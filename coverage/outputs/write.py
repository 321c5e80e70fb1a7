"""Every output of an analysis, written at once: the CSVs, the GeoPackage, the workbook, the PNG.

:func:`write_all` writes them into one folder, two cores at a time where it can
(:func:`carecircle._parallel.side_by_side`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pyproj

from .. import _progress
from .._parallel import side_by_side
from ..pipeline import Analysis
from ..terms import Lang
from ._files import ANALYSIS_FILES
from .care_tables import write_care_map
from .export import (
    write_compounds,
    write_district,
    write_facilities,
    write_geopackage,
    write_summary,
    write_townships,
)
from .overview import overview_png
from .qgis_project import write_project
from .workbook import workbook


def write_all(
    analysis: Analysis,
    out_dir: str | Path,
    *,
    lang: Lang = "zh",
    progress: bool = False,
    also: Mapping[str, tuple[str, Callable[[Path], Path]]] | None = None,
    crs: str | int | pyproj.CRS | None = None,
    shapefile_safe: bool = False,
) -> dict[str, Path]:
    """Write every table and layer into ``out_dir`` (created when missing).

    With a care map (:attr:`Analysis.care`), ``care_map.csv`` is written too. The CSVs keep
    stable English column names; the workbook (``coverage.xlsx``) and the PNG
    overview (``overview.png``) are for people, in ``lang``. With two cores the workbook and
    the GeoPackage are written in a second process while this one writes the rest
    (:func:`carecircle._parallel.side_by_side`); with ``progress``, each file's writing time
    is said on standard error as it is written (:func:`carecircle._progress.step`).

    Parameters
    ----------
    analysis : Analysis
        The results.
    out_dir : path
        The folder.
    lang : {"zh", "en"}, keyword-only
        Language of the workbook and the overview.
    progress : bool, keyword-only
        Say each file's writing time on standard error.
    also : mapping, optional, keyword-only
        More files to write meanwhile: ``{label: (file name, writer)}``, each writer taking
        the file's path (the command line writes its map this way).
    crs, shapefile_safe : keyword-only
        The GeoPackage's CRS (WGS 84 when None) and field names: see
        :func:`carecircle.outputs.write_geopackage`. ``coverage.qgz``, its QGIS project, is
        written beside it.

    Returns
    -------
    dict
        Each file's path by label.

    Examples
    --------
    >>> import tempfile
    >>> import carecircle as cc
    >>> from carecircle.data import demo_files
    >>> files = demo_files()
    >>> res = cc.analyze(
    ...     cc.network.read(files["network"]),
    ...     cc.read_communities(files["communities"]),
    ...     cc.read_facilities(files["facilities"]),
    ...     population_raster=files["population"],
    ... )
    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = cc.outputs.write_all(res, out, lang="en")
    ...     sorted(path.name for path in written.values())
    ['coverage.gpkg', 'coverage.qgz', 'coverage.xlsx', 'district.csv', 'facilities.csv',
     'overview.png', 'summary.csv', 'townships.csv']
    >>> list(written)
    ['summary', 'townships', 'facilities', 'district', 'geopackage', 'qgis_project', 'overview',
     'workbook']

    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Callable[[Path], Path]] = {
        "summary": lambda p: write_summary(analysis, p),
        "townships": lambda p: write_townships(analysis, p),
        "facilities": lambda p: write_facilities(analysis, p),
        "district": lambda p: write_district(analysis, p),
        "compounds": lambda p: write_compounds(analysis, p),
        "workbook": lambda p: workbook(analysis, p, lang=lang),
        "geopackage": lambda p: write_geopackage(
            analysis, p, crs=crs, lang=lang, shapefile_safe=shapefile_safe
        ),
        "overview": lambda p: overview_png(analysis, p, lang=lang),
    }
    if analysis.care is not None:
        writers["care_map"] = lambda p: write_care_map(analysis, p)
    here: list[tuple[str, str, Callable[[Path], Path]]] = [
        (label, ANALYSIS_FILES[label], writers[label])
        for label in ("summary", "townships", "facilities", "district", "care_map")
        if label in writers
    ]
    if len(analysis.compounds):  # compounds.csv only when compounds were given
        here.append(("compounds", ANALYSIS_FILES["compounds"], writers["compounds"]))
    # the two processes' shares, balanced on a district of 10,000 communities: the workbook
    # (11 s) and the GeoPackage (2 s) aside; the overview (6 s) and the map (8 s) here
    aside = [("workbook", ANALYSIS_FILES["workbook"], writers["workbook"])]
    if analysis.circles_measured:
        aside.append(("geopackage", ANALYSIS_FILES["geopackage"], writers["geopackage"]))
        here.append(("overview", ANALYSIS_FILES["overview"], writers["overview"]))
    here += [(label, name, write) for label, (name, write) in (also or {}).items()]
    # the QGIS project, read from the GeoPackage once it is there (a small file)
    after = (
        [
            (
                "qgis_project",
                ANALYSIS_FILES["qgis_project"],
                lambda p: write_project(analysis, out / ANALYSIS_FILES["geopackage"], p, lang=lang),
            )
        ]
        if analysis.circles_measured
        else []
    )

    def job(name: str, write: Callable[[Path], Path], *, here: bool) -> Callable[[], Path]:
        def run() -> Path:
            # a file written aside, in a second process, does not show its name meanwhile
            with _progress.step("write", show=progress, live=here, name=name):
                return write(out / name)

        return run

    written = side_by_side(
        {label: job(name, write, here=False) for label, name, write in aside},
        {label: job(name, write, here=True) for label, name, write in here},
    )
    for label, name, write in after:
        written[label] = job(name, write, here=True)()
    first = [
        "summary",
        "townships",
        "facilities",
        "district",
        "compounds",
        "care_map",
        "geopackage",
        "qgis_project",
        "overview",
    ]
    order = [*first, "workbook", *(also or {})]
    return {label: written[label] for label in order if label in written}
