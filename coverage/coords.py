"""Chinese map coordinate systems: GCJ-02 and BD-09 to and from WGS-84.

Coordinates copied from Chinese web maps are rarely WGS-84. AutoNavi/Gaode (高德), Tencent and
Google China publish GCJ-02 ("Mars coordinates"); Baidu publishes BD-09. Both are offset from
the true (WGS-84) position by up to several hundred metres inside China, which is several
minutes of walking. carecircle converts such inputs to WGS-84 when it reads them and only
converts back for display on a GCJ-02 basemap.

The offsets themselves come from the maintained ``geocoordinates-rs`` library
(``geocoordinates_ffi``); this module only vectorises it over numpy arrays and shapely
geometries. The inverse conversions are approximate (within 0.5 m for GCJ-02 and 1 m for
BD-09, as reported by the library).

GCJ-02 is the identity outside China. BD-09 applies its constant shift everywhere, as the
public BD-09 formula does, so BD-09 input should only be declared for places in China.

:func:`check_crs` and :func:`check_same_crs` are the one CRS check of every user layer,
raster and DEM (after geopandas' ``_check_crs``): one rule, one message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal, get_args

import geocoordinates_ffi as gc
import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from .errors import InputError

logger = logging.getLogger(__name__)

Coords = Literal["wgs84", "gcj02", "bd09"]
"""A coordinate system of the input coordinates: WGS-84, GCJ-02 (Gaode/Tencent), BD-09 (Baidu)."""

SYSTEMS: tuple[str, ...] = get_args(Coords)
"""Coordinate systems accepted wherever a ``system`` or ``coords`` option is taken."""

_PointFn = Callable[[float, float], tuple[float, float]]


def _gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    p = gc.gcj02_to_wgs84_refined(gc.Gcj02(lat=lat, lon=lon))
    return float(p.lon), float(p.lat)


def _bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    p = gc.bd09_to_wgs84_refined(gc.Bd09(lat=lat, lon=lon))
    return float(p.lon), float(p.lat)


def _wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    p = gc.wgs84_to_gcj02(gc.Wgs84(lat=lat, lon=lon))
    return float(p.lon), float(p.lat)


def _wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    p = gc.wgs84_to_bd09(gc.Wgs84(lat=lat, lon=lon))
    return float(p.lon), float(p.lat)


_TO_WGS84: dict[str, _PointFn] = {"gcj02": _gcj02_to_wgs84, "bd09": _bd09_to_wgs84}
_FROM_WGS84: dict[str, _PointFn] = {"gcj02": _wgs84_to_gcj02, "bd09": _wgs84_to_bd09}


def check_crs(crs: Any, *, what: str, projected: bool = False, fix: str | None = None) -> CRS:
    """The CRS of a layer or raster, refused in one line when it has none.

    Parameters
    ----------
    crs : pyproj.CRS, str, rasterio CRS or None
        The CRS found (a GeoDataFrame's ``.crs``, a raster's ``.crs``).
    what : str, keyword-only
        What holds it, for the message: ``"dem.tif: the DEM"``, ``"communities.gpkg: layer
        'communities'"``, ``"the facilities"``.
    projected : bool, keyword-only
        Also refuse a CRS that is not projected (metric work needs metres).
    fix : str, optional, keyword-only
        How to give the missing CRS, where the usual advice (set one in the file) is not the
        best (a CAD drawing has none to set).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    InputError
        When ``crs`` is None (or, with ``projected``, geographic).

    Examples
    --------
    >>> check_crs("EPSG:4326", what="the communities").to_epsg()
    4326

    """
    if crs is None:
        fix = fix or (
            "set one in the file, e.g. EPSG:4326 for longitude/latitude (a GeoDataFrame: "
            ".set_crs())"
        )
        msg = f"{what} has no coordinate reference system (CRS); {fix}"
        raise InputError(msg)
    found = CRS.from_user_input(crs)
    if projected and not found.is_projected:
        msg = (
            f"{what} is in {found.name!r}, which is not projected; expected a projected CRS in "
            "metres (reproject with .to_crs(), e.g. to .estimate_utm_crs())"
        )
        raise InputError(msg)
    return found


def check_same_crs(first: Any, second: Any, *, what: tuple[str, str]) -> CRS:
    """The one CRS two layers share, refused in one line when they differ.

    Parameters
    ----------
    first, second : pyproj.CRS, str or None
        The two layers' CRSs (each checked by :func:`check_crs`).
    what : tuple of str, keyword-only
        What the two layers are, for the message: ``("the communities", "the facilities")``.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    InputError
        When either has no CRS, or they differ.

    """
    crs_a = check_crs(first, what=what[0])
    crs_b = check_crs(second, what=what[1])
    if not crs_a.equals(crs_b):
        msg = (
            f"{what[0]} are in {crs_a.name!r} but {what[1]} in {crs_b.name!r}; expected one "
            "CRS: reproject one with .to_crs() first"
        )
        raise InputError(msg)
    return crs_a


def check_system(system: str) -> str:
    """Return ``system`` if it names a known coordinate system, else raise.

    Parameters
    ----------
    system : str
        One of :data:`SYSTEMS`: ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    str
        The same name.

    Raises
    ------
    InputError
        If ``system`` is not one of :data:`SYSTEMS`.

    """
    if system not in SYSTEMS:
        accepted = ", ".join(repr(s) for s in SYSTEMS)
        msg = f"unknown coordinate system {system!r}; expected one of {accepted}"
        raise InputError(msg)
    return system


def _as_pair(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        lon_a = np.array(lon, dtype=float)
        lat_a = np.array(lat, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"longitudes and latitudes must be numbers: {exc}"
        raise InputError(msg) from exc
    if lon_a.shape != lat_a.shape:
        msg = (
            f"longitudes and latitudes differ in shape: {lon_a.shape} and {lat_a.shape}; "
            "expected one latitude per longitude"
        )
        raise InputError(msg)
    return lon_a, lat_a


def _check_range(lon: np.ndarray, lat: np.ndarray) -> None:
    with np.errstate(invalid="ignore"):
        bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        value = (float(lon.ravel()[i]), float(lat.ravel()[i]))
        msg = (
            f"point {i}: found (lon, lat) = {value!r}; expected longitude within ±180 "
            "and latitude within ±90 degrees"
        )
        raise InputError(msg)


def _apply(fn: _PointFn, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a point conversion to every finite pair; non-finite pairs come back as NaN.

    Repeated points (shared polygon boundaries) are converted once, so identical input
    vertices always give identical output vertices.
    """
    _check_range(lon, lat)
    out_lon = np.full(lon.shape, np.nan)
    out_lat = np.full(lat.shape, np.nan)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if not finite.any():
        return out_lon, out_lat
    pairs = np.column_stack([lon[finite], lat[finite]])
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    converted = np.empty_like(unique)
    for k, (x, y) in enumerate(unique):
        try:
            converted[k] = fn(float(x), float(y))
        except gc.GeoError as exc:  # the range is checked above; this is a safety net
            msg = f"cannot convert (lon, lat) = {(float(x), float(y))!r}: {exc}"
            raise InputError(msg) from exc
    inverse = inverse.reshape(-1)
    out_lon[finite] = converted[inverse, 0]
    out_lat[finite] = converted[inverse, 1]
    return out_lon, out_lat


def to_wgs84(lon: np.ndarray, lat: np.ndarray, *, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert longitudes and latitudes from ``system`` to WGS-84.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Longitudes and latitudes in decimal degrees, in ``system``; same shape. NaN pairs
        stay NaN.
    system : str
        The system the input is in: ``"wgs84"`` (returned as copies), ``"gcj02"``
        (Gaode/Tencent) or ``"bd09"`` (Baidu).

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in WGS-84 decimal degrees, new float arrays of the input shape.
        GCJ-02 inverses are within 0.5 m, BD-09 within 1 m.

    Raises
    ------
    InputError
        If ``system`` is unknown, the arrays differ in shape or are not numeric, or a
        point lies outside ±180 / ±90 degrees.

    """
    check_system(system)
    lon_a, lat_a = _as_pair(lon, lat)
    if system == "wgs84":
        return lon_a, lat_a  # _as_pair already copied
    return _apply(_TO_WGS84[system], lon_a, lat_a)


def from_wgs84(lon: np.ndarray, lat: np.ndarray, *, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 longitudes and latitudes to ``system`` (e.g. for a GCJ-02 basemap).

    Parameters
    ----------
    lon, lat : numpy.ndarray
        WGS-84 longitudes and latitudes in decimal degrees; same shape. NaN pairs stay NaN.
    system : str
        The target system: ``"wgs84"`` (returned as copies), ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in ``system``, new float arrays of the input shape. The forward
        conversions are exact.

    Raises
    ------
    InputError
        If ``system`` is unknown, the arrays differ in shape or are not numeric, or a
        point lies outside ±180 / ±90 degrees.

    """
    check_system(system)
    lon_a, lat_a = _as_pair(lon, lat)
    if system == "wgs84":
        return lon_a, lat_a
    return _apply(_FROM_WGS84[system], lon_a, lat_a)


def _is_lonlat_4326(crs: Any) -> bool:
    if crs is None:
        return False
    return bool(CRS.from_user_input(crs).equals(CRS.from_epsg(4326), ignore_axis_order=True))


def geometries_to_wgs84(geoms: gpd.GeoSeries, *, system: str) -> gpd.GeoSeries:
    """Convert every vertex of every geometry from ``system`` to WGS-84.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Geometries whose coordinates are longitude/latitude in ``system``; the series must
        carry CRS EPSG:4326 (the label GCJ-02 and BD-09 data are usually stored under).
        Missing and empty geometries are kept as they are; Z values are kept.
    system : str
        ``"wgs84"`` (returns a copy), ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    geopandas.GeoSeries
        A new series with the same index, name and CRS (EPSG:4326).

    Raises
    ------
    InputError
        If ``system`` is unknown or ``geoms`` is not in EPSG:4326.

    """
    check_system(system)
    if not _is_lonlat_4326(geoms.crs):
        crs = geoms.crs.to_string() if geoms.crs is not None else "no CRS"
        msg = (
            f"geometries are in {crs}; expected EPSG:4326 longitude/latitude before a "
            f"{system} conversion (reproject with .to_crs(4326) first)"
        )
        raise InputError(msg)
    if system == "wgs84":
        return geoms.copy()
    fn = _TO_WGS84[system]

    def convert(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float)
        out[:, 0], out[:, 1] = _apply(fn, coords[:, 0], coords[:, 1])
        return out

    values = shapely.transform(np.asarray(geoms.array), convert, include_z=True)
    return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs, name=geoms.name)
