"""Writing results: ``summary.csv``, ``townships.csv`` and ``coverage.gpkg``.

Every file is written to a temporary name beside its target and moved into place only when
complete, so an interrupted run never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from .pipeline import Analysis

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
    "population",
    "elderly",
    "basis",
    "input_status",
    "input_note",
    "demand_method",
    "demand_points",
)
GPKG_CRS = "EPSG:4326"


def summary_table(analysis: Analysis) -> pd.DataFrame:
    """The rows of ``summary.csv``: one per community, every community, in input order."""
    frame = analysis.communities
    columns = list(COMMUNITY_COLUMNS)
    for circle in analysis.policy.circles:
        columns += [f"{circle.name}_{c}" for c in CIRCLE_COLUMNS]
    table = pd.DataFrame(frame[columns])
    for circle in analysis.policy.circles:
        name = circle.name
        table[f"{name}_share"] = table[f"{name}_share"].round(4)
        for col in ("median_min", "p90_min"):
            table[f"{name}_{col}"] = table[f"{name}_{col}"].round(1)
        for col in ("within", "residents"):
            table[f"{name}_{col}"] = table[f"{name}_{col}"].round(1)
    return table


def write_summary(analysis: Analysis, path: str | Path) -> Path:
    """Write ``summary.csv`` (UTF-8 with BOM, so Excel shows Chinese names)."""
    path = Path(path)
    with _atomic(path) as tmp:
        summary_table(analysis).to_csv(tmp, index=False, encoding="utf-8-sig")
    return path


def write_townships(analysis: Analysis, path: str | Path) -> Path:
    """Write ``townships.csv``: the per-township table."""
    path = Path(path)
    with _atomic(path) as tmp:
        analysis.townships().to_csv(tmp, index=False, encoding="utf-8-sig")
    return path


def write_geopackage(analysis: Analysis, path: str | Path) -> Path:
    """Write ``coverage.gpkg``: layers ``communities``, ``facilities``, ``circles`` in EPSG:4326."""
    path = Path(path)
    metadata = {key: str(value) for key, value in analysis.parameters.items()}
    layers = {
        "communities": analysis.communities,
        "facilities": analysis.facilities,
        "circles": analysis.circles,
    }
    with _atomic(path) as tmp:
        for name, layer in layers.items():
            frame = _gpkg_ready(layer.to_crs(GPKG_CRS))
            pyogrio.write_dataframe(
                frame,
                tmp,
                layer=name,
                driver="GPKG",
                layer_metadata={"carecircle": json.dumps(metadata, ensure_ascii=False)},
                promote_to_multi=name != "facilities",
            )
    return path


def write_all(analysis: Analysis, out_dir: str | Path) -> dict[str, Path]:
    """Write every table and layer into ``out_dir`` (created when missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "summary": write_summary(analysis, out / "summary.csv"),
        "townships": write_townships(analysis, out / "townships.csv"),
        "geopackage": write_geopackage(analysis, out / "coverage.gpkg"),
    }


def _gpkg_ready(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns GDAL can store: objects as text."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if out[column].dtype == object or str(out[column].dtype).startswith("str"):
            out[column] = out[column].map(lambda v: None if v is None or v != v else str(v))
    return out


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place when the block succeeds."""
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    if tmp.exists():
        tmp.unlink()
    try:
        yield tmp
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
