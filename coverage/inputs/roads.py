"""Read a district's own road layer (a surveying bureau's centre lines) as the walking network.

In Chinese cities OpenStreetMap's footways are thin, while a district's planning or surveying
bureau holds road centre lines as a Shapefile, GeoPackage, File Geodatabase or CAD drawing,
usually in CGCS2000 (EPSG:4490, or a 3-degree Gauss-Krüger zone such as EPSG:4545).
:func:`read_roads` reads such a layer, takes each line's class from an attribute (快速路 is not
walked, 梯道 is a flight of steps, ...; see :data:`ROAD_CLASSES`), its level from a level or
bridge/tunnel attribute, and nodes the lines into a
:class:`~carecircle.network.WalkNetwork` (:func:`carecircle.topology.build`), the same as one
read from OpenStreetMap, cached by content. :func:`read_network` takes what ``--network``
names: an OpenStreetMap file, a road layer, or one of each (the layer fills the gaps of the
OpenStreetMap ways).
"""

from __future__ import annotations

import json
import logging
import math
import os
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from .. import coords as _coords
from .. import network, topology
from .._validate import Where, as_text, numeric_column, resolve_columns, yes_no_column
from ..errors import InputError
from ..network import WalkNetwork
from ..terms import YES_TEXTS
from .readers import layer_to_wgs84, open_layer, tidy_layer

logger = logging.getLogger(__name__)

ROAD_SUFFIXES: tuple[str, ...] = (".gpkg", ".shp", ".geojson", ".json", ".gdb", ".dxf")
"""File suffixes read as road layers (``.gdb``: a File Geodatabase folder)."""

_ACCEPTED = (
    f"a road layer ({' '.join(ROAD_SUFFIXES)}) or an OpenStreetMap file "
    f"({' '.join(network.OSM_SUFFIXES)})"
)

READER_VERSION = 1
"""Bumped whenever the reading of a layer changes the network it gives (part of the cache
key, beside :data:`carecircle.network.CACHE_VERSION`)."""

NETWORK_ALIASES: dict[str, tuple[str, ...]] = {
    "kind": (
        "道路类型",
        "类型",
        "道路等级",
        "等级",
        "道路类别",
        "类别",
        "道路分类",
        "type",
        "class",
        "fclass",
        "highway",
        "roadclass",
        "road_class",
    ),
    "level": ("层", "层级", "层次", "z_level", "zlevel"),
    "bridge": ("桥", "桥梁", "是否桥梁"),
    "tunnel": ("隧道", "是否隧道"),
    "step_count": ("台阶数", "踏步数", "级数"),
    "incline": ("坡向",),
    "name": ("名称", "道路名称", "路名"),
}
"""Field → accepted headers of a road layer (the field name itself is always accepted). A DXF
drawing's ``Layer`` (its CAD layer's name) is also read as ``kind``; elsewhere a ``layer``
column (OpenStreetMap's, in a Geofabrik extract) is read as ``level``."""

NETWORK_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "kind": ("道路级别", "路类型", "路等级", "road_type", "roadtype", "grade", "rank"),
    "level": ("高程层", "floor"),
    "bridge": ("桥梁标识", "is_bridge"),
    "tunnel": ("隧道标识", "is_tunnel"),
    "step_count": ("台阶级数", "踏步级数", "steps"),
    "name": ("道路名", "road_name"),
}
"""Field → headers that suggest a road field but are not read as it unless mapped."""

NETWORK_MEANINGS: dict[str, str] = {
    "kind": "the road class",
    "level": "the level (an integer, 0 on the ground)",
    "bridge": "bridge or not",
    "tunnel": "tunnel or not",
    "step_count": "the number of steps",
    "incline": "the direction of the slope",
    "name": "the road's name",
}
"""What each road field holds, for messages."""

NOT_WALKABLE = "no"
"""A class's kind for lines a pedestrian may not use: they are left out (and counted)."""

ESCALATOR = "escalator"
"""A class's kind for escalators: ``highway=steps`` with ``conveying=yes``."""

OSM_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "pedestrian",
        "track",
        "road",
        "footway",
        "bridleway",
        "steps",
        "corridor",
        "path",
        "cycleway",
        "elevator",
        "busway",
        "bus_guideway",
        "construction",
        "proposed",
        "platform",
        "raceway",
    }
)
"""OpenStreetMap ``highway`` values a class may stand for, and a layer may hold as its class
(a Geofabrik extract's ``fclass``). Those of :data:`carecircle.network.NOT_WALKABLE_HIGHWAY`
(``motorway``, ``trunk``, ``cycleway``, ...) are not walked."""

ROAD_CLASSES: dict[str, str] = {
    # not walkable: no pavement, no crossing
    "快速路": NOT_WALKABLE,
    "城市快速路": NOT_WALKABLE,
    "高速": NOT_WALKABLE,
    "高速路": NOT_WALKABLE,
    "高速公路": NOT_WALKABLE,
    "expressway": NOT_WALKABLE,
    # urban roads (CJJ 37-2012), walked on their pavements
    "主干路": "primary",
    "主干道": "primary",
    "次干路": "secondary",
    "次干道": "secondary",
    "支路": "residential",
    "辅路": "tertiary",
    "辅道": "tertiary",
    # highways outside the city (JTG B01-2014's administrative classes)
    "国道": "primary",
    "省道": "secondary",
    "县道": "tertiary",
    "乡道": "unclassified",
    "村道": "unclassified",
    # steps, footways, elevators and escalators
    "梯道": "steps",
    "台阶": "steps",
    "踏步": "steps",
    "梯坎": "steps",
    "步梯": "steps",
    "楼梯": "steps",
    "stairs": "steps",
    "人行道": "footway",
    "步行道": "footway",
    "步道": "footway",
    "巷道": "footway",
    "小巷": "footway",
    "人行天桥": "footway",
    "人行地道": "footway",
    "步行街": "pedestrian",
    "电梯": "elevator",
    "垂直电梯": "elevator",
    "lift": "elevator",
    "自动扶梯": ESCALATOR,
    "扶梯": ESCALATOR,
    "escalator": ESCALATOR,
}
"""The default reading of a road layer's class (its ``kind`` column), name → kind.

A kind is an OpenStreetMap ``highway`` value (:data:`OSM_HIGHWAYS`), :data:`NOT_WALKABLE`
(``"no"``: the line is left out) or :data:`ESCALATOR`. A class is compared without spaces or
case, full-width letters as half-width. A class not in the table is read by the names it
contains: the one ending last wins (Chinese names end in what they are: 城市主干路 is a 主干路,
快速路辅路 a 辅路, not a 快速路), the longest of those ending there. An OpenStreetMap
``highway`` value stands for itself. Any other class is walked as a road (``highway=road``)
and named in one warning line. ``classes=`` (``[network.classes]`` in the ``--columns`` file)
adds names or changes their kind."""

SNAP_TOLERANCE_M = topology.SNAP_TOLERANCE_M
"""Default distance within which a line's end joins another line, metres."""

MATCH_M = topology.MATCH_M
"""Default distance, metres, within which a road layer's line running along an OpenStreetMap
way is taken for the same way when the two are combined (:func:`carecircle.topology.combine`)."""


@dataclass(frozen=True)
class RoadOptions:
    """How to read a road layer; see :func:`read_roads` for each field.

    Attributes
    ----------
    layer : str or None
        The layer of a multi-layer file.
    coords : {"wgs84", "gcj02", "bd09"}
        The coordinate system of a longitude/latitude layer's vertices.
    columns : mapping of str to str or None
        Field → the layer's column.
    classes : mapping of str to str or None
        Class → kind, over :data:`ROAD_CLASSES`.
    crs : str or None
        The layer's CRS when the file holds none (a DXF drawing).
    snap_tolerance_m : float
        Metres within which a line's end joins another line.
    match_m : float
        Metres within which a layer's line along an OpenStreetMap way is the same way.

    """

    layer: str | None = None
    coords: _coords.Coords = "wgs84"
    columns: Mapping[str, str] | None = None
    classes: Mapping[str, str] | None = None
    crs: str | None = None
    snap_tolerance_m: float = SNAP_TOLERANCE_M
    match_m: float = MATCH_M

    def given(self) -> list[str]:
        """The options set that only a road layer takes (for the message when there is none)."""
        named = {
            "--network-layer": self.layer is not None,
            "--network-coords": self.coords != "wgs84",
            "--column network.*": bool(self.columns),
            "[network.classes]": bool(self.classes),
            "--network-crs": self.crs is not None,
        }
        return [option for option, set_ in named.items() if set_]


# --- the whole network -------------------------------------------------------------------


def is_osm(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an OpenStreetMap (or saved network) file, not a road layer."""
    return Path(path).name.lower().endswith(network.NETWORK_SUFFIXES)


def read_network(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    options: RoadOptions | None = None,
    cache: bool = True,
) -> WalkNetwork:
    """Read the walking network from what ``--network`` names: OSM, a road layer, or both.

    Parameters
    ----------
    paths : path or sequence of one or two paths
        An OpenStreetMap file (:func:`carecircle.network.read`: ``.osm.pbf``, ``.osm``, ...),
        a road layer (:func:`read_roads`: ``.gpkg``, ``.shp``, ``.geojson``, ``.gdb``,
        ``.dxf``), or one of each: then the layer's lines fill the gaps of the OpenStreetMap
        ways (:func:`carecircle.topology.combine`).
    options : RoadOptions, optional, keyword-only
        How to read the road layer.
    cache : bool, keyword-only
        Keep each parsed network in the cache folder, keyed by content.

    Returns
    -------
    WalkNetwork
        In a projected CRS: the OpenStreetMap file's UTM zone when there is one, else the
        layer's (see :func:`read_roads`).

    Raises
    ------
    InputError
        In one line: no path, more than two, two of one kind, road-layer options without a
        road layer, a layer that lies away from the OpenStreetMap ways, or any error of the
        readers.

    """
    options = options or RoadOptions()
    given = [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(p) for p in paths]
    osm = [p for p in given if is_osm(p)]
    layers = [p for p in given if not is_osm(p)]
    if not given or len(given) > 2 or len(osm) > 1 or len(layers) > 1:
        names = ", ".join(str(p) for p in given) or "nothing"
        msg = (
            f"--network names {names}; expected an OpenStreetMap file, a road layer, or one of "
            "each (the layer's lines then fill the gaps of the OpenStreetMap ways)"
        )
        raise InputError(msg)
    if not layers:
        lone = options.given()
        if lone:
            verb = "applies" if len(lone) == 1 else "apply"
            msg = (
                f"{', '.join(lone)} {verb} to a road layer, but --network names only the "
                f"OpenStreetMap file {osm[0]}; drop them, or add the layer (--network twice)"
            )
            raise InputError(msg)
        return network.read(osm[0], cache=cache)
    if not osm:
        return _read_layer(layers[0], options, cache=cache)
    base = network.read(osm[0], cache=cache)
    layer = _read_layer(layers[0], options, cache=cache)
    _check_overlap(base, layer)
    both, _ = topology.combine(
        base, layer, snap_tolerance_m=options.snap_tolerance_m, match_m=options.match_m
    )
    return both


def _read_layer(path: Path, options: RoadOptions, *, cache: bool) -> WalkNetwork:
    return read_roads(
        path,
        layer=options.layer,
        coords=options.coords,
        columns=options.columns,
        classes=options.classes,
        crs=options.crs,
        snap_tolerance_m=options.snap_tolerance_m,
        cache=cache,
    )


def _check_overlap(osm: WalkNetwork, layer: WalkNetwork) -> None:
    """Refuse a road layer whose lines lie nowhere near the OpenStreetMap ways (its CRS)."""
    ox0, oy0, ox1, oy1 = osm.bounds()
    move = Transformer.from_crs(layer.crs, osm.crs, always_xy=True)
    lx0, ly0, lx1, ly1 = move.transform_bounds(*layer.bounds())
    if lx1 < ox0 or lx0 > ox1 or ly1 < oy0 or ly0 > oy1:
        msg = (
            f"{layer.source}: the road layer (x {lx0:.0f}..{lx1:.0f}, y {ly0:.0f}..{ly1:.0f} m "
            f"in {osm.crs.name}) does not overlap the OpenStreetMap ways of {osm.source} (x "
            f"{ox0:.0f}..{ox1:.0f}, y {oy0:.0f}..{oy1:.0f}); {LAYER_CRS_HINT}"
        )
        raise InputError(msg)


LAYER_CRS_HINT = (
    "if it is the same district, the road layer's coordinate system is wrong: check the CRS "
    "stored in it (a Shapefile's .prj; --network-crs for a file without one) and give "
    "--network-coords gcj02 or bd09 for Gaode or Baidu coordinates"
)
"""What to check when a road layer lies away from the other layers."""


def from_layer(net: WalkNetwork) -> bool:
    """Whether ``net`` was read from a road layer (by :func:`read_roads`), by its source."""
    name = net.source.split(":", 1)[0]
    return Path(name).suffix.lower() in ROAD_SUFFIXES


# --- one road layer ----------------------------------------------------------------------


def read_roads(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    coords: _coords.Coords = "wgs84",
    columns: Mapping[str, str] | None = None,
    classes: Mapping[str, str] | None = None,
    crs: str | None = None,
    snap_tolerance_m: float = SNAP_TOLERANCE_M,
    cache: bool = True,
) -> WalkNetwork:
    """Read a road layer (a bureau's centre lines) as a walking network.

    Parameters
    ----------
    path : str or os.PathLike
        A line layer: ``.gpkg``, ``.shp``, ``.geojson``/``.json``, a File Geodatabase's
        ``.gdb`` folder or a ``.dxf`` drawing, in any CRS. A Shapefile without a ``.cpg`` (or
        a DXF drawing without a code page) is decoded as UTF-8, else GB18030, said in one line.
    layer : str, optional, keyword-only
        The layer of a multi-layer file (``--network-layer``); a layer named ``network`` is
        read without it, and so is the only one.
    coords : {"wgs84", "gcj02", "bd09"}, keyword-only
        The coordinate system of a longitude/latitude layer's vertices: Gaode/Tencent
        (``gcj02``) and Baidu (``bd09``) lines are converted to WGS-84 first.
    columns : mapping of str to str, optional, keyword-only
        Field → the layer's column, over :data:`NETWORK_ALIASES`: ``kind`` (the road class,
        read by :data:`ROAD_CLASSES`), ``level`` (an integer: lines of different levels cross
        without meeting), ``bridge`` and ``tunnel`` (yes/no: level 1 and -1 where no level is
        given), ``step_count``, ``incline`` (OpenStreetMap's values, along the line as drawn),
        ``name``.
    classes : mapping of str to str, optional, keyword-only
        Class → kind, added to (or overriding) :data:`ROAD_CLASSES`: a kind is an
        OpenStreetMap ``highway`` value, ``"no"`` (not walked) or ``"escalator"``.
    crs : str, optional, keyword-only
        The layer's CRS (``"EPSG:4545"``) when the file holds none, as a DXF drawing never
        does; refused when the file holds another.
    snap_tolerance_m : float, keyword-only
        Metres within which a line's end joins another line (:func:`carecircle.topology.build`).
    cache : bool, keyword-only
        Keep the network in the cache folder (:func:`carecircle.settings.cache_dir`), keyed by
        the SHA-256 of the layer's files (a Shapefile's ``.shp .shx .dbf .prj .cpg``, every file
        of a ``.gdb`` folder) and of every option above.

    Returns
    -------
    WalkNetwork
        In the layer's own CRS when it is projected in metres (EPSG:4545 stays EPSG:4545),
        else in the UTM zone of its centre. Edges tagged as OpenStreetMap ways would be
        (``highway``, ``step_count``, ``incline``, ``conveying``, ``layer``, ``bridge``,
        ``tunnel``, ``name``), with the vertices' elevations (``z_m``) when the lines carry z,
        so that every command works on it as on an OpenStreetMap network.

    Raises
    ------
    InputError
        In one line: a missing or unreadable file, a layer without a CRS, with no features,
        not of lines, or with every line left out; an unknown column or a bad value (level,
        bridge, tunnel); an unknown kind in ``classes``; a tolerance that is not a number of
        metres.

    """
    path = Path(path)
    system = _coords.check_system(coords)
    _check_road_path(path)
    tolerance = _check_tolerance(snap_tolerance_m)
    table = road_classes(classes)
    given_crs = _user_crs(crs)
    cached = None
    if cache:
        files = _files(path)
        key = {
            "layer": layer,
            "coords": system,
            "columns": dict(sorted((columns or {}).items())),
            "classes": dict(sorted(table.items())),
            "crs": None if given_crs is None else given_crs.to_wkt(),
            "snap_tolerance_m": tolerance,
            "files": [str(f.relative_to(path.parent)) for f in files],
            "reader": READER_VERSION,
        }
        options = json.dumps(key, ensure_ascii=False, sort_keys=True)
        cached = network.cache_path(files, name=path.name, options=options)
        found = network.from_cache(cached)
        if found is not None:
            logger.info("using cached network %s", cached)
            return found
    lines, source, crs_out = _read_lines(
        path,
        layer=layer,
        system=system,
        columns=columns,
        table=table,
        given_crs=given_crs,
    )
    net, _ = topology.build(lines, crs=crs_out, snap_tolerance_m=tolerance, source=source)
    # topology.build logs its report's line (lines, crossings, dangles, parts)
    if cached is not None:
        network.to_cache(net, cached)
    return net


def _check_road_path(path: Path) -> None:
    if not path.exists():
        msg = f"{path}: network file not found; expected {_ACCEPTED}"
        raise InputError(msg)
    suffix = path.suffix.lower()
    if suffix not in ROAD_SUFFIXES:
        msg = f"{path}: unsupported network file type {suffix or '(none)'!r}; expected {_ACCEPTED}"
        raise InputError(msg)
    if (suffix == ".gdb") != path.is_dir():
        what = "a File Geodatabase is a folder" if suffix == ".gdb" else "a folder"
        msg = f"{path}: {what}; expected {_ACCEPTED}"
        raise InputError(msg)


def _check_tolerance(value: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        msg = f"--snap-tolerance-m is {value!r}; expected a number of metres ≥ 0"
        raise InputError(msg)
    return float(value)


def _user_crs(crs: str | None) -> CRS | None:
    if crs is None:
        return None
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        msg = f"--network-crs {crs!r} is not a CRS; expected e.g. EPSG:4545 or EPSG:4490 ({exc})"
        raise InputError(msg) from exc


def _files(path: Path) -> list[Path]:
    """Every file the layer is read from, in a fixed order."""
    if path.is_dir():  # a File Geodatabase
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() != ".shp":
        return [path]
    sidecars = {p.suffix.lower(): p for p in path.parent.glob(f"{path.stem}.*")}
    wanted = (".shp", ".shx", ".dbf", ".prj", ".cpg")
    return [sidecars[s] for s in wanted if s in sidecars and sidecars[s].stem == path.stem]


def road_classes(classes: Mapping[str, str] | None = None) -> dict[str, str]:
    """The class table: :data:`ROAD_CLASSES` with ``classes`` over it, names normalised.

    Raises
    ------
    InputError
        For a kind that is neither an OpenStreetMap ``highway`` value, ``"no"`` nor
        ``"escalator"``.

    """
    table = {_key(name): kind for name, kind in ROAD_CLASSES.items()}
    accepted = {NOT_WALKABLE, ESCALATOR, *OSM_HIGHWAYS}
    for name, kind in (classes or {}).items():
        value = _key(str(kind))
        if value not in accepted:
            msg = (
                f"[network.classes] gives the class {name!r} the kind {kind!r}; expected "
                f"'no' (not walked), 'escalator' or an OpenStreetMap highway value (footway, "
                "steps, elevator, residential, ...)"
            )
            raise InputError(msg)
        table[_key(str(name))] = value
    return table


def _key(text: str) -> str:
    """A class as compared: without spaces or case, full-width letters as half-width."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def road_kind(value: str, table: Mapping[str, str]) -> str | None:
    """The kind of a road class (see :data:`ROAD_CLASSES`), or None when it is unknown.

    >>> table = road_classes()
    >>> [road_kind(v, table) for v in ("城市主干路", "快速路辅路", "快速路匝道", "Steps", "x")]
    ['primary', 'tertiary', 'no', 'steps', None]
    """
    key = _key(value)
    if key in table:
        return table[key]
    if key in OSM_HIGHWAYS:
        return key
    best: tuple[int, int] | None = None
    kind = None
    for name, named in table.items():
        if name.isascii():
            continue  # English words are matched whole
        at = key.rfind(name)
        if at >= 0 and (best is None or (at + len(name), len(name)) > best):
            best, kind = (at + len(name), len(name)), named
    return kind


def _read_lines(
    path: Path,
    *,
    layer: str | None,
    system: str,
    columns: Mapping[str, str] | None,
    table: Mapping[str, str],
    given_crs: CRS | None,
) -> tuple[topology.Lines, str, CRS]:
    """Read, check and classify the layer's lines; return them projected, the source, the CRS."""
    frame, name = open_layer(path, layer, role="network", accepted=_ACCEPTED)
    what = f"{path}: layer {name!r}"
    frame = _with_crs(frame, given_crs, what=what)
    if len(frame) == 0:
        msg = f"{what} has no features; expected road centre lines (LineStrings)"
        raise InputError(msg)
    frame = tidy_layer(frame, path=path)
    geoms, is_line = _lines(frame.geometry.to_numpy(), what=what)
    tags, level, walked = _classify(frame, is_line, path=path, columns=columns, table=table)
    keep = is_line & walked
    kept = gpd.GeoSeries(geoms[keep], crs=frame.crs)
    kept, crs_out = _projected(kept, system=system, path=path, what=what)
    lines = topology.Lines.from_geometries(
        _elevations(kept.to_numpy(), path=path),
        level=level[keep],
        tags={key: values[keep] for key, values in tags.items()},
    )
    source = path.name if layer is None else f"{path.name}:{name}"
    return lines, source, crs_out


def _with_crs(frame: gpd.GeoDataFrame, given: CRS | None, *, what: str) -> gpd.GeoDataFrame:
    """The layer with its CRS: its own, or the one given for a file that holds none."""
    if frame.crs is not None and given is not None and not CRS(frame.crs).equals(given):
        msg = (
            f"{what} is in {CRS(frame.crs).name!r}, but --network-crs says {given.name!r}; drop "
            "--network-crs (it is for a file without a CRS), or fix the CRS stored in the file"
        )
        raise InputError(msg)
    if frame.crs is None and given is not None:
        return frame.set_crs(given)
    _coords.check_crs(
        frame.crs,
        what=what,
        fix=(
            "give it with --network-crs (crs= in Python), e.g. EPSG:4545 for CGCS2000 3-degree "
            "Gauss-Krüger CM 108°E, or store it in the file (ArcGIS: Define Projection; a "
            "Shapefile: its .prj; GDAL: ogr2ogr -a_srs EPSG:4545)"
        ),
    )
    return frame


_LINE_TYPES = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)


def _lines(geoms: np.ndarray, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The geometries (a collection as its lines) and which rows are lines.

    Rows without a geometry and rows of points or polygons are counted in one warning line
    each; a layer with no lines at all is refused.
    """
    geoms = geoms.copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    collection = ~missing & (shapely.get_type_id(geoms) == shapely.GeometryType.GEOMETRYCOLLECTION)
    if collection.any():  # a CAD block: its lines are roads
        geoms[collection] = [_lines_of(g) for g in geoms[collection]]
        missing |= shapely.is_empty(geoms)
    is_line = ~missing & np.isin(shapely.get_type_id(geoms), _LINE_TYPES)
    others = ~missing & ~is_line
    types = Counter(g.geom_type for g in geoms[others])
    listed = ", ".join(f"{n} {t}" for t, n in types.most_common())
    if not is_line.any():
        msg = (
            f"{what} holds no lines ({listed or 'no geometry at all'}); expected road centre "
            "lines (LineStrings): a layer of road surfaces (polygons) must be turned into "
            "centre lines first"
        )
        raise InputError(msg)
    if missing.any():
        logger.warning(
            "%s: %d of %d features have no geometry (rows %s); left out",
            what,
            int(missing.sum()),
            missing.size,
            _rows(missing),
        )
    if others.any():
        logger.warning(
            "%s: %d features are not lines (%s); left out", what, int(others.sum()), listed
        )
    return geoms, is_line


def _lines_of(geom: shapely.Geometry) -> shapely.Geometry:
    """The lines of a geometry collection, as one MultiLineString (empty when it has none)."""
    parts = shapely.get_parts(shapely.get_parts(geom))
    lines = parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]
    return shapely.multilinestrings(lines) if lines.size else shapely.MultiLineString()


def _rows(mask: np.ndarray, most: int = 5) -> str:
    """The 1-based rows of ``mask``, the first few."""
    rows = np.flatnonzero(mask) + 1
    shown = ", ".join(str(r) for r in rows[:most])
    return shown + (f" and {rows.size - most} more" if rows.size > most else "")


def _aliases(path: Path) -> dict[str, tuple[str, ...]]:
    """The accepted headers of a road file: a DXF's ``Layer`` is its class, elsewhere a level."""
    aliases = dict(NETWORK_ALIASES)
    if path.suffix.lower() == ".dxf":
        aliases["kind"] = (*aliases["kind"], "layer")
    else:
        aliases["level"] = (*aliases["level"], "layer")
    return aliases


def _classify(
    frame: gpd.GeoDataFrame,
    is_line: np.ndarray,
    *,
    path: Path,
    columns: Mapping[str, str] | None,
    table: Mapping[str, str],
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each row's tags, level and whether it is walked, from its attributes.

    The lines not walked and the classes not known are said in a line each (of the rows that
    are lines); a layer with no walked line is refused.
    """
    found = [str(c) for c in frame.columns if c != "geometry"]
    col = resolve_columns(
        found,
        aliases=_aliases(path),
        required=(),
        columns=columns,
        path=path,
        layer="network",
        lookalikes=NETWORK_LOOKALIKES,
        meanings=NETWORK_MEANINGS,
    )
    texts = as_text(frame[col["kind"]]) if "kind" in col else [""] * len(frame)
    codes, values = pd.factorize(pd.Series(texts, dtype=object))
    kinds = np.array([road_kind(v, table) for v in values], dtype=object)[codes]
    unknown = pd.isna(kinds)
    highway = np.where(unknown, "road", kinds).astype(object)
    walked = (highway != NOT_WALKABLE) & ~np.isin(highway, list(network.NOT_WALKABLE_HIGHWAY))
    escalator = highway == ESCALATOR
    highway[escalator] = "steps"
    tags = {"highway": highway, "conveying": np.where(escalator, "yes", "").astype(object)}
    for field in ("step_count", "incline", "name"):
        if field in col:
            tags[field] = np.array(as_text(frame[col[field]]), dtype=object)
    level, bridge, tunnel = _levels(frame, col, where=Where(path))
    tags["layer"] = np.where(level != 0, level.astype(str), "").astype(object)
    tags["bridge"] = np.where(bridge, "yes", "").astype(object)
    tags["tunnel"] = np.where(tunnel, "yes", "").astype(object)
    _say_classes(texts, unknown & is_line, ~walked & is_line, path=path, column=col.get("kind"))
    if not (walked & is_line).any():
        msg = (
            f"{path}: every line is of a class not walked "
            f"({', '.join(_top(texts, is_line))}); expected some walkable roads, or give the "
            "classes' kinds in [network.classes] of the --columns file"
        )
        raise InputError(msg)
    return tags, level, walked


def _levels(
    frame: gpd.GeoDataFrame, col: Mapping[str, str], *, where: Where
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's level, and whether it is a bridge, a tunnel.

    The level is the level column's, else 1 on a bridge, -1 in a tunnel, else 0, as
    OpenStreetMap reads ``layer``, ``bridge`` and ``tunnel``
    (:func:`carecircle.topology.edge_level`).
    """
    level = np.zeros(len(frame), dtype=np.int64)
    flags = []
    for field, step in (("bridge", 1), ("tunnel", -1)):
        yes = np.zeros(len(frame), dtype=bool)
        if field in col:
            column = col[field]
            yes_no_column(frame[column], where=where, column=column)
            yes = np.array([t.lower() in YES_TEXTS for t in as_text(frame[column])], dtype=bool)
            level[yes] = step
        flags.append(yes)
    if "level" in col:
        column = col["level"]
        given = numeric_column(
            frame[column], where=where, column=column, what="a level", minimum=None
        )
        whole = np.isnan(given) | (given == np.round(given))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            expected = "an integer level (0 on the ground) or blank"
            raise where.bad_value(i, column, frame[column].iloc[i], expected)
        known = ~np.isnan(given)
        level[known] = given[known].astype(np.int64)
    return level, flags[0], flags[1]


def _top(texts: Sequence[str], mask: np.ndarray, most: int = 5) -> list[str]:
    """The most frequent values of ``texts`` where ``mask``, with their counts."""
    counts = Counter(t for t, m in zip(texts, mask, strict=True) if m)
    shown = [f"{t or '(blank)'}: {n}" for t, n in counts.most_common(most)]
    if len(counts) > most:
        shown.append(f"{len(counts) - most} more")
    return shown


def _say_classes(
    texts: Sequence[str],
    unknown: np.ndarray,
    dropped: np.ndarray,
    *,
    path: Path,
    column: str | None,
) -> None:
    """Say in a line each: the lines not walked, and the classes not known."""
    if column is None:
        logger.warning(
            "%s: no road class column (expected one of %s); every line is walked as a road; map "
            "one with --column network.kind=COLUMN (columns={'kind': COLUMN} in Python)",
            path,
            ", ".join(repr(a) for a in ("kind", *NETWORK_ALIASES["kind"][:4])),
        )
        return
    if dropped.any():
        logger.info(
            "%s: %d line(s) of classes not walked left out (%s)",
            path,
            int(dropped.sum()),
            ", ".join(_top(texts, dropped)),
        )
    if unknown.any():
        logger.warning(
            "%s: %d line(s) of classes not known, walked as roads (column %r: %s); give their "
            "kinds in [network.classes] of the --columns file",
            path,
            int(unknown.sum()),
            column,
            ", ".join(_top(texts, unknown)),
        )


def _projected(
    geoms: gpd.GeoSeries, *, system: str, path: Path, what: str
) -> tuple[gpd.GeoSeries, CRS]:
    """The lines in the CRS to build the network in, converted from GCJ-02/BD-09 first."""
    crs = CRS.from_user_input(geoms.crs)
    if crs.is_geographic:
        x0, y0, x1, y1 = geoms.total_bounds
        if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
            msg = (
                f"{what} is said to be in {crs.name!r} (longitude/latitude), but its "
                f"coordinates reach x {x0:.0f}..{x1:.0f}, y {y0:.0f}..{y1:.0f}, which are "
                "metres: the CRS stored in it is wrong; store the right one (e.g. EPSG:4545 "
                "for CGCS2000 3-degree Gauss-Krüger CM 108°E)"
            )
            raise InputError(msg)
    if system != "wgs84":
        geoms = layer_to_wgs84(
            gpd.GeoDataFrame(geometry=geoms), system=system, path=path, role="network"
        )
        crs = CRS.from_epsg(4326)
    if crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter"):
        return geoms, crs
    lonlat = geoms.to_crs(4326).total_bounds
    target = network.utm_for(lonlat[[0, 2]], lonlat[[1, 3]])
    return geoms.to_crs(target), target


def _elevations(geoms: np.ndarray, *, path: Path) -> np.ndarray:
    """The lines with their z where it is an elevation: a line whose z is all 0 has none.

    CAD drawings and 2D exports carry z = 0 on every vertex: that is no elevation, and a line
    so drawn is taken as unknown (2D) while other lines keep theirs.
    """
    has_z = shapely.has_z(geoms)
    if not has_z.any():
        return geoms
    xyz, line = shapely.get_coordinates(geoms, include_z=True, return_index=True)
    real = np.isfinite(xyz[:, 2]) & (xyz[:, 2] != 0)
    flat = np.bincount(line, weights=real.astype(float), minlength=geoms.size) == 0
    out = geoms.copy()
    out[flat] = shapely.force_2d(geoms[flat])
    if (has_z & ~flat).any():
        zero = int((has_z & flat).sum())
        logger.info(
            "%s: the z of %d line(s) taken as their elevations%s",
            path,
            int((has_z & ~flat).sum()),
            f" ({zero} line(s) with z 0 everywhere have none)" if zero else "",
        )
    return out
