"""Read the care table of the care map (关爱地图): older residents needing care, per community.

万州府办发〔2020〕28号 §二(二)6 asks a district to survey its older residents in special
hardship (高龄、独居、空巢、失能等特殊困难老年人) and draw a "care map" (关爱地图) of them
beside its services. :func:`read_care` reads such a table in one of two forms and returns
counts per community only (:class:`CareTable`):

* **counts**: one row per community, a ``community_id`` column (``社区编号``, ``编号``, ...)
  and count columns (:data:`CARE_ALIASES`);
* **records**: one row per person, with a location (``lon``/``lat``, WGS-84, GCJ-02 or BD-09,
  or ``x``/``y`` in a projected CRS) and a ``category`` column (空巢, 独居, 失能, 高龄, 困难;
  several in one cell separated by ``、`` or ``,``), with optional yes/no ``home_care_bed``
  and ``retrofit`` columns.

Records are counted per community as they are read; the rows themselves (names, ids, any
other column) are discarded there. Only the locations and categories, without any other
column and without their row order, stay in memory (:attr:`CareTable.homes`), so that
:func:`carecircle.pipeline.analyze` can count exactly who lives within each circle; no output
writes them. Messages about a record name its row and column, never its values.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from .. import coords as _coords
from .._validate import (
    NO_TEXTS,
    YES_NO_EXPECTED,
    YES_TEXTS,
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

logger = logging.getLogger(__name__)

CARE_CATEGORIES: tuple[str, ...] = (
    "empty_nest",
    "living_alone",
    "disabled",
    "aged_80",
    "hardship",
)
"""The groups of older residents the care map counts: 空巢, 独居, 失能/残疾, 高龄 (80+),
困难/特困."""

CARE_SERVICES: tuple[str, ...] = ("home_care_beds", "retrofits")
"""What the care map counts besides people: 家庭养老床位 and 适老化改造 (homes retrofitted)."""

CARE_FIELDS: tuple[str, ...] = ("people", *CARE_CATEGORIES, *CARE_SERVICES)
"""Every count of :attr:`CareTable.counts`, in order: people needing care first."""

CARE_LABELS_ZH: dict[str, str] = {
    "people": "需关爱老年人",
    "empty_nest": "空巢",
    "living_alone": "独居",
    "disabled": "失能/残疾",
    "aged_80": "高龄(80岁及以上)",
    "hardship": "困难/特困",
    "home_care_beds": "家庭养老床位",
    "retrofits": "适老化改造",
}
"""Each field's Chinese label (headers of the workbook and the map)."""

CARE_LABELS_EN: dict[str, str] = {
    "people": "Older residents needing care",
    "empty_nest": "Empty-nest",
    "living_alone": "Living alone",
    "disabled": "Disabled",
    "aged_80": "Aged 80+",
    "hardship": "In hardship",
    "home_care_beds": "Home-care beds",
    "retrofits": "Age-friendly retrofits",
}
"""Each field's English label."""

CARE_ALIASES: dict[str, tuple[str, ...]] = {
    "community_id": ("社区编号", "社区代码", "所属社区编号", "编号", "代码", "id"),
    "people": ("需关爱老年人", "需关爱老人", "合计", "总数", "total"),
    "empty_nest": ("空巢", "空巢老人", "空巢老年人"),
    "living_alone": ("独居", "独居老人", "独居老年人"),
    "disabled": ("失能", "失能老人", "失能/残疾", "残疾", "失能失智"),
    "aged_80": ("高龄", "高龄老人", "80岁以上", "80岁及以上"),
    "hardship": ("困难", "特困", "困难老人", "困难/特困", "特困人员"),
    "home_care_beds": ("家庭养老床位", "家庭养老床位数"),
    "retrofits": ("适老化改造", "适老化改造户数"),
}
"""Field → accepted headers of a counts table (the field name itself is always accepted)."""

RECORD_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("经度", "lng", "longitude"),
    "lat": ("纬度", "latitude"),
    "x": ("X坐标", "横坐标"),
    "y": ("Y坐标", "纵坐标"),
    "category": ("类别", "类型", "关爱类型", "困难类型", "人员类别"),
    "home_care_bed": ("家庭养老床位", "是否家庭养老床位"),
    "retrofit": ("适老化改造", "是否适老化改造"),
}
"""Field → accepted headers of a records table (one row per person)."""

CATEGORY_WORDS: dict[str, str] = {
    **dict.fromkeys(("空巢", "empty_nest", "emptynest", "empty-nest"), "empty_nest"),
    **dict.fromkeys(("独居", "living_alone", "alone"), "living_alone"),
    **dict.fromkeys(
        ("失能", "半失能", "失智", "失能失智", "残疾", "disabled", "disability"), "disabled"
    ),
    **dict.fromkeys(("高龄", "80+", "80岁以上", "80岁及以上", "aged_80", "aged80"), "aged_80"),
    **dict.fromkeys(("困难", "特困", "低保", "经济困难", "hardship"), "hardship"),
}
"""A record's category words (compared without case) → the category."""

_SEPARATORS = re.compile(r"[、，,;；|/+\s]+")
_CATEGORY_EXPECTED = (
    "one or more of 空巢, 独居, 失能 (残疾), 高龄, 困难 (特困) (or empty_nest, living_alone, "
    "disabled, aged_80, hardship), separated by 、 or ,"
)
_PRIVATE = "value not shown: care records are personal"

OUTSIDE = "outside the communities"
"""How outputs name the records whose location lies in no community."""


@dataclass(frozen=True)
class Homes:
    """Where the people of a records table live, for counting them inside circles; no rows.

    Attributes
    ----------
    lon, lat : numpy.ndarray
        WGS-84 degrees, in an order of their own (sorted, not the file's).
    community : numpy.ndarray
        The position of each one's community in the communities layer.
    flags : numpy.ndarray
        Boolean, one column per field of :data:`CARE_FIELDS` (``people`` always true).

    """

    lon: np.ndarray = field(repr=False)
    lat: np.ndarray = field(repr=False)
    community: np.ndarray = field(repr=False)
    flags: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.lon.size)


@dataclass(frozen=True)
class CareTable:
    """The care table, counted per community.

    Attributes
    ----------
    counts : pandas.DataFrame
        One row per community, in the layer's order: ``id``, then :data:`CARE_FIELDS` as
        floats (NaN: not given; a counts table may leave a column or a cell blank).
    form : {"counts", "records"}
        What the file held.
    people_basis : str
        What ``people`` counts: ``persons`` (records: each person once, whatever their
        categories), ``given`` (the counts table's own column) or ``sum of categories``
        (a counts table without one: a person in two categories counts twice).
    outside : dict of str to int
        Records whose location is in no community, per field (records only; empty else).
    source : str
        The file read.
    homes : Homes or None
        The records' locations and categories (records only), for
        :func:`carecircle.pipeline.analyze`; never written anywhere.

    """

    counts: pd.DataFrame
    form: str
    people_basis: str
    outside: Mapping[str, int] = field(default_factory=dict)
    source: str = ""
    homes: Homes | None = field(default=None, repr=False, compare=False)

    @property
    def exact(self) -> bool:
        """Whether the counts inside each circle are exact (records) or estimated (counts)."""
        return self.form == "records"


def read_care(
    path: str | os.PathLike[str],
    communities: gpd.GeoDataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    coords: _coords.Coords = "wgs84",
    crs: str | int | CRS | None = None,
    layer: str | None = None,
) -> CareTable:
    """Read a care table (counts per community, or one record per person) as counts.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV (UTF-8 or GB18030) or an Excel workbook (``.xlsx``, ``.xls``).
    communities : geopandas.GeoDataFrame
        The communities, as :func:`carecircle.inputs.read_communities` returns them (any CRS):
        their ``id`` names a counts table's communities; their polygons place records.
    columns : mapping of str to str, optional
        Field → the file's column, overriding :data:`CARE_ALIASES` / :data:`RECORD_ALIASES`.
    coords : {"wgs84", "gcj02", "bd09"}, keyword-only
        The system of a records table's ``lon``/``lat``.
    crs : str, int or pyproj.CRS, optional, keyword-only
        The projected CRS of a records table's ``x``/``y`` (required with them).
    layer : str, optional, keyword-only
        The workbook's sheet, when it has several.

    Returns
    -------
    CareTable

    Raises
    ------
    InputError
        One line: a missing file or column, an unknown or repeated community id, a count that
        is not a whole number ≥ 0, a record's location missing or not a number or out of
        range (its row and column named, its value not shown), an unknown category.

    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: care table not found"
        raise InputError(msg)
    if not is_table(path):
        msg = f"{path}: a care table is a .csv, .xlsx or .xls file; found {path.suffix!r}"
        raise InputError(msg)
    frame = read_table(path, sheet=layer, role="care", choose="--care-layer (layer= in Python)")
    where = Where.of(path, frame)
    if len(frame) == 0:
        msg = f"{path}: no data rows; expected one row per community or per person"
        raise InputError(msg)
    found = [str(c) for c in frame.columns]
    user = dict(columns or {})
    located = any(f in user for f in ("lon", "lat", "x", "y")) or bool(
        resolve_columns(
            found,
            aliases={k: RECORD_ALIASES[k] for k in ("lon", "lat", "x", "y")},
            required=(),
            columns=None,
            path=path,
            layer=None,
        )
    )
    if located:
        return _records(frame, communities, where=where, columns=user, coords=coords, crs=crs)
    return _counts(frame, communities, where=where, columns=user)


def _community_ids(communities: gpd.GeoDataFrame) -> list[str]:
    return [str(v) for v in communities["id"].tolist()]


def _counts(
    frame: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    *,
    where: Where,
    columns: Mapping[str, str],
) -> CareTable:
    """A counts table: one row per community, checked and set in the layer's order."""
    path = where.path
    col = resolve_columns(
        [str(c) for c in frame.columns],
        aliases=CARE_ALIASES,
        required=("community_id",),
        columns=columns,
        path=path,
        layer="care",
    )
    counted = [f for f in CARE_FIELDS if f in col]
    if not counted:
        accepted = ", ".join(f"{f} ({CARE_ALIASES[f][0]})" for f in CARE_FIELDS)
        msg = f"{path}: no count column found; expected at least one of {accepted}"
        raise InputError(msg)
    id_col = col["community_id"]
    ids = required_text(frame[id_col], where=where, column=id_col, expected="a community id")
    unique_ids(ids, where=where, column=id_col)
    known = _community_ids(communities)
    position = {cid: i for i, cid in enumerate(known)}
    for row, cid in enumerate(ids):
        if cid not in position:
            raise where.bad_value(
                row, id_col, cid, "the id of a community in the communities layer"
            )
    out = pd.DataFrame({"id": known})
    rows = np.array([position[cid] for cid in ids], dtype=np.int64)
    for name in CARE_FIELDS:
        values = np.full(len(known), np.nan)
        if name in col:
            read = numeric_column(
                frame[col[name]], where=where, column=col[name], what="a whole number of people"
            )
            whole = np.isnan(read) | (read == np.round(read))
            if not whole.all():
                bad = int(np.flatnonzero(~whole)[0])
                raise where.bad_value(
                    bad, col[name], frame[col[name]].iloc[bad], "a whole number ≥ 0"
                )
            values[rows] = read
        out[name] = values
    basis = "given"
    if "people" not in col:
        cats = out[list(CARE_CATEGORIES)]
        out["people"] = cats.sum(axis=1, min_count=1)
        basis = "sum of categories"
    return CareTable(out, form="counts", people_basis=basis, source=str(path))


def _records(
    frame: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    *,
    where: Where,
    columns: Mapping[str, str],
    coords: str,
    crs: str | int | CRS | None,
) -> CareTable:
    """A records table: each person placed in a community and counted; the rows dropped."""
    path = where.path
    system = _coords.check_system(coords)
    col = resolve_columns(
        [str(c) for c in frame.columns],
        aliases=RECORD_ALIASES,
        required=("category",),
        columns=columns,
        path=path,
        layer="care",
    )
    if "lon" in col and "lat" in col:
        lon = _coordinate(frame, col["lon"], where=where, limit=180.0, what="a longitude")
        lat = _coordinate(frame, col["lat"], where=where, limit=90.0, what="a latitude")
        lon, lat = _coords.to_wgs84(lon, lat, system=system)
    elif "x" in col and "y" in col:
        if crs is None:
            msg = (
                f"{path}: columns {col['x']!r}/{col['y']!r} hold x/y; name their CRS with "
                "--care-crs (crs= in Python), e.g. EPSG:4545"
            )
            raise InputError(msg)
        lon, lat = _projected(frame, col, where=where, crs=crs)
    else:
        have = ", ".join(sorted(col))
        msg = (
            f"{path}: a records table needs both lon and lat (经度/纬度) or both x and y; "
            f"found only {have}"
        )
        raise InputError(msg)
    flags = np.zeros((len(frame), len(CARE_FIELDS)), dtype=bool)
    flags[:, 0] = True
    flags[:, 1 : 1 + len(CARE_CATEGORIES)] = _categories(
        frame[col["category"]], where=where, column=col["category"]
    )
    for j, name in enumerate(("home_care_bed", "retrofit"), start=1 + len(CARE_CATEGORIES)):
        if name in col:
            flags[:, j] = _yes(frame[col[name]], where=where, column=col[name])
    del frame  # the rows end here: only locations and flags go on
    community = _place(lon, lat, communities)
    inside = community >= 0
    n = len(communities)
    counts = pd.DataFrame({"id": _community_ids(communities)})
    for j, name in enumerate(CARE_FIELDS):
        counts[name] = np.bincount(community[inside], weights=flags[inside, j], minlength=n).astype(
            float
        )
    outside = {name: int(flags[~inside, j].sum()) for j, name in enumerate(CARE_FIELDS)}
    if outside["people"]:  # how many is not said here: a small count is withheld in the outputs
        logger.warning(
            "%s: some records lie in no community; they are counted apart (care_outside_people "
            "in district.csv), not in any community",
            path,
        )
    order = np.lexsort((lat[inside], lon[inside], community[inside]))  # not the file's order
    homes = Homes(
        lon=lon[inside][order],
        lat=lat[inside][order],
        community=community[inside][order],
        flags=flags[inside][order],
    )
    return CareTable(
        counts,
        form="records",
        people_basis="persons",
        outside=outside,
        source=str(path),
        homes=homes,
    )


def _bad_record(where: Where, position: int, column: str, expected: str) -> InputError:
    """A record's bad cell: its row and column, never its value."""
    msg = f"{where.path}: {where.row(position)}, column {column!r}: {_PRIVATE}; expected {expected}"
    return InputError(msg)


def _coordinate(
    frame: pd.DataFrame, column: str, *, where: Where, limit: float | None, what: str
) -> np.ndarray:
    """One coordinate column as floats; the first bad cell is an error naming only its row."""
    text = pd.Series(as_text(frame[column]))
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if limit is not None:
        bad |= np.abs(np.where(bad, 0.0, values)) > limit
    if bad.any():
        expected = f"{what} in degrees within ±{limit:g}" if limit is not None else what
        raise _bad_record(where, int(np.flatnonzero(bad)[0]), column, expected)
    return values


def _projected(
    frame: pd.DataFrame, col: Mapping[str, str], *, where: Where, crs: str | int | CRS
) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lon/lat of the records' x/y in ``crs``."""
    try:
        source = CRS.from_user_input(crs)
    except CRSError as exc:
        msg = f"--care-crs {str(crs)!r}: not a coordinate reference system; expected e.g. EPSG:4545"
        raise InputError(msg) from exc
    if not source.is_projected:
        msg = (
            f"--care-crs {str(crs)!r}: {source.name} is not a projected CRS; give lon/lat "
            "columns with --care-coords instead"
        )
        raise InputError(msg)
    x = _coordinate(frame, col["x"], where=where, limit=None, what="an x coordinate in metres")
    y = _coordinate(frame, col["y"], where=where, limit=None, what="a y coordinate in metres")
    lon, lat = Transformer.from_crs(source, 4326, always_xy=True).transform(x, y)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        raise _bad_record(
            where, int(np.flatnonzero(bad)[0]), col["x"], f"a location inside {source.name}"
        )
    return lon, lat


def _categories(values: pd.Series, *, where: Where, column: str) -> np.ndarray:
    """Each record's categories, one boolean column per :data:`CARE_CATEGORIES`."""
    texts = pd.Series(as_text(values), dtype=object).str.lower().reset_index(drop=True)
    index = {name: j for j, name in enumerate(CARE_CATEGORIES)}
    words = {k.lower(): index[v] for k, v in CATEGORY_WORDS.items()}
    whole = texts.map(words)  # a whole cell such as 失能/残疾 or 80+ first, then its parts
    parts = texts.where(whole.isna(), "").str.split(_SEPARATORS).explode()
    parts = parts.loc[parts.astype(bool)]
    found = parts.map(words)
    bad = np.zeros(len(texts), dtype=bool)
    bad[found.index[found.isna()].to_numpy(dtype=np.int64)] = True
    bad |= whole.isna().to_numpy() & ~np.isin(np.arange(len(texts)), parts.index.to_numpy())
    if bad.any():
        raise _bad_record(where, int(np.flatnonzero(bad)[0]), column, _CATEGORY_EXPECTED)
    out = np.zeros((len(texts), len(CARE_CATEGORIES)), dtype=bool)
    rows = np.concatenate([np.flatnonzero(whole.notna()), parts.index.to_numpy(dtype=np.int64)])
    cols = np.concatenate([whole.dropna().to_numpy(dtype=np.int64), found.to_numpy(np.int64)])
    out[rows, cols] = True
    return out


def _yes(values: pd.Series, *, where: Where, column: str) -> np.ndarray:
    """A yes/no column as booleans (blank: no)."""
    texts = pd.Series(as_text(values), dtype=object).str.lower()
    bad = (texts != "") & ~texts.isin(YES_TEXTS | NO_TEXTS)
    if bad.any():
        raise _bad_record(where, int(np.flatnonzero(bad.to_numpy())[0]), column, YES_NO_EXPECTED)
    return texts.isin(YES_TEXTS).to_numpy()


def _place(lon: np.ndarray, lat: np.ndarray, communities: gpd.GeoDataFrame) -> np.ndarray:
    """Each point's community position (the first whose polygon holds it), -1 for none."""
    polygons = np.asarray(communities.to_crs(4326).geometry.values)
    points = shapely.points(lon, lat)
    hit, poly = shapely.STRtree(polygons).query(points, predicate="intersects")
    community = np.full(lon.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(community, hit, poly.astype(np.int64))
    return np.where(community == np.iinfo(np.int64).max, -1, community)
