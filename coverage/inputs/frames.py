"""Check a user's own GeoDataFrames as the readers check files (the API boundary).

:func:`communities_from_frame` and :func:`facilities_from_frame` take a frame built in Python
with the documented columns (by name, by the readers' Chinese or English aliases, or by a
``columns`` mapping) and return what :func:`~carecircle.inputs.read_communities` and
:func:`~carecircle.inputs.read_facilities` return: the same column scheme, in EPSG:4326, after
the same checks (:func:`carecircle.inputs.readers.check_communities`,
:func:`carecircle.inputs.readers.check_facilities`), with messages that name the frame instead
of a file. A frame the readers returned passes through as it is, unchecked a second time.
:func:`carecircle.pipeline.analyze` calls both on the layers it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import coords as _coords
from .._validate import Where, strip_column_names
from ..errors import InputError
from .readers import (
    COMMUNITY_COLUMNS,
    FACILITY_COLUMNS,
    check_communities,
    check_facilities,
    tidy_layer,
)

_SCHEMES: dict[str, tuple[str, ...]] = {
    "communities": COMMUNITY_COLUMNS,
    "facilities": FACILITY_COLUMNS,
}
"""The leading columns of each scheme."""

_NUMBERS: dict[str, tuple[str, ...]] = {
    "communities": ("population", "elderly"),
    "facilities": ("area_m2", "beds", "nursing_beds"),
}
"""The float columns of each scheme; the others are text."""

_WORKED_OUT = ("input_status", "input_note")
"""Community columns the check works out (from the geometry and population): a frame's own
are replaced."""


def communities_from_frame(
    frame: gpd.GeoDataFrame,
    *,
    name: str = "communities",
    columns: Mapping[str, str] | None = None,
    coords: _coords.Coords = "wgs84",
) -> gpd.GeoDataFrame:
    """Check a GeoDataFrame of community boundaries as :func:`read_communities` checks a file.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Polygons with a CRS (any; reprojected to EPSG:4326) and the columns
        :func:`~carecircle.inputs.read_communities` reads: ``id``, ``name``, ``population``
        (required), ``elderly``, ``kind``, ``township``, ``shared_station``, by name or by an
        alias of :data:`~carecircle.inputs.COMMUNITY_ALIASES` (``人口``, ``60岁以上人口``, ...).
        ``input_status`` and ``input_note``, if present, are worked out again. Not modified.
    name : str, keyword-only
        What messages call the frame (where a file's would name the file).
    columns : mapping of str to str, optional, keyword-only
        Field → the frame's column name, overriding the aliases.
    coords : {"wgs84", "gcj02", "bd09"}, keyword-only
        The coordinate system of the vertices (GCJ-02 and BD-09 need a longitude/latitude
        CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`~carecircle.inputs.read_communities` returns (EPSG:4326, columns
        :data:`~carecircle.inputs.COMMUNITY_COLUMNS` first, index 0..n-1); ``frame`` itself
        when the readers returned it (with another CRS: reprojected), unchanged since as far as
        its columns and their types show.

    Raises
    ------
    InputError
        For a frame that is not a GeoDataFrame, has no CRS or no rows, and for everything the
        reader refuses in a file (naming ``name``, the row, the column and the value).
    MissingColumnError
        For a missing required column.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import shapely
    >>> from carecircle.inputs import communities_from_frame
    >>> mine = gpd.GeoDataFrame(
    ...     {"编号": ["A"], "名称": ["甲社区"], "人口": [1200], "60岁以上人口": [300]},
    ...     geometry=[shapely.box(106.50, 29.50, 106.51, 29.51)],
    ...     crs=4326,
    ... )
    >>> communities_from_frame(mine)[["id", "population", "elderly", "kind", "input_status"]]
      id  population  elderly   kind input_status
    0  A      1200.0    300.0  urban           ok
    >>> communities_from_frame(mine.drop(columns="人口"))
    Traceback (most recent call last):
    ...
    carecircle.errors.MissingColumnError: communities: missing required column for 'population' ...

    """
    if columns is None and coords == "wgs84" and _passes(frame, "communities"):
        return _in_wgs84(frame)
    system = _coords.check_system(coords)
    layer = _layer(frame, name=name, noun="community", expected="a GeoDataFrame of polygons")
    layer = layer.drop(columns=[c for c in _WORKED_OUT if c in layer])
    return check_communities(
        layer, columns=columns, system=system, where=Where(Path(name)), cli=False
    )


def facilities_from_frame(
    frame: pd.DataFrame,
    *,
    name: str = "facilities",
    columns: Mapping[str, str] | None = None,
    coords: _coords.Coords = "wgs84",
) -> gpd.GeoDataFrame:
    """Check a frame of facilities as :func:`read_facilities` checks a file.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame or pandas.DataFrame
        Points with a CRS (any; reprojected to EPSG:4326), or a plain table with longitude and
        latitude columns (``lon``/``lat``, ``经度``/``纬度``, ...) as in a CSV; with the columns
        :func:`~carecircle.inputs.read_facilities` reads: ``id``, ``name``, ``tier``
        (required), ``area_m2``, ``beds``, ``nursing_beds`` and the optional ones, by name or
        by an alias of :data:`~carecircle.inputs.FACILITY_ALIASES`. Not modified.
    name : str, keyword-only
        What messages call the frame.
    columns : mapping of str to str, optional, keyword-only
        Field → the frame's column name, overriding the aliases (and ``lon``, ``lat`` for a
        plain table).
    coords : {"wgs84", "gcj02", "bd09"}, keyword-only
        The coordinate system of the locations (GCJ-02 and BD-09 need longitude/latitude).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`~carecircle.inputs.read_facilities` returns (EPSG:4326, columns
        :data:`~carecircle.inputs.FACILITY_COLUMNS` first, index 0..n-1); ``frame`` itself
        when the readers returned it (with another CRS: reprojected).

    Raises
    ------
    InputError
        For a frame that is neither a GeoDataFrame nor a DataFrame, a GeoDataFrame without a
        CRS, no rows, and everything the reader refuses in a file.
    MissingColumnError
        For a missing required column.

    Examples
    --------
    >>> import pandas as pd
    >>> from carecircle.inputs import facilities_from_frame
    >>> table = pd.DataFrame(
    ...     {"id": ["S1"], "name": ["一号站"], "等级": ["社区养老服务站"],
    ...      "lon": [106.5], "lat": [29.5]}
    ... )
    >>> facilities_from_frame(table)[["id", "tier", "area_m2", "geometry"]]
       id               tier  area_m2               geometry
    0  S1  community_station      NaN  POINT (106.5 29.5)

    """
    if columns is None and coords == "wgs84" and _passes(frame, "facilities"):
        return _in_wgs84(frame)
    system = _coords.check_system(coords)
    where = Where(Path(name))
    if isinstance(frame, gpd.GeoDataFrame):
        table: pd.DataFrame = _layer(
            frame, name=name, noun="facility", expected="a GeoDataFrame of points"
        )
    elif isinstance(frame, pd.DataFrame):
        table = strip_column_names(frame, path=Path(name))  # rows: counted as in a CSV
    else:
        msg = (
            f"{name}: found a {type(frame).__name__}; expected a GeoDataFrame of points or a "
            "DataFrame with longitude/latitude columns"
        )
        raise InputError(msg)
    return check_facilities(table, columns=columns, system=system, where=where, cli=False)


def _passes(frame: object, scheme: str) -> bool:
    """Whether ``frame`` is a layer the readers returned, its columns and types as they were.

    Cheap: a look at ``attrs``, the column names, the CRS and a few dtypes, never at the rows.
    """
    if not isinstance(frame, gpd.GeoDataFrame) or frame.attrs.get("scheme") != scheme:
        return False
    leading = _SCHEMES[scheme]
    names = tuple(frame.columns[: len(leading)])
    if names != leading or not frame.columns.is_unique or frame.crs is None:
        return False
    if frame.active_geometry_name != "geometry" or "geometry" not in frame:
        return False
    numbers = _NUMBERS[scheme]
    return all(
        frame[c].dtype == np.float64 if c in numbers else pd.api.types.is_string_dtype(frame[c])
        for c in leading
    )


def _in_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` itself in EPSG:4326, or reprojected to it."""
    return frame if frame.crs.equals("EPSG:4326") else frame.to_crs(4326)


def _layer(frame: object, *, name: str, noun: str, expected: str) -> gpd.GeoDataFrame:
    """The frame as the readers' checks take a layer, after the checks a file gets on reading.

    A GeoDataFrame with an active geometry column, a CRS and rows; its geometry column named
    ``geometry`` and its column names stripped (a copy).
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        msg = f"{name}: found a {type(frame).__name__}; expected {expected} with a CRS"
        raise InputError(msg)
    if frame.active_geometry_name not in frame:
        msg = (
            f"{name}: the GeoDataFrame has no active geometry column; expected {expected} "
            "(choose the column with .set_geometry())"
        )
        raise InputError(msg)
    _coords.check_crs(frame.crs, what=f"{name}: the GeoDataFrame")
    if len(frame) == 0:
        msg = f"{name}: no data rows; expected one row per {noun}"
        raise InputError(msg)
    return tidy_layer(frame, path=Path(name))
