"""Read and check a layer of residential compounds (小区), for the provision rules that need one.

The rules of 渝府办发〔2018〕99号 §二(一), 垫江府办〔2020〕8号 §二(一), 万州府办发〔2020〕28号
§二(五)12 and 运〔2021〕—2 §二(一), §三(四) are about compounds: their households, residents,
floor area, whether they are new or old, and the rooms and land they give to elderly care
(checked by :mod:`carecircle.compounds`). A compound is a polygon or a point (a CSV or workbook
with longitude/latitude columns, or a point layer).

Output columns, in order::

    id, name, households, residents, build_year, new, care_room_area_m2, care_land_area_m2,
    floor_area_m2, <every other input column, unchanged>, geometry

Only ``id`` and the geometry are required. A field whose column the file lacks is all NaN
(``new``: NA) and is not listed in ``attrs["columns"]``, so that a rule needing it says
``unknown`` and why, rather than failing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .. import coords as _coords
from .._validate import (
    Where,
    as_text,
    is_table,
    numeric_column,
    read_table,
    required_text,
    resolve_columns,
    unique_ids,
)
from ..errors import InputError
from .readers import (
    _attribute_columns,
    _check_lonlat,
    _check_path,
    _csv_points,
    _from_file,
    _other_columns,
    _read_layer,
    _split_columns,
    layer_to_wgs84,
)

COMPOUND_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "代码", "小区编号", "小区代码"),
    "name": ("名称", "小区名称", "小区名"),
    "households": ("户数", "总户数", "住户数"),
    "residents": ("人口", "居住人口", "常住人口", "居民人数"),
    "build_year": ("建成年份", "建成年代", "竣工年份"),
    "new": ("新旧", "新建或老旧", "新老"),
    "care_room_area_m2": ("养老用房面积", "养老服务用房面积", "养老设施面积"),
    "care_land_area_m2": ("养老用地面积", "养老服务用地面积"),
    "floor_area_m2": ("建筑面积", "总建筑面积"),
}
"""Field → accepted headers for compound layers (the field name itself is always accepted)."""

COMPOUND_MEANINGS: dict[str, str] = {
    "id": "an id",
    "name": "a name",
    "households": "the households count",
    "residents": "the residents count",
    "build_year": "the year built",
    "new": "new or old (新建/老旧)",
    "care_room_area_m2": "the floor area of its elderly-care rooms",
    "care_land_area_m2": "the land allocated to elderly care",
    "floor_area_m2": "the compound's total building floor area",
    "lon": "the longitude",
    "lat": "the latitude",
}
"""What each compound field holds, for the messages."""

COMPOUND_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "households",
    "residents",
    "build_year",
    "new",
    "care_room_area_m2",
    "care_land_area_m2",
    "floor_area_m2",
)
"""Leading columns of :func:`read_compounds` (other input columns and geometry follow)."""

NEW_TEXTS: frozenset[str] = frozenset({"新建", "新", "new", "true", "t", "yes", "y", "是", "1"})
"""Cells of the ``new`` column read as a new compound (compared stripped and lower-case)."""

OLD_TEXTS: frozenset[str] = frozenset(
    {"老旧", "老", "旧", "old", "false", "f", "no", "n", "否", "0"}
)
"""Cells of the ``new`` column read as an old compound (compared stripped and lower-case)."""

_NUMBERS = (
    ("households", "a number of households"),
    ("residents", "a number of people"),
    ("care_room_area_m2", "a floor area in m²"),
    ("care_land_area_m2", "a land area in m²"),
    ("floor_area_m2", "a floor area in m²"),
)
_YEARS = (1800, 2100)
_ACCEPTED = ".gpkg .geojson .json .shp (polygons or points), .csv .xlsx .xls (lon/lat points)"


def read_compounds(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    coords: _coords.Coords = "wgs84",
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read residential compounds (小区): polygons, or points with longitude/latitude.

    Parameters
    ----------
    path : str or os.PathLike
        A polygon or point layer (``.gpkg``, ``.geojson``/``.json``, ``.shp``) carrying a CRS
        (reprojected to EPSG:4326), or a CSV or workbook (``.xlsx``, ``.xls``) with longitude
        and latitude columns (``lon``/``lat``, ``经度``/``纬度``).
    columns : mapping of str to str, optional
        Field → the file's column name, overriding :data:`COMPOUND_ALIASES`. Fields: ``id``
        (required), ``name``, ``households``, ``residents``, ``build_year``, ``new``
        (新建/新/new/true/是/1 or 老旧/老/旧/old/false/否/0; blank: decided by
        ``build_year``), ``care_room_area_m2`` (floor area of its elderly-care rooms, m²; 0
        when none), ``care_land_area_m2`` (land allocated to elderly care, m²),
        ``floor_area_m2`` (the compound's total building floor area, m²), and for tables
        ``lon``, ``lat``.
    coords : {"wgs84", "gcj02", "bd09"}
        The coordinate system of the locations; the last two need a table or a
        longitude/latitude layer.
    layer : str, optional
        The layer of a multi-layer file, or the sheet of a workbook.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per input row (none dropped), EPSG:4326, columns :data:`COMPOUND_COLUMNS`
        (numbers as floats, NaN where blank or where the file has no such column; ``new`` a
        nullable boolean), then every other input column, then ``geometry`` (Point, Polygon
        or MultiPolygon). ``attrs["columns"]`` maps each field found to the file's column.

    Raises
    ------
    InputError
        One line, for a missing or unreadable file, a layer without CRS, no ``id`` column, a
        blank or duplicate id, a non-numeric or negative number, a year outside 1800–2100, a
        ``new`` cell that is neither new nor old, a row without a location, or a geometry
        that is neither a polygon nor a point.

    """
    path = Path(path)
    system = _coords.check_system(coords)
    _check_path(path, csv_ok=True)
    table = is_table(path)
    _split_columns(columns, is_csv=table, path=path, aliases=COMPOUND_ALIASES, cli=True)
    frame = (
        read_table(path, sheet=layer, role="compounds", choose="--compounds-layer (layer=)")
        if table
        else _read_layer(path, layer, role="compounds")
    )
    return check_compounds_layer(frame, columns=columns, system=system, where=Where.of(path, frame))


def check_compounds_layer(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None,
    system: str,
    where: Where,
) -> gpd.GeoDataFrame:
    """Check a compound table or layer and give it the scheme of :func:`read_compounds`.

    ``frame`` is a GeoDataFrame (a layer, with a CRS) or a table with longitude/latitude
    columns, its column names stripped.
    """
    path = where.path
    if len(frame) == 0:
        msg = f"{path}: no data rows; expected one row per residential compound (小区)"
        raise InputError(msg)
    lonlat_table = not isinstance(frame, gpd.GeoDataFrame)
    own, lonlat = _split_columns(
        columns, is_csv=lonlat_table, path=path, aliases=COMPOUND_ALIASES, cli=True
    )
    used: set[str] = set()
    if lonlat_table:
        geoms, lonlat_cols = _csv_points(
            frame, columns=lonlat, system=system, where=where, layer="compounds"
        )
        used |= set(lonlat_cols.values())
    else:
        geoms = _layer_geometries(gpd.GeoDataFrame(frame), system=system, where=where)
    found = [c for c in _attribute_columns(frame) if c not in used]
    col = resolve_columns(
        found,
        aliases=COMPOUND_ALIASES,
        required=("id",),
        columns=own,
        path=path,
        layer="compounds",
        meanings=COMPOUND_MEANINGS,
    )
    fields = _fields(frame, col, where=where)
    others = _other_columns(frame, used | set(col.values()), COMPOUND_COLUMNS)
    out = gpd.GeoDataFrame(pd.concat([fields, others], axis=1), geometry=geoms, crs=4326)
    return _from_file(
        out.reset_index(drop=True),
        path,
        scheme="compounds",
        columns=col,
        sheet_rows=where.sheet_rows,
    )


def _layer_geometries(frame: gpd.GeoDataFrame, *, system: str, where: Where) -> gpd.GeoSeries:
    """WGS-84 polygons or points of a layer; a row without either stops with its row."""
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise where.bad_value(i, "geometry", None, "a polygon or a point")
    geoms = shapely.force_2d(geoms)
    kinds = shapely.get_type_id(geoms)
    single = (kinds == shapely.GeometryType.MULTIPOINT) & (shapely.get_num_geometries(geoms) == 1)
    geoms = np.where(single, shapely.get_geometry(geoms, 0), geoms)
    kinds = shapely.get_type_id(geoms)
    allowed = np.isin(
        kinds,
        [
            shapely.GeometryType.POINT,
            shapely.GeometryType.POLYGON,
            shapely.GeometryType.MULTIPOLYGON,
        ],
    )
    if not allowed.all():
        i = int(np.flatnonzero(~allowed)[0])
        raise where.bad_value(i, "geometry", geoms[i].geom_type, "a Polygon or a Point")
    invalid = ~shapely.is_valid(geoms)
    geoms[invalid] = shapely.make_valid(geoms[invalid])
    series = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    if CRS.from_user_input(frame.crs).is_geographic:
        xy = shapely.get_coordinates(geoms)
        _check_lonlat(xy[:, 0], xy[:, 1], where=where, lon_col="x", lat_col="y")
    return layer_to_wgs84(
        gpd.GeoDataFrame(geometry=series), system=system, path=where.path, role="compounds"
    )


def _fields(frame: pd.DataFrame, col: Mapping[str, str], *, where: Where) -> pd.DataFrame:
    """Check and convert the compound fields into the leading output columns."""
    ids = required_text(frame[col["id"]], where=where, column=col["id"], expected="an id")
    unique_ids(ids, where=where, column=col["id"])
    names = as_text(frame[col["name"]]) if "name" in col else list(ids)
    out = pd.DataFrame({"id": ids, "name": [n or i for n, i in zip(names, ids, strict=True)]})
    out.index = frame.index
    for field, what in _NUMBERS:
        out[field] = (
            numeric_column(frame[col[field]], where=where, column=col[field], what=what)
            if field in col
            else np.full(len(frame), np.nan)
        )
    out["build_year"] = (
        _years(frame[col["build_year"]], where=where, column=col["build_year"])
        if "build_year" in col
        else np.full(len(frame), np.nan)
    )
    out["new"] = (
        _new_or_old(frame[col["new"]], where=where, column=col["new"])
        if "new" in col
        else pd.array([pd.NA] * len(frame), dtype="boolean")
    )
    return out[list(COMPOUND_COLUMNS)]


def _years(values: pd.Series, *, where: Where, column: str) -> np.ndarray:
    """Years built, whole numbers within 1800–2100; NaN where blank."""
    years = numeric_column(values, where=where, column=column, what="a year", minimum=None)
    low, high = _YEARS
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(years) & ((years != np.round(years)) | (years < low) | (years > high))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise where.bad_value(i, column, values.iloc[i], f"a whole year within {low}–{high}")
    return years


def _new_or_old(values: pd.Series, *, where: Where, column: str) -> pd.arrays.BooleanArray:
    """The ``new`` column as True (new), False (old) or NA (blank)."""
    texts = pd.Series(as_text(values), index=values.index).str.lower()
    new = texts.isin(NEW_TEXTS).to_numpy()
    old = texts.isin(OLD_TEXTS).to_numpy()
    blank = (texts == "").to_numpy()
    bad = ~(new | old | blank)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        expected = "新建/new/true for a new compound, 老旧/old/false for an old one, or blank"
        raise where.bad_value(i, column, values.iloc[i], expected)
    out = pd.array(new, dtype="boolean")
    out[blank] = pd.NA
    return out
