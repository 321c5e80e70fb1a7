"""Writing results: ``summary.csv``, ``townships.csv`` and ``coverage.gpkg``.

Every file is written to a temporary name beside its target and moved into place only when
complete, so an interrupted run never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from .._cells import REPLACEMENT, to_csv
from ..pipeline import Analysis
from ..standards import CENTRE_COLUMNS, COMMUNITY_CHECK_COLUMNS, STANDARD_COLUMNS
from . import qgis
from ._files import atomic
from .headline import headline

#: Per-circle columns of summary.csv, in order, after the community columns.
CIRCLE_COLUMNS = (
    "share",
    "status",
    "median_min",
    "p90_min",
    "nearest",
    "minutes",
    "within",
    "residents",
)
COMMUNITY_COLUMNS = (
    "id",
    "name",
    "kind",
    "township",
    "shared_station",
    "population",
    "elderly",
    "basis",
    "input_status",
    "input_note",
    "demand_method",
    "demand_points",
    "off_network_share",
)
#: Standards checks of each community, after the circle columns.
CHECK_COLUMNS = COMMUNITY_CHECK_COLUMNS
#: Columns of facilities.csv.
FACILITY_COLUMNS = (
    "id",
    "name",
    "tier",
    "area_m2",
    "beds",
    "nursing_beds",
    "social_operated",
    "medical_capable",
    "community_id",
    "township",
    "network_status",
    "access_m",
    *STANDARD_COLUMNS,
    *CENTRE_COLUMNS,
)
GPKG_CRS = "EPSG:4326"
GPKG_VERSION = "1.2"


def summary_table(analysis: Analysis) -> pd.DataFrame:
    """The rows of ``summary.csv``: one per community, every community, in input order."""
    frame = analysis.communities
    columns = [c for c in COMMUNITY_COLUMNS if c in frame]
    for name in analysis.circles_measured:
        columns += [f"{name}_{c}" for c in CIRCLE_COLUMNS]
    columns += [c for c in CHECK_COLUMNS if c in frame]
    table = pd.DataFrame(frame[columns])
    for column in ("area_per_resident_m2", "eldercare_area_m2"):
        if column in table:
            table[column] = table[column].round(4)
    for name in analysis.circles_measured:
        table[f"{name}_share"] = table[f"{name}_share"].round(4)
        for col in ("median_min", "p90_min"):
            table[f"{name}_{col}"] = table[f"{name}_{col}"].round(1)
        for col in ("within", "residents"):
            table[f"{name}_{col}"] = table[f"{name}_{col}"].round(1)
    return table


def write_summary(analysis: Analysis, path: str | Path) -> Path:
    """Write ``summary.csv`` (UTF-8 with BOM, so Excel shows Chinese names)."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(summary_table(analysis), tmp)
    return path


def write_townships(analysis: Analysis, path: str | Path) -> Path:
    """Write ``townships.csv``: the per-township table."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(analysis.townships(), tmp)
    return path


def write_facilities(analysis: Analysis, path: str | Path) -> Path:
    """Write ``facilities.csv``: each facility with its standards and centre checks."""
    path = Path(path)
    frame = analysis.facilities
    with atomic(path) as tmp:
        to_csv(pd.DataFrame(frame[[c for c in FACILITY_COLUMNS if c in frame]]), tmp)
    return path


HEADLINE_SOURCE = "headline: sum of {circle}_within / sum of {circle}_residents in summary.csv"
"""The ``source`` of a headline row of ``district.csv`` (``{circle}``: the circle's name)."""


def district_table(analysis: Analysis) -> pd.DataFrame:
    """The rows of ``district.csv``: the headline first, then the district targets.

    One headline row per circle measured (:func:`carecircle.outputs.headline.headline`):
    ``rule`` is ``<circle>_share``, ``value`` the share of the district's residents counted
    (older residents where the data give them) within the circle, 0-1, and ``basis``
    ``"<within> of <residents>"``; ``target``, ``year`` and ``status`` are empty, since no
    policy sets a district share. Then the targets of :func:`carecircle.standards.check_district`.
    """
    figures = headline(analysis).circles
    rows = pd.DataFrame(
        {
            "rule": [f"{c.circle}_share" for c in figures],
            "value": [round(c.share, 4) for c in figures],
            "target": np.nan,
            "year": pd.array([pd.NA] * len(figures), dtype="Int64"),
            "status": "",
            "basis": [f"{round(c.within, 1):g} of {round(c.residents, 1):g}" for c in figures],
            "source": [HEADLINE_SOURCE.format(circle=c.circle) for c in figures],
        }
    )
    if rows.empty:
        return analysis.district
    return pd.concat([rows, analysis.district], ignore_index=True)


def write_district(analysis: Analysis, path: str | Path) -> Path:
    """Write ``district.csv``: the headline shares, the district targets and where they stand."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(district_table(analysis), tmp)
    return path


def write_geopackage(analysis: Analysis, path: str | Path) -> Path:
    """Write ``coverage.gpkg`` (EPSG:4326).

    Layers: ``communities``, ``facilities``, ``circles`` (per facility), ``circles_dissolved``
    (per circle, tier and minutes), ``uncovered`` (parts of communities outside their
    circles) and, after siting, ``proposed_sites``, ``proposed_circles`` (the proposed
    sites' walking circles, as ``circles``) and ``candidates`` (every candidate considered,
    chosen or not, with its status).
    """
    path = Path(path)
    metadata = {key: str(value) for key, value in analysis.parameters.items()}
    layers = {
        "communities": analysis.communities,
        "facilities": analysis.facilities,
        "circles": analysis.circles,
        "circles_dissolved": analysis.dissolved,
        "uncovered": analysis.uncovered,
    }
    if len(analysis.proposed):
        layers["proposed_sites"] = analysis.proposed
    if len(analysis.proposed_circles):
        layers["proposed_circles"] = analysis.proposed_circles
    if len(analysis.candidates):
        layers["candidates"] = analysis.candidates
    with atomic(path) as tmp:
        for position, (name, layer) in enumerate(layers.items()):
            frame = _gpkg_ready(layer.to_crs(GPKG_CRS))
            pyogrio.write_dataframe(
                frame,
                tmp,
                layer=name,
                driver="GPKG",
                # GeoPackage 1.2, which GDAL 2.2 and later (QGIS 3) read without a warning
                dataset_options={"VERSION": GPKG_VERSION} if position == 0 else None,
                layer_metadata={"carecircle": json.dumps(metadata, ensure_ascii=False)},
                promote_to_multi=name not in ("facilities", "proposed_sites", "candidates"),
            )
        _add_qgis_styles(analysis, tmp, layers=list(layers))
    return path


def _add_qgis_styles(analysis: Analysis, path: Path, *, layers: list[str]) -> None:
    """Store default QGIS styles in the GeoPackage, so layers open coloured at once."""
    labels = {c.name: c.label_zh for c in analysis.policy.circles}
    styles = dict(qgis.default_styles(analysis.circles_measured, circle_labels=labels))
    styles["circles_dissolved"] = styles["circles"]
    styles.update(
        qgis.siting_styles([c.name for c in analysis.policy.circles], circle_labels=labels)
    )
    styles["uncovered"] = qgis.categorized_qml(
        "circle",
        [(c.name, c.label_zh, "#67001f") for c in analysis.policy.circles],
        geometry="polygon",
        fill_opacity=0.45,
    )
    qgis.add_styles(path, {name: qml for name, qml in styles.items() if name in layers})


def _gpkg_ready(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns GDAL can store: objects as text, nullable booleans as 0/1.

    GDAL ends a text at a NUL character, silently; a NUL is stored as ``�`` instead, the way
    the workbooks show the characters they cannot hold.
    """
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if str(out[column].dtype) == "boolean":
            out[column] = out[column].astype("Int8")
        elif out[column].dtype == object or str(out[column].dtype).startswith("str"):
            out[column] = out[column].map(
                lambda v: None if _missing(v) else str(v).replace("\x00", REPLACEMENT)
            )
    return out


def _missing(value: object) -> bool:
    """True for None, NaN and pandas' NA (whose truth value is ambiguous)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)
