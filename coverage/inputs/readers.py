"""Read and check the user's community boundaries and service facilities.

Both readers return GeoDataFrames in EPSG:4326 with a fixed column scheme, converting GCJ-02
(Gaode/Tencent) or BD-09 (Baidu) coordinates to WGS-84 when asked. Anything wrong with the
files raises :class:`~carecircle.errors.InputError` with a one-line message naming the file,
row, column and value; no library traceback reaches the user.

Community output columns, in order::

    id, name, population, elderly, kind, township, input_status, input_note,
    <every other input column, unchanged>, geometry

Facility output columns, in order::

    id, name, tier, area_m2, beds, nursing_beds, <every other input column>, geometry

Headers are matched to fields by name, by the built-in Chinese and English aliases
(:data:`COMMUNITY_ALIASES`, :data:`FACILITY_ALIASES`) or by an explicit ``columns`` mapping.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from .. import coords as _coords
from .._excel import SHEET_ROWS
from .._validate import (
    YES_NO_FIELDS,
    Where,
    as_text,
    big5_example,
    is_table,
    numeric_column,
    read_table,
    required_text,
    resolve_columns,
    strip_column_names,
    unique_ids,
    yes_no_column,
)
from ..errors import InputError
from ..terms import (
    ELDERCARE_TIERS as ELDERCARE_TIERS,
)
from ..terms import (
    HEALTH_TIERS as HEALTH_TIERS,
)
from ..terms import (
    INPUT_STATUSES as INPUT_STATUSES,
)
from ..terms import (
    KIND_NAMES,
    TIER_NAMES,
)
from ..terms import (
    KINDS as KINDS,
)
from ..terms import (
    MEAL_TIERS as MEAL_TIERS,
)
from ..terms import (
    TIER_LABELS_EN as TIER_LABELS_EN,
)
from ..terms import (
    TIER_LABELS_ZH as TIER_LABELS_ZH,
)
from ..terms import (
    TIERS as TIERS,
)
from ..terms import (
    tier_name as tier_name,
)

logger = logging.getLogger(__name__)

COMMUNITY_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "代码", "统计代码", "区划代码", "code"),
    "name": ("名称", "社区名称", "村名称", "社区(村)名称", "村(社区)名称"),
    "population": ("人口", "常住人口", "户籍人口", "总人口", "pop"),
    "elderly": ("60岁以上人口", "老年人口", "60岁及以上人口"),
    "kind": ("类型", "城乡类型"),
    "township": ("街道", "乡镇", "街道(乡镇)", "所属街道"),
    "shared_station": (),
}
"""Field → accepted headers for community layers (the field name itself is always accepted)."""

COMMUNITY_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "id": ("社区编号", "社区代码", "村编号", "区划编码", "统计用区划代码", "行政区划代码", "编码"),
    "name": ("社区", "社区名", "村名", "居委会名称", "村委会名称", "community", "village"),
    "population": (
        "人口数",
        "人口总数",
        "总人数",
        "常住人口数",
        "户籍人口数",
        "居民人数",
        "population_total",
        "total_population",
        "residents",
    ),
    "elderly": (
        "老年人数",
        "老年人口数",
        "老年人",
        "老人数",
        "老龄人口",
        "60周岁及以上人口",
        "60周岁以上人口",
        "60岁以上老人",
        "60岁及以上老人",
        "60岁以上人数",
        "65岁以上",
        "65岁以上人口",
        "65岁及以上人口",
        "65周岁及以上人口",
        "older",
        "elderly_pop",
        "elderly_population",
        "pop_60",
        "pop60",
        "over60",
        "pop_65",
        "over65",
    ),
    "kind": ("城乡", "城乡属性", "城乡分类", "社区类型", "urban_rural"),
    "township": ("街镇", "镇街", "所属乡镇", "所属街道(乡镇)", "town", "street"),
}
"""Field → headers that suggest the field but are not read as it unless mapped (``65岁以上``
counts another age; ``老年人数`` may not be 60+): a warning names them, with the ``--column``
to use. A header is compared without spaces, case or a trailing unit (``人口（人）``)."""

COMMUNITY_OPTIONAL: tuple[str, ...] = ("shared_station",)
"""Community fields kept as text under their field name, among the other input columns."""

FACILITY_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "代码"),
    "name": ("名称", "设施名称"),
    "tier": ("等级", "设施类型", "层级"),
    "area_m2": ("建筑面积", "面积"),
    "beds": ("床位", "床位数"),
    "nursing_beds": ("护理床位", "护理型床位"),
    "community_id": (),
    "township": (),
    "social_operated": (),
    "medical_capable": (),
}
"""Field → accepted headers for facility files (the field name itself is always accepted)."""

FACILITY_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "id": ("设施编号", "机构编号", "机构代码", "编码"),
    "name": ("机构名称", "机构名", "设施名", "单位名称", "facility", "facility_name"),
    "tier": ("类型", "类别", "机构类型", "设施等级", "type", "level", "category"),
    "area_m2": ("建设面积", "使用面积", "用房面积", "房屋面积", "area", "floor_area"),
    "beds": ("床位数量", "床位总数", "总床位", "总床位数", "床数", "bed", "bed_count"),
    "nursing_beds": ("护理床位数", "护理型床位数", "nursing_bed", "nursing"),
    "community_id": ("所属社区", "所在社区", "社区编号", "社区代码"),
    "township": ("街道", "乡镇", "所属街道", "所属乡镇", "街道(乡镇)", "街镇"),
    "social_operated": ("社会化运营", "是否社会化运营", "运营方式", "社会力量运营"),
    "medical_capable": ("医养结合", "是否医养结合", "具备医疗能力"),
}
"""Field → headers that suggest a facility field but are not read as it unless mapped; see
:data:`COMMUNITY_LOOKALIKES`."""

FACILITY_OPTIONAL: tuple[str, ...] = (
    "community_id",
    "township",
    "social_operated",
    "medical_capable",
)
"""Facility fields kept under their field name, among the other input columns: ids and
townships as text, the yes/no flags (see :data:`carecircle._validate.YES_TEXTS`) as found."""

_LONLAT_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("经度", "lng", "longitude"),
    "lat": ("纬度", "latitude"),
}

_LONLAT_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "lon": ("x", "东经", "long", "经度坐标"),
    "lat": ("y", "北纬", "纬度坐标"),
}

COMMUNITY_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "population",
    "elderly",
    "kind",
    "township",
    "input_status",
    "input_note",
)
"""Leading columns of :func:`read_communities` (other input columns and geometry follow)."""

FACILITY_COLUMNS: tuple[str, ...] = ("id", "name", "tier", "area_m2", "beds", "nursing_beds")
"""Leading columns of :func:`read_facilities` (other input columns and geometry follow)."""

LAYER_SUFFIXES: tuple[str, ...] = (".gpkg", ".geojson", ".json", ".shp")
"""File suffixes read as GIS layers."""

SHAPEFILE_ENCODINGS: tuple[str, ...] = ("UTF-8", "GB18030")
"""Encodings tried in turn for a shapefile's attributes when no .cpg file names one."""

_ACCEPTED = ".gpkg .geojson .json .shp .csv .xlsx .xls (facilities only)"
_LONLAT_EPSG = (4326, 4490)  # WGS 84 and CGCS2000, both longitude/latitude


# --- files ---------------------------------------------------------------------------------


def _check_path(path: Path, *, csv_ok: bool) -> str:
    """Return the lower-case suffix of an existing file of an accepted kind."""
    if not path.exists():
        msg = f"{path}: file not found"
        raise InputError(msg)
    suffix = path.suffix.lower()
    if is_table(path) and not csv_ok:
        what = "a CSV" if suffix == ".csv" else "an Excel table"
        msg = (
            f"{path}: communities must be a polygon layer ({' '.join(LAYER_SUFFIXES)}); "
            f"{what} has no boundaries"
        )
        raise InputError(msg)
    if suffix not in LAYER_SUFFIXES and not is_table(path):
        msg = f"{path}: unsupported file type {suffix or '(none)'!r}; expected one of {_ACCEPTED}"
        raise InputError(msg)
    return suffix


def _pick_layer(path: Path, layer: str | None, *, role: str, accepted: str = _ACCEPTED) -> str:
    """The layer of ``path`` to read: ``layer``, the one named ``role``, or the only one.

    ``accepted`` lists the file kinds accepted, for the message when the file is not one.
    """
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        msg = f"{path}: cannot be read as a GIS layer ({exc}); expected one of {accepted}"
        raise InputError(msg) from exc
    names = [str(name) for name, _ in layers]
    spatial = [str(name) for name, geom_type in layers if geom_type is not None]
    if layer is not None:
        if layer not in names:
            msg = f"{path}: no layer {layer!r}; layers found: {', '.join(map(repr, names))}"
            raise InputError(msg)
        return layer
    if role in spatial:
        return role  # e.g. the "communities" layer of a carecircle GeoPackage
    if len(spatial) > 1:
        msg = (
            f"{path}: holds {len(spatial)} layers ({', '.join(map(repr, spatial))}); "
            f"choose one with --{role}-layer (layer= in Python)"
        )
        raise InputError(msg)
    if not names:
        msg = f"{path}: holds no layer; expected a layer with geometries"
        raise InputError(msg)
    return spatial[0] if spatial else names[0]


def _dbf_texts(dbf: Path) -> bytes:
    """The bytes of a .dbf that hold text: its field names and its records."""
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 32 else len(raw)
    names = [
        raw[at : at + 11].split(b"\0", 1)[0]
        for at in range(32, header_len - 32 + 1, 32)
        if raw[at : at + 1] != b"\r"
    ]
    return b" ".join(names) + b" " + raw[header_len:].rstrip(b"\x1a")


def _shapefile_encoding(path: Path) -> str | None:
    """The encoding to read a .shp's attributes with, or None to let GDAL decide.

    GDAL decides when a .cpg file names the encoding or the .dbf's language driver byte does;
    without either it would read Latin-1, which garbles Chinese names silently (GBK files from
    ArcGIS often come without a .cpg). Then the .dbf's text is tried as UTF-8, then GB18030;
    text that appears to be Big5 (see :func:`carecircle._validate.big5_example`) is refused.
    """
    siblings = {p.name.lower(): p for p in path.parent.glob(f"{glob.escape(path.stem)}.*")}
    dbf = siblings.get(f"{path.stem.lower()}.dbf")
    if f"{path.stem.lower()}.cpg" in siblings or dbf is None:
        return None
    raw = dbf.read_bytes()
    if len(raw) > 29 and raw[29] != 0:
        return None  # the language driver byte names a code page; GDAL reads it
    texts = _dbf_texts(dbf)
    for encoding in SHAPEFILE_ENCODINGS:
        try:
            decoded = texts.decode(encoding)
        except UnicodeDecodeError:
            continue
        big5 = big5_example(texts, decoded) if encoding == "GB18030" else None
        if big5 is not None:
            msg = (
                f"{dbf}: no .cpg file names the encoding and the attributes appear to be in Big5 "
                f"(traditional Chinese: {big5[0]!r}), which would be read as GB18030 into "
                f"{big5[1]!r}; write BIG5 in {path.stem}.cpg beside {path.name}, or save the "
                "layer as UTF-8"
            )
            raise InputError(msg)
        if not texts.isascii():
            logger.warning(
                "%s: no .cpg file names the encoding of %s; read as %s "
                "(write the encoding's name in %s.cpg to choose another)",
                path,
                dbf.name,
                encoding,
                path.stem,
            )
        return encoding
    tried = " nor ".join(SHAPEFILE_ENCODINGS)
    msg = (
        f"{dbf}: no .cpg file names the encoding and the attributes decode as neither {tried}; "
        f"expected a .cpg file beside {path.name} holding the encoding's name (e.g. GBK)"
    )
    raise InputError(msg)


def open_layer(
    path: Path, layer: str | None, *, role: str, accepted: str = _ACCEPTED
) -> tuple[gpd.GeoDataFrame, str]:
    """Read a layer of a GIS file as it is, with its text decoded; return it and its name.

    The layer is ``layer``, else the one named ``role``, else the only one (see
    :func:`_pick_layer`). A Shapefile without a ``.cpg`` is decoded as
    :func:`_shapefile_encoding` finds, a DXF drawing without a code page as
    :func:`_dxf_encoding` finds. Its CRS and rows are not checked here.

    Parameters
    ----------
    path : pathlib.Path
        The file (or a File Geodatabase's ``.gdb`` folder).
    layer : str or None
        The layer to read, or None to find it.
    role : str, keyword-only
        ``communities``, ``facilities``, ``network``...: a layer of that name is read when
        ``layer`` is None, and the messages name ``--<role>-layer``.
    accepted : str, keyword-only
        The file kinds accepted, for the message when the file is not one.

    Raises
    ------
    InputError
        When the file cannot be read or its layer has no geometry column.

    """
    name = _pick_layer(path, layer, role=role, accepted=accepted)
    suffix = path.suffix.lower()
    encoding = _shapefile_encoding(path) if suffix == ".shp" else None
    dxf = _dxf_encoding(path) if suffix == ".dxf" else None
    try:
        with _gdal_config({"DXF_ENCODING": dxf} if dxf else {}):
            frame = pyogrio.read_dataframe(path, layer=name, encoding=encoding)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        msg = f"{path}: cannot read layer {name!r} ({exc}); expected one of {accepted}"
        raise InputError(msg) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        msg = f"{path}: layer {name!r} has no geometry column; expected a GIS layer"
        raise InputError(msg)
    return frame, name


def _read_layer(path: Path, layer: str | None, *, role: str) -> gpd.GeoDataFrame:
    frame, name = open_layer(path, layer, role=role)
    _coords.check_crs(frame.crs, what=f"{path}: layer {name!r}")
    if len(frame) == 0:
        msg = f"{path}: layer {name!r} has no features; expected at least one"
        raise InputError(msg)
    return tidy_layer(frame, path=path)


@contextmanager
def _gdal_config(options: Mapping[str, str]) -> Iterator[None]:
    """Set GDAL configuration options for the block, restoring their values after it."""
    saved = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(saved)


_DXF_HEADER = re.compile(rb"\$(ACADVER|DWGCODEPAGE)\s*\r?\n\s*\d+\s*\r?\n([^\r\n]*)")


def _dxf_encoding(path: Path) -> str | None:
    """The encoding to read a DXF drawing's text with, or None to let GDAL decide.

    GDAL reads a drawing's text in the code page its header names (``$DWGCODEPAGE``; always
    UTF-8 from AutoCAD 2007, ``$ACADVER`` AC1021, on). A drawing that names none, or names
    ``ANSI_1252`` (western European: what GDAL itself writes, whatever the text), would have its
    Chinese layer names garbled silently. Then the text is tried as UTF-8, then GB18030, as a
    Shapefile's without a ``.cpg``, and a line says which was assumed.
    """
    raw = path.read_bytes()
    header = {
        key.decode(): value.strip().decode("ascii", "replace")
        for key, value in _DXF_HEADER.findall(raw[: 1 << 16])
    }
    if header.get("ACADVER", "AC1009") >= "AC1021" or raw.isascii():
        return None
    if header.get("DWGCODEPAGE", "ANSI_1252").upper() != "ANSI_1252":
        return None
    for encoding in SHAPEFILE_ENCODINGS:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        logger.warning(
            "%s: the drawing names no code page for its text (or the western ANSI_1252); read "
            "as %s",
            path,
            encoding,
        )
        return encoding
    tried = " nor ".join(SHAPEFILE_ENCODINGS)
    msg = (
        f"{path}: the drawing names no code page for its text and it decodes as neither "
        f"{tried}; save it again from CAD (AutoCAD 2007 or later writes UTF-8)"
    )
    raise InputError(msg)


def tidy_layer(frame: gpd.GeoDataFrame, *, path: Path) -> gpd.GeoDataFrame:
    """A copy of ``frame`` with its geometry column named ``geometry`` and names stripped.

    Raises
    ------
    InputError
        If two columns have the same name once stripped (see
        :func:`carecircle._validate.strip_column_names`).

    """
    geometry = frame.geometry.name
    frame = frame.rename_geometry("geometry") if geometry != "geometry" else frame
    return strip_column_names(frame, path=path)


def _is_lonlat(crs: CRS) -> bool:
    return bool(crs.is_geographic and crs.to_epsg() in _LONLAT_EPSG) or crs.equals(
        CRS.from_epsg(4326), ignore_axis_order=True
    )


_COORDS_OPTION = {
    "communities": "--community-coords",
    "facilities": "--facility-coords",
    "candidates": "--candidate-coords",
    "compounds": "--compound-coords",
    "network": "--network-coords",
}
"""The command line's option for each layer's coordinate system."""


def layer_to_wgs84(
    frame: gpd.GeoDataFrame, *, system: str, path: Path, role: str | None
) -> gpd.GeoSeries:
    """Return the layer's geometries in EPSG:4326, converted from ``system`` to WGS-84.

    ``role`` names the command line's option for the layer's coordinates in messages (None for
    a frame built in Python, which has none).
    """
    crs = CRS.from_user_input(frame.crs)
    if system != "wgs84" and not _is_lonlat(crs):
        option = (
            f"{_COORDS_OPTION[role]} {system} (coords={system!r} in Python)"
            if role
            else f"coords={system!r}"
        )
        msg = (
            f"{path}: {option} needs a "
            f"longitude/latitude layer (EPSG:4326 or EPSG:4490) but the layer is in "
            f"{crs.to_string()}; expected wgs84 for a projected layer"
        )
        raise InputError(msg)
    geoms = frame.geometry
    if not crs.equals(CRS.from_epsg(4326)):
        geoms = geoms.to_crs(4326)
    return _coords.geometries_to_wgs84(geoms, system=system)


def _attribute_columns(frame: pd.DataFrame) -> list[str]:
    """Return the column names of ``frame`` other than its active geometry column."""
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return [str(c) for c in frame.columns if c != geometry]


def _other_columns(
    frame: pd.DataFrame,
    used: set[str],
    reserved: tuple[str, ...],
    *,
    named: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return the columns no field consumed, renaming any that clash with output names.

    ``named`` maps the columns of optional fields (e.g. ``共享站``) to their field names (e.g.
    ``shared_station``); they stay in place under the field name.
    """
    named = dict(named or {})
    kept = [c for c in _attribute_columns(frame) if c not in used or c in named]
    others = pd.DataFrame(frame[kept]).copy()
    taken = (*reserved, *named.values(), "geometry")
    clashes = {c: f"{c}_input" for c in kept if c not in named and c in taken}
    if clashes:
        logger.warning("renaming input columns that clash with output columns: %s", clashes)
    return others.rename(columns={**clashes, **named})


def _optional_columns(
    frame: pd.DataFrame, col: Mapping[str, str], optional: tuple[str, ...], *, where: Where
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Check the optional fields found; return the frame with them converted, and their columns.

    Ids and townships become text (``12.0`` as ``"12"``); yes/no flags are checked.
    """
    out = frame.copy()
    named: dict[str, str] = {}
    for field in optional:
        if field not in col:
            continue
        column = col[field]
        named[column] = field
        if field in YES_NO_FIELDS:
            yes_no_column(out[column], where=where, column=column)
        out[column] = as_text(out[column])
    return out, named


def layer_where(layer: pd.DataFrame, *, role: str) -> Where:
    """Locate rows of a layer read by this module, for messages: its file, CSV, sheet or layer.

    A layer not read from a file (built in Python) is named by ``role``.
    """
    source = str(layer.attrs.get("source") or role)
    return Where.of(Path(source), layer)


def _column_of(layer: pd.DataFrame, field: str) -> str:
    """The user's column that holds ``field`` in a layer read by this module."""
    return str(layer.attrs.get("columns", {}).get(field, field))


def check_community_ids(facilities: pd.DataFrame, communities: pd.DataFrame) -> None:
    """Raise unless every filled ``community_id`` of the facilities is a community's id.

    Raises
    ------
    InputError
        Naming the facilities' file, row and column, the id found and the communities' file.

    """
    if "community_id" not in facilities:
        return
    ids = set(as_text(communities["id"]))
    where = layer_where(facilities, role="facilities")
    comm = communities.attrs.get("source") or "the communities"
    for position, value in enumerate(as_text(facilities["community_id"])):
        if value and value not in ids:
            column = _column_of(facilities, "community_id")
            expected = f"blank or the id of a community in {comm}"
            raise where.bad_value(position, column, value, expected)


def check_shared_stations(communities: pd.DataFrame, facilities: pd.DataFrame) -> None:
    """Raise unless every filled ``shared_station`` names an elderly-care facility.

    A community may share the station (or centre, or village point) of a neighbour; the
    facility must be one of :data:`ELDERCARE_TIERS`.

    Raises
    ------
    InputError
        Naming the communities' file, row and column, the id found, and the facilities' file
        (with the facility's tier when it is not an elderly-care facility).

    """
    if "shared_station" not in communities:
        return
    tier_of = dict(zip(as_text(facilities["id"]), facilities["tier"], strict=True))
    where = layer_where(communities, role="communities")
    column = _column_of(communities, "shared_station")
    fac = facilities.attrs.get("source") or "the facilities"
    tiers = ", ".join(ELDERCARE_TIERS)
    expected = f"blank or the id of an elderly-care facility in {fac} ({tiers})"
    for position, value in enumerate(as_text(communities["shared_station"])):
        if not value:
            continue
        if value not in tier_of:
            raise where.bad_value(position, column, value, expected)
        if tier_of[value] not in ELDERCARE_TIERS:
            msg = (
                f"{where.path}: {where.row(position)}, column {column!r}: found {value!r}, "
                f"a {tier_of[value]} in {fac}; expected {expected}"
            )
            raise InputError(msg)


# --- communities ---------------------------------------------------------------------------


def _kind_from_name(name: str) -> tuple[str, str]:
    """Infer urban/rural from a community name; the note explains weak guesses."""
    if any(word in name for word in ("居委会", "居民委员会", "社区")):
        return "urban", ""
    if any(word in name for word in ("村委会", "村民委员会")):
        return "rural", ""
    if "村" in name:
        return "rural", "kind inferred as rural from '村' in the name"
    return "urban", "kind not given and not evident from the name; assumed urban"


def _kinds(
    frame: pd.DataFrame, names: list[str], *, column: str | None, where: Where
) -> tuple[list[str], list[str]]:
    given = as_text(frame[column]) if column else [""] * len(names)
    kinds, notes = [], []
    for position, (value, name) in enumerate(zip(given, names, strict=True)):
        if not value:
            kind, note = _kind_from_name(name)
        elif value.lower() in KIND_NAMES:
            kind, note = KIND_NAMES[value.lower()], ""
        else:
            accepted = ", ".join(repr(k) for k in KIND_NAMES)
            raise where.bad_value(position, str(column), value, f"one of {accepted} or blank")
        kinds.append(kind)
        notes.append(note)
    return kinds, notes


def _polygonal(geom: BaseGeometry) -> tuple[BaseGeometry, bool]:
    """Return the polygonal part of ``geom`` and whether anything else was dropped."""
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom, False
    parts = shapely.get_parts(geom)
    polygons = [p for p in parts if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
    dropped = len(polygons) < len(parts)
    if not polygons:
        return shapely.Polygon(), dropped
    if len(polygons) == 1:
        return polygons[0], dropped
    return shapely.union_all(polygons), dropped


def _check_geometry(geom: BaseGeometry | None) -> tuple[BaseGeometry, str, str]:
    """Return (polygonal geometry, status, note) for one community boundary."""
    if geom is None:
        return shapely.Polygon(), "empty_geometry", "no geometry"
    if geom.is_empty:
        return shapely.Polygon(), "empty_geometry", "empty geometry"
    geom = shapely.force_2d(geom)
    notes = []
    if not geom.is_valid:
        notes.append(f"geometry repaired ({shapely.is_valid_reason(geom)})")
        geom = shapely.make_valid(geom)
    original_type = geom.geom_type
    polygon, dropped = _polygonal(geom)
    if polygon.is_empty:
        return polygon, "invalid_geometry", f"no polygonal area (found {original_type})"
    if dropped:
        notes.append("non-polygonal parts dropped")
    return polygon, "ok", "; ".join(notes)


_NOTE_ZH: tuple[tuple[str, str], ...] = (
    (
        r"kind not given and not evident from the name; assumed urban",
        "未给出类型，名称也看不出，按城市计",
    ),
    (r"kind inferred as rural from '村' in the name", "名称含“村”，按农村计"),
    (r"geometry repaired \((.*?)\)(?=; |$)", r"边界已修复（\1）"),
    (r"no polygonal area \(found (.*?)\)(?=; |$)", r"无面状区域（实为 \1）"),
    (r"non-polygonal parts dropped", "已去除非面状部分"),
    (r"empty geometry", "边界为空"),
    (r"no geometry", "无边界"),
    (r"population missing", "人口缺失"),
    (r"population is 0", "人口为0"),
)
"""The phrases of a community's ``input_note`` (joined by ``"; "``), and their Chinese."""


def note_zh(note: str) -> str:
    """A community's ``input_note`` in Chinese, for the workbook and the map (the CSV keeps it).

    >>> note_zh("population missing; kind inferred as rural from '村' in the name")
    '人口缺失；名称含“村”，按农村计'
    """
    text = str(note)
    for pattern, chinese in _NOTE_ZH:
        text = re.sub(pattern, chinese, text)
    return text.replace("; ", "；")


def _community_status(
    geoms: gpd.GeoSeries, population: np.ndarray, kind_notes: list[str]
) -> tuple[list[BaseGeometry], list[str], list[str]]:
    shapes, statuses, notes = [], [], []
    for geom, people, kind_note in zip(geoms, population, kind_notes, strict=True):
        shape, status, note = _check_geometry(geom)
        parts = [note] if note else []
        if np.isnan(people) or people == 0:
            parts.append("population missing" if np.isnan(people) else "population is 0")
            status = "no_population" if status == "ok" else status
        if kind_note:
            parts.append(kind_note)
        shapes.append(shape)
        statuses.append(status)
        notes.append("; ".join(parts))
    return shapes, statuses, notes


def _require_polygon_layer(geoms: gpd.GeoSeries, *, path: Path) -> None:
    present = geoms[~(geoms.isna() | geoms.is_empty)]
    types = set(present.geom_type)
    if types and not types & {"Polygon", "MultiPolygon", "GeometryCollection"}:
        found = ", ".join(sorted(types))
        msg = f"{path}: communities must be a polygon layer; found {found} geometries"
        raise InputError(msg)


def _from_file(
    layer: gpd.GeoDataFrame,
    path: Path,
    *,
    scheme: str,
    columns: Mapping[str, str] | None = None,
    sheet_rows: tuple[int, ...] = (),
) -> gpd.GeoDataFrame:
    """``layer`` with its file's name and columns in ``attrs``, for messages about it later.

    ``attrs["source"]`` is the file's name (or the frame's), ``attrs["columns"]`` the file's
    column of each field, ``attrs["scheme"]`` the column scheme checked (``communities``,
    ``facilities``, ``candidates``), so that :mod:`carecircle.inputs.frames` passes a layer
    read here without checking it again; for a workbook's sheet, ``attrs[SHEET_ROWS]`` the
    Excel row of each row (see :meth:`carecircle._validate.Where.of`).
    """
    layer.attrs["source"] = path.name
    layer.attrs["columns"] = dict(columns or {})
    layer.attrs["scheme"] = scheme
    if sheet_rows:
        layer.attrs[SHEET_ROWS] = tuple(sheet_rows)
    return layer


def read_communities(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    coords: _coords.Coords = "wgs84",
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read community (社区/村) boundaries with their population.

    Parameters
    ----------
    path : str or os.PathLike
        A polygon layer: ``.gpkg``, ``.geojson``/``.json`` or ``.shp``. It must carry a CRS;
        any CRS is reprojected to EPSG:4326.
    columns : mapping of str to str, optional
        Field → the file's column name, overriding the built-in aliases
        (:data:`COMMUNITY_ALIASES`). Fields: ``id``, ``name``, ``population`` (required),
        ``elderly``, ``kind``, ``township``, ``shared_station`` (the id of the facility whose
        station the community shares; kept as text under that name).
    coords : {"wgs84", "gcj02", "bd09"}
        The coordinate system of the vertices: ``"wgs84"``, ``"gcj02"`` (Gaode/Tencent) or
        ``"bd09"`` (Baidu). The last two need a longitude/latitude layer (EPSG:4326/4490).
    layer : str, optional
        The layer to read from a multi-layer file; required when there are several.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per input feature (none dropped), CRS EPSG:4326, columns :data:`COMMUNITY_COLUMNS`
        (``population`` and ``elderly`` in people, NaN where blank; ``kind`` ``"urban"`` or
        ``"rural"``; ``input_status`` one of :data:`INPUT_STATUSES`; ``input_note`` explains
        repairs and problems), then every other input column, then ``geometry`` (Polygon or
        MultiPolygon, empty for rows flagged ``empty_geometry``/``invalid_geometry``).

    Raises
    ------
    InputError
        For a missing or unreadable file, a CSV, a layer without CRS, a missing required column
        (:class:`~carecircle.errors.MissingColumnError`), a blank or duplicate id, a blank
        name, a non-numeric or negative population or elderly count, more elderly than
        population, or an unknown kind.

    Examples
    --------
    >>> import carecircle as cc
    >>> from carecircle.data import demo_files
    >>> files = demo_files()
    >>> comm = cc.read_communities(files["communities"])
    >>> comm.crs.to_string(), len(comm)
    ('EPSG:4326', 12)
    >>> comm[["id", "name", "population", "elderly", "kind"]].head(3)
        id        name  population  elderly   kind
    0  D01  西尔塔萨里社区居委会      4543.0   1087.0  urban
    1  D02     利萨社区居委会      2262.0    510.0  urban
    2  D03   凯萨涅米社区居委会      1668.0    358.0  urban
    >>> cc.read_communities(files["facilities"])
    Traceback (most recent call last):
    ...
    carecircle.errors.InputError: ...facilities.csv: communities must be a polygon layer ...

    """
    path = Path(path)
    system = _coords.check_system(coords)
    _check_path(path, csv_ok=False)
    frame = _read_layer(path, layer, role="communities")
    return check_communities(frame, columns=columns, system=system, where=Where(path), cli=True)


def check_communities(
    frame: gpd.GeoDataFrame,
    *,
    columns: Mapping[str, str] | None,
    system: str,
    where: Where,
    cli: bool,
) -> gpd.GeoDataFrame:
    """Check a community layer and give it the scheme of :func:`read_communities`.

    The one path for a layer read from a file and for a user's own GeoDataFrame
    (:func:`carecircle.inputs.frames.communities_from_frame`).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The layer, with a CRS, at least one row, the geometry column named ``geometry`` and
        column names stripped (see :func:`tidy_layer`).
    columns : mapping of str to str or None
        Field → column overrides, as for :func:`read_communities`.
    system : str
        The coordinate system of the vertices (one of :data:`carecircle.coords.SYSTEMS`).
    where : Where
        The file, or the frame's name, that messages begin with, and its row numbering.
    cli : bool
        Whether the layer comes from the command line, whose options (``--column``,
        ``--community-coords``) the messages then name.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_communities` returns.

    """
    role = "communities" if cli else None
    path = where.path
    _require_polygon_layer(frame.geometry, path=path)
    geoms = layer_to_wgs84(frame, system=system, path=path, role=role)
    col = resolve_columns(
        _attribute_columns(frame),
        aliases=COMMUNITY_ALIASES,
        lookalikes=COMMUNITY_LOOKALIKES,
        required=("id", "name", "population"),
        columns=columns,
        path=path,
        layer=role,
    )
    fields, kind_notes = _community_fields(frame, col, where=where)
    shapes, fields["input_status"], fields["input_note"] = _community_status(
        geoms, fields["population"].to_numpy(), kind_notes
    )
    frame, named = _optional_columns(frame, col, COMMUNITY_OPTIONAL, where=where)
    others = _other_columns(frame, set(col.values()), COMMUNITY_COLUMNS, named=named)
    table = pd.concat([fields, others], axis=1)
    out = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(shapes, index=frame.index), crs=4326)
    return _from_file(out.reset_index(drop=True), path, scheme="communities", columns=col)


def _community_fields(
    frame: pd.DataFrame, col: Mapping[str, str], *, where: Where
) -> tuple[pd.DataFrame, list[str]]:
    """Check and convert the community fields; return them and the kind-inference notes."""
    ids = required_text(frame[col["id"]], where=where, column=col["id"], expected="an id")
    unique_ids(ids, where=where, column=col["id"])
    names = required_text(frame[col["name"]], where=where, column=col["name"], expected="a name")
    people = "a number of people"
    population = numeric_column(
        frame[col["population"]], where=where, column=col["population"], what=people
    )
    elderly = np.full(len(frame), np.nan)
    if "elderly" in col:
        elderly = numeric_column(
            frame[col["elderly"]], where=where, column=col["elderly"], what=people
        )
        _check_elderly(elderly, population, where=where, column=col["elderly"])
    kinds, kind_notes = _kinds(frame, names, column=col.get("kind"), where=where)
    township = as_text(frame[col["township"]]) if "township" in col else [""] * len(frame)
    fields = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "population": population,
            "elderly": elderly,
            "kind": kinds,
            "township": township,
        },
        index=frame.index,
    )
    return fields, kind_notes


def _check_elderly(
    elderly: np.ndarray, population: np.ndarray, *, where: Where, column: str
) -> None:
    with np.errstate(invalid="ignore"):
        over = np.flatnonzero(elderly > population)
    if over.size:
        i = int(over[0])
        expected = f"at most the population ({population[i]:g})"
        raise where.bad_value(i, column, float(elderly[i]), expected)


# --- facilities ----------------------------------------------------------------------------


def _tiers(values: pd.Series, *, where: Where, column: str) -> list[str]:
    accepted = ", ".join(repr(t) for t in TIER_NAMES)
    texts = as_text(values)
    tiers = []
    for position, text in enumerate(texts):
        key = "".join(text.split()).lower()
        if key not in TIER_NAMES:
            raise where.bad_value(position, column, values.iloc[position], f"one of {accepted}")
        tiers.append(TIER_NAMES[key])
    return tiers


def _check_lonlat(
    lon: np.ndarray, lat: np.ndarray, *, where: Where, lon_col: str, lat_col: str
) -> None:
    """Raise for coordinates out of range, or for columns that look swapped.

    The columns look swapped when most rows have a latitude beyond ±90 and every such row would
    be valid swapped; a few rows out of range are reported one by one.
    """
    lat_out = np.flatnonzero(np.abs(lat) > 90)
    swap_ok = (np.abs(lon[lat_out]) <= 90).all() and (np.abs(lat[lat_out]) <= 180).all()
    if lat_out.size and swap_ok and lat_out.size > lat.size / 2:
        i = int(lat_out[0])
        msg = (
            f"{where.path}: columns {lon_col!r} and {lat_col!r} look swapped: {lat_out.size} of "
            f"{lat.size} rows have {lat_col!r} outside ±90 (first {where.row(i)}: "
            f"{float(lat[i]):g}), and would be valid swapped; swap them"
        )
        raise InputError(msg)
    if lat_out.size:
        i = int(lat_out[0])
        raise where.bad_value(i, lat_col, float(lat[i]), "a latitude within ±90 degrees")
    lon_out = np.flatnonzero(np.abs(lon) > 180)
    if lon_out.size:
        i = int(lon_out[0])
        raise where.bad_value(i, lon_col, float(lon[i]), "a longitude within ±180 degrees")


def _csv_points(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None,
    system: str,
    where: Where,
    layer: str | None,
) -> tuple[gpd.GeoSeries, dict[str, str]]:
    """Return WGS-84 points from a CSV's lon/lat columns and the resolved lon/lat columns."""
    user = {k: v for k, v in (columns or {}).items() if k in _LONLAT_ALIASES}
    col = resolve_columns(
        list(frame.columns),
        aliases=_LONLAT_ALIASES,
        lookalikes=_LONLAT_LOOKALIKES,
        required=("lon", "lat"),
        columns=user,
        path=where.path,
        layer=layer,
    )
    lon, lat = (
        numeric_column(
            frame[col[f]], where=where, column=col[f], what=what, allow_missing=False, minimum=None
        )
        for f, what in (("lon", "a longitude in degrees"), ("lat", "a latitude in degrees"))
    )
    _check_lonlat(lon, lat, where=where, lon_col=col["lon"], lat_col=col["lat"])
    lon, lat = _coords.to_wgs84(lon, lat, system=system)
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), index=frame.index, crs=4326), col


def _layer_points(
    frame: gpd.GeoDataFrame, *, system: str, where: Where, role: str | None
) -> gpd.GeoSeries:
    """Return WGS-84 points from a point layer, checking every row has one point."""
    geoms = frame.geometry
    for position, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            raise where.bad_value(position, "geometry", None, "a point location")
        if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
            continue
        if geom.geom_type != "Point":
            what = "a Point geometry (convert polygons to points, e.g. their centroids)"
            raise where.bad_value(position, "geometry", geom.geom_type, what)
    geoms = geoms.apply(lambda g: g.geoms[0] if g.geom_type == "MultiPoint" else g)
    geoms = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    if CRS.from_user_input(frame.crs).is_geographic:
        _check_lonlat(geoms.x.to_numpy(), geoms.y.to_numpy(), where=where, lon_col="x", lat_col="y")
    return layer_to_wgs84(
        gpd.GeoDataFrame(geometry=geoms), system=system, path=where.path, role=role
    )


@dataclass(frozen=True)
class _Points:
    """A point table read: its rows, WGS-84 points, row locator, and the columns used."""

    frame: pd.DataFrame
    points: gpd.GeoSeries
    where: Where
    own: dict[str, str]
    used: set[str]


def _read_points(
    path: Path,
    *,
    columns: Mapping[str, str] | None,
    coords: str,
    layer: str | None,
    role: str,
    aliases: Mapping[str, tuple[str, ...]],
) -> tuple[pd.DataFrame, Where, str]:
    """Read a CSV with lon/lat columns or a point layer (facilities, candidate sites) as it is.

    The ``columns`` mapping is checked before the file is read. Returns the table (a
    DataFrame of text for a CSV, a GeoDataFrame for a layer), its row locator and the
    coordinate system checked.
    """
    system = _coords.check_system(coords)
    _check_path(path, csv_ok=True)
    is_csv = is_table(path)  # a CSV or a workbook's sheet: longitude/latitude columns
    cli = role == "facilities"  # candidates: no --column
    _split_columns(columns, is_csv=is_csv, path=path, aliases=aliases, cli=cli)
    if is_csv:
        choose = f"--{role}-layer (layer= in Python)" if cli else "layer= (in Python)"
        frame = read_table(path, sheet=layer, role=role, choose=choose)
    else:
        frame = _read_layer(path, layer, role=role)
    return frame, Where.of(path, frame), system


def _point_rows(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None,
    aliases: Mapping[str, tuple[str, ...]],
    system: str,
    where: Where,
    role: str,
    cli: bool,
) -> _Points:
    """Find the points of a table with lon/lat columns (a DataFrame) or of a point layer.

    The one path for a file read and for a user's own frame (:func:`check_facilities`).
    ``role`` is ``facilities`` or ``candidates``; ``cli`` says whether the table comes from
    the command line, whose options the messages then name.
    """
    lonlat_table = not isinstance(frame, gpd.GeoDataFrame)
    mapped = cli and role == "facilities"  # candidates: no --column
    own, lonlat = _split_columns(
        columns, is_csv=lonlat_table, path=where.path, aliases=aliases, cli=mapped
    )
    if len(frame) == 0:
        noun = "facility" if role == "facilities" else "candidate site"
        msg = f"{where.path}: no data rows; expected one row per {noun}"
        raise InputError(msg)
    used: set[str] = set()
    if lonlat_table:
        points, lonlat_cols = _csv_points(
            frame,
            columns=lonlat,
            system=system,
            where=where,
            layer="facilities" if mapped else None,
        )
        used |= set(lonlat_cols.values())
    else:
        layer = gpd.GeoDataFrame(frame)
        points = _layer_points(layer, system=system, where=where, role=role if cli else None)
    return _Points(frame, points, where, own, used)


def read_facilities(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    coords: _coords.Coords = "wgs84",
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read elderly-care and medical facilities.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV with longitude/latitude columns (``lon``/``lat``, ``经度``/``纬度``, ...) in
        UTF-8 or GB18030/GBK, the same table as an Excel workbook (``.xlsx``, ``.xls``; see
        :mod:`carecircle._excel`), or a point layer (``.gpkg``, ``.geojson``/``.json``,
        ``.shp``) carrying a CRS (reprojected to EPSG:4326).
    columns : mapping of str to str, optional
        Field → the file's column name, overriding the built-in aliases
        (:data:`FACILITY_ALIASES`). Fields: ``id``, ``name``, ``tier`` (required),
        ``area_m2``, ``beds``, ``nursing_beds``, the optional :data:`FACILITY_OPTIONAL`
        (``community_id``, ``township``, ``social_operated``, ``medical_capable``; kept as
        text under these names), and for CSVs ``lon``, ``lat``.
    coords : {"wgs84", "gcj02", "bd09"}
        The coordinate system of the locations: ``"wgs84"``, ``"gcj02"`` (Gaode/Tencent) or
        ``"bd09"`` (Baidu). The last two need a CSV or a longitude/latitude layer.
    layer : str, optional
        The layer to read from a multi-layer file, or the sheet of a workbook; required when
        there are several (a workbook's empty and hidden sheets do not count).

    Returns
    -------
    geopandas.GeoDataFrame
        CRS EPSG:4326, columns :data:`FACILITY_COLUMNS` (``tier`` one of :data:`TIERS`;
        ``area_m2`` in square metres, ``beds`` and ``nursing_beds`` counts, NaN where blank),
        then every other input column (CSV cells as text), then ``geometry`` (Point).

    Raises
    ------
    InputError
        For a missing or unreadable file, a layer without CRS, a missing required column, a
        blank or duplicate id, a blank name, an unknown tier, a non-numeric or negative
        number, a missing or out-of-range location, longitude/latitude that look swapped, or a
        yes/no column holding something else.

    """
    path = Path(path)
    frame, where, system = _read_points(
        path,
        columns=columns,
        coords=coords,
        layer=layer,
        role="facilities",
        aliases=FACILITY_ALIASES,
    )
    return check_facilities(frame, columns=columns, system=system, where=where, cli=True)


def check_facilities(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None,
    system: str,
    where: Where,
    cli: bool,
) -> gpd.GeoDataFrame:
    """Check a facility table and give it the scheme of :func:`read_facilities`.

    The one path for a file read and for a user's own frame
    (:func:`carecircle.inputs.frames.facilities_from_frame`).

    Parameters
    ----------
    frame : pandas.DataFrame
        A point layer (GeoDataFrame with a CRS, the geometry column named ``geometry``) or a
        table with longitude/latitude columns; column names stripped.
    columns : mapping of str to str or None
        Field → column overrides, as for :func:`read_facilities`.
    system : str
        The coordinate system of the locations (one of :data:`carecircle.coords.SYSTEMS`).
    where : Where
        The file, or the frame's name, that messages begin with, and its row numbering.
    cli : bool
        Whether the table comes from the command line, whose options (``--column``,
        ``--facility-coords``) the messages then name.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_facilities` returns.

    """
    read = _point_rows(
        frame,
        columns=columns,
        aliases=FACILITY_ALIASES,
        system=system,
        where=where,
        role="facilities",
        cli=cli,
    )
    frame, points, used = read.frame, read.points, read.used
    found = [c for c in _attribute_columns(frame) if c not in used]
    col = resolve_columns(
        found,
        aliases=FACILITY_ALIASES,
        lookalikes=FACILITY_LOOKALIKES,
        required=("id", "name", "tier"),
        columns=read.own,
        path=where.path,
        layer="facilities" if cli else None,
    )
    fields = _facility_fields(frame, col, where=where)
    frame, named = _optional_columns(frame, col, FACILITY_OPTIONAL, where=where)
    others = _other_columns(frame, used | set(col.values()), FACILITY_COLUMNS, named=named)
    table = pd.concat([fields, others], axis=1)
    out = gpd.GeoDataFrame(table, geometry=points, crs=4326)
    return _from_file(
        out.reset_index(drop=True),
        where.path,
        scheme="facilities",
        columns=col,
        sheet_rows=where.sheet_rows,
    )


def _split_columns(
    columns: Mapping[str, str] | None,
    *,
    is_csv: bool,
    path: Path,
    aliases: Mapping[str, tuple[str, ...]],
    cli: bool,
) -> tuple[dict[str, str], dict[str, str]]:
    """Split a point file's ``columns`` mapping into attribute fields and CSV lon/lat fields.

    ``cli``: whether the command line maps this file's columns (``--column``), for the message.
    """
    allowed = (*aliases, *(_LONLAT_ALIASES if is_csv else ()))
    mapping = "the column mapping (--column, --columns; columns= in Python)" if cli else "columns="
    for field in columns or {}:
        if field not in allowed:
            fields = ", ".join(repr(f) for f in allowed)
            extra = "" if is_csv else " (lon/lat apply to CSV and Excel tables only)"
            msg = (
                f"{path}: {mapping} names unknown field {field!r}; expected one of {fields}{extra}"
            )
            raise InputError(msg)
    own = {k: v for k, v in (columns or {}).items() if k in aliases}
    lonlat = {k: v for k, v in (columns or {}).items() if k in _LONLAT_ALIASES}
    return own, lonlat


def _facility_fields(frame: pd.DataFrame, col: Mapping[str, str], *, where: Where) -> pd.DataFrame:
    """Check and convert the facility fields into the leading output columns."""
    ids = required_text(frame[col["id"]], where=where, column=col["id"], expected="an id")
    unique_ids(ids, where=where, column=col["id"])
    names = required_text(frame[col["name"]], where=where, column=col["name"], expected="a name")
    fields = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "tier": _tiers(frame[col["tier"]], where=where, column=col["tier"]),
        },
        index=frame.index,
    )
    for field, what in (
        ("area_m2", "an area in m²"),
        ("beds", "a number of beds"),
        ("nursing_beds", "a number of beds"),
    ):
        fields[field] = (
            numeric_column(frame[col[field]], where=where, column=col[field], what=what)
            if field in col
            else np.full(len(frame), np.nan)
        )
    _warn_nursing_beds(fields, path=where.path)
    return fields


def _warn_nursing_beds(fields: pd.DataFrame, *, path: Path) -> None:
    over = fields.index[fields["nursing_beds"] > fields["beds"]]
    if len(over):
        ids = ", ".join(repr(i) for i in fields.loc[over, "id"])
        logger.warning("%s: more nursing beds than beds for facilities %s", path, ids)


CANDIDATE_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "代码"),
    "name": ("名称", "地址", "房屋名称"),
    "area_m2": ("建筑面积", "面积"),
    "cost": ("费用", "造价", "投资", "成本"),
}
"""Field → accepted headers for candidate sites (the field name itself is always accepted)."""

CANDIDATE_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "id": ("编码", "序号"),
    "name": ("名字", "楼宇名称", "建筑名称", "房屋地址"),
    "area_m2": ("建设面积", "使用面积", "房屋面积", "area", "floor_area"),
    "cost": ("金额", "预算", "改造费用", "投资额", "总投资"),
}
"""Field → headers that suggest a candidate field but are not read as it unless mapped."""

CANDIDATE_COLUMNS: tuple[str, ...] = ("id", "name", "area_m2", "cost", "under_1000m2")
"""Leading columns of :func:`read_candidates`."""

_CANDIDATE_OUTPUTS = ("order", "network_status", "access_m", "reach", "cost_yuan", "generated")
"""Columns :func:`carecircle.siting.propose` adds to the candidates: input columns so named
are renamed, not overwritten."""


def read_candidates(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    coords: _coords.Coords = "wgs84",
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read candidate sites for new facilities (e.g. idle state-owned buildings).

    Parameters
    ----------
    path : str or os.PathLike
        A CSV or workbook with longitude/latitude columns, or a point layer, as for
        :func:`read_facilities`.
    columns : mapping of str to str, optional
        Field → the file's column name: ``id`` (required), ``name``, ``area_m2``, ``cost``
        (yuan), and for CSVs ``lon``, ``lat``.
    coords : {"wgs84", "gcj02", "bd09"}
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.
    layer : str, optional
        The layer to read from a multi-layer file, or the sheet of a workbook.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns :data:`CANDIDATE_COLUMNS` (``name`` is the id when absent;
        ``area_m2`` in m² and ``cost`` in yuan, NaN where blank; ``under_1000m2`` NA here:
        :func:`carecircle.siting.propose` fills it from the profile's
        ``provision.simplified_approval_max_area_m2``, a 渝中 rule, 渝中府办〔2020〕44号 §二(一)2:
        buildings of 1000 m² or less converted to care use get simplified approval), then every
        other input column, then ``geometry``.

    """
    path = Path(path)
    table, where, system = _read_points(
        path,
        columns=columns,
        coords=coords,
        layer=layer,
        role="candidates",
        aliases=CANDIDATE_ALIASES,
    )
    read = _point_rows(
        table,
        columns=columns,
        aliases=CANDIDATE_ALIASES,
        system=system,
        where=where,
        role="candidates",
        cli=True,
    )
    frame, points, used = read.frame, read.points, read.used
    found = [c for c in _attribute_columns(frame) if c not in used]
    col = resolve_columns(
        found,
        aliases=CANDIDATE_ALIASES,
        required=("id",),
        columns=read.own,
        path=path,
        lookalikes=CANDIDATE_LOOKALIKES,
    )
    ids = required_text(frame[col["id"]], where=where, column=col["id"], expected="an id")
    unique_ids(ids, where=where, column=col["id"])
    names = as_text(frame[col["name"]]) if "name" in col else list(ids)
    fields = pd.DataFrame({"id": ids, "name": names}, index=frame.index)
    for field, what in (("area_m2", "an area in m²"), ("cost", "a cost in yuan")):
        fields[field] = (
            numeric_column(frame[col[field]], where=where, column=col[field], what=what)
            if field in col
            else np.full(len(frame), np.nan)
        )
    # simplified approval is a 渝中 rule: carecircle.siting.propose fills it from the profile
    fields["under_1000m2"] = pd.array([pd.NA] * len(fields), dtype="boolean")
    others = _other_columns(frame, used | set(col.values()), CANDIDATE_COLUMNS + _CANDIDATE_OUTPUTS)
    out = gpd.GeoDataFrame(pd.concat([fields, others], axis=1), geometry=points, crs=4326)
    return _from_file(
        out.reset_index(drop=True), path, scheme="candidates", sheet_rows=where.sheet_rows
    )
