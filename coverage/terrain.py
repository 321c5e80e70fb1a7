"""Slopes from a DEM or the network's own elevations: grades along every edge, and their cost.

A DEM (a GeoTIFF in any CRS: SRTM, Copernicus GLO-30, ALOS AW3D30 or a city's own survey) is
read with rasterio over the window that covers the network only (:func:`read_dem`), and
interpolated bilinearly in numpy at any points of the network's CRS (:func:`elevation_at`).

:func:`slope_costs` samples every edge along its geometry every ``dem_spacing_m`` metres (both
ends included, and at least its middle, so a street that goes over a ridge climbs it), all edges
at once, and turns each stretch's grade into flat-equivalent metres, walked ``u`` to ``v`` and
``v`` to ``u`` separately, with Tobler's hiking function (Tobler 1993)::

    W(S) = 6 exp(-3.5 |S + 0.05|) km/h,   S = dz / dx (rise over run)

normalised so that flat ground gives factor 1 (the profile's speed)::

    f(S) = W(S) / W(0) = exp(-3.5 (|S + 0.05| - 0.05)),  capped at ``max_speed_factor``

A stretch of ``dx`` metres at grade ``S`` takes as long as ``dx / f(S)`` metres on flat ground.
Tobler's function peaks at a gentle descent (S = -0.05, 1.19 times the flat speed); the cap (1 by
default) keeps older residents from walking faster downhill than on the flat.

A network may bring elevations of its own instead: a surveyed road layer's 3D polylines (a
district bureau's) give every vertex of its lines an elevation,
:attr:`WalkNetwork.z_m <carecircle.network.WalkNetwork.z_m>`. :func:`vertex_slope_costs` costs
every edge whose vertices all have one, all edges at once and with no DEM: each stretch between
two consecutive vertices has the grade ``dz / dx`` (``dx`` its length in the plane) and costs
``dx / f(S)`` walking ``u`` to ``v`` and ``dx / f(-S)`` back, the stretches scaled to add up to
the edge's ``length_m`` as the DEM's samples are; a flight of steps climbs the way its ends'
elevations say. Vertices are taken as surveyed, without smoothing: edges with a stretch steeper
than 1:1 (:data:`STEEP_GRADE`, more likely a slip of the survey than a way) are counted in a
warning. :func:`apply` takes each edge's slopes from its own elevations where all are known
(a survey beats a 30 m DEM), from the DEM elsewhere, and flat where neither is known, and says
which in the network's ``walking`` metadata (``slope_source``, and the edges from each). The
walks from a home to the street and from the street to a facility take their grade from the
DEM only: with elevations on the network and no DEM they count as flat.

Reference: W. Tobler (1993), "Three presentations on geographical analysis and modeling:
non-isotropic geographic modeling", NCGIA Technical Report 93-1, University of California,
Santa Barbara.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from .coords import check_crs
from .errors import InputError, NetworkError
from .network import WalkNetwork
from .policy import Walking

logger = logging.getLogger(__name__)

#: Tobler's exponent (per unit grade) and the grade of his fastest walk (a gentle descent).
TOBLER_K = 3.5
TOBLER_PEAK_GRADE = -0.05

#: Elevations outside this range, in metres, are not elevations: a nodata mark the file does
#: not declare (-32768, -9999, 1e38), or feet or centimetres.
MIN_ELEVATION_M = -500.0
MAX_ELEVATION_M = 9_000.0

#: A stretch between two surveyed vertices steeper than this (rise over run, 1:1) is more
#: likely a slip of the survey than a way; such edges are counted and said in a warning.
STEEP_GRADE = 1.0

#: Points are interpolated, and edges costed, in blocks of this many, to bound the memory of
#: the temporaries.
_BLOCK = 2_000_000
_EDGES = 250_000


@dataclass(frozen=True, eq=False)
class Elevation:
    """Elevations of a DEM over the part that covers a network, ready to interpolate.

    Attributes
    ----------
    z_m : numpy.ndarray
        Elevations in metres (float64, rows by columns of the window read); NaN where the DEM
        holds nodata, NaN or a masked cell.
    transform : affine.Affine
        Affine transform of the window: pixel (column, row) corner to ``crs`` coordinates.
    crs : pyproj.CRS
        The DEM's own CRS (geographic or projected).
    net_crs : pyproj.CRS
        The CRS of the points asked for (the network's, projected, metres).
    source : str
        The DEM file, for metadata.
    to_dem : pyproj.Transformer or None
        From ``net_crs`` to ``crs``; ``None`` when they are the same.

    """

    z_m: np.ndarray
    transform: Affine
    crs: CRS
    net_crs: CRS
    source: str
    to_dem: Transformer | None = None

    @property
    def cell_size(self) -> tuple[float, float]:
        """Cell width and height in the DEM's CRS units (metres or degrees)."""
        return float(abs(self.transform.a)), float(abs(self.transform.e))

    def metadata(self) -> dict[str, Any]:
        """What was read, for a run's metadata."""
        rows, cols = self.z_m.shape
        return {
            "dem": self.source,
            "dem_crs": self.crs.to_string(),
            "dem_cell_size": list(self.cell_size),
            "dem_window_cells": [int(rows), int(cols)],
            "dem_nodata_share": round(float(np.isnan(self.z_m).mean()), 6),
        }

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elevations in metres at points of ``net_crs`` (see :func:`elevation_at`)."""
        return elevation_at(self, x, y)


@dataclass(frozen=True)
class SlopeCosts:
    """Flat-equivalent walking metres of every edge, each way, from a DEM.

    Attributes
    ----------
    uv_m, vu_m : numpy.ndarray
        Metres on flat ground that take as long as the edge walked from ``u`` to ``v`` and from
        ``v`` to ``u``; ``length_m`` where the ground is flat or unknown.
    rise_m : numpy.ndarray
        Elevation of ``v`` minus elevation of ``u``, metres; NaN where either end is unknown.
    climb_m : numpy.ndarray
        Total ascent walking from ``u`` to ``v``, metres, over the stretches whose grade is
        known (the descent is ``climb_m - rise_m``).
    spacing_m : float
        The sample spacing used along edges, metres.
    n_samples : int
        Elevation samples taken, all edges together.
    n_nodata_edges : int
        Edges with a sample on a nodata cell of the DEM (those stretches count as flat).
    n_outside_edges : int
        Edges with a sample outside the DEM (those stretches count as flat).

    """

    uv_m: np.ndarray
    vu_m: np.ndarray
    rise_m: np.ndarray
    climb_m: np.ndarray
    spacing_m: float
    n_samples: int
    n_nodata_edges: int
    n_outside_edges: int

    def metadata(self) -> dict[str, Any]:
        """Counts and settings, for a run's metadata."""
        return {
            "dem_spacing_m": self.spacing_m,
            "dem_samples": self.n_samples,
            "edges_with_nodata": self.n_nodata_edges,
            "edges_outside_dem": self.n_outside_edges,
        }


@dataclass(frozen=True)
class VertexSlopes:
    """Flat-equivalent walking metres of every edge, each way, from its vertices' elevations.

    Attributes
    ----------
    uv_m, vu_m : numpy.ndarray
        Metres on flat ground that take as long as the edge walked from ``u`` to ``v`` and from
        ``v`` to ``u``; ``length_m`` where the edge is not ``complete``.
    rise_m : numpy.ndarray
        Elevation of the last vertex minus that of the first (``v`` minus ``u``), metres; NaN
        where the edge is not ``complete``.
    climb_m : numpy.ndarray
        Total ascent walking from ``u`` to ``v``, metres; 0 where the edge is not ``complete``.
    complete : numpy.ndarray
        Boolean per edge: every vertex has a known elevation (finite, within
        :data:`MIN_ELEVATION_M` to :data:`MAX_ELEVATION_M`) and the line has a length, so
        the metres above come from them.
    n_steep_edges : int
        ``complete`` edges with a stretch steeper than :data:`STEEP_GRADE`.

    """

    uv_m: np.ndarray
    vu_m: np.ndarray
    rise_m: np.ndarray
    climb_m: np.ndarray
    complete: np.ndarray
    n_steep_edges: int

    def metadata(self) -> dict[str, Any]:
        """Counts, for a run's metadata."""
        return {"network_z_steep_edges": self.n_steep_edges}


def check_dem(path: str | Path) -> None:
    """Say in one line, before anything slow, when ``path`` is no DEM this can read.

    Raises
    ------
    InputError
        The file is missing, not a raster, or has no CRS.

    """
    import rasterio
    from rasterio.errors import RasterioError

    name = str(path)
    if not Path(path).is_file():
        msg = f"{name}: no such DEM file; expected a GeoTIFF of elevations (--dem)"
        raise InputError(msg)
    try:
        with rasterio.open(name) as dataset:
            crs = dataset.crs
    except (RasterioError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f"{name}: cannot be read as a DEM raster (a GeoTIFF of elevations): {first}"
        raise InputError(msg) from None
    check_crs(crs, what=f"{name}: the DEM")


def read_dem(
    path: str | Path,
    *,
    net_crs: str | CRS,
    bounds: tuple[float, float, float, float],
    margin_m: float = 500.0,
) -> Elevation:
    """Read the part of a DEM GeoTIFF that covers ``bounds``.

    Parameters
    ----------
    path : str or pathlib.Path
        A single-band raster of elevations in metres (GeoTIFF), in any CRS; band 1 is read.
        Nodata cells (the file's nodata value, NaN, or an internal mask) are kept as unknown.
    net_crs : str or pyproj.CRS, keyword-only
        CRS of the network (projected, metres).
    bounds : tuple of float, keyword-only
        ``(minx, miny, maxx, maxy)`` of the network in ``net_crs``; every point later asked for
        should lie within it plus ``margin_m``.
    margin_m : float, keyword-only
        Metres read around ``bounds`` (homes and facilities a little outside the network).

    Returns
    -------
    Elevation

    Raises
    ------
    InputError
        The file is not a readable raster, has no CRS, does not overlap the network at all,
        or holds only nodata there.

    """
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window

    net_crs = CRS.from_user_input(net_crs)
    name = str(path)
    try:
        dataset = rasterio.open(name)
    except (RasterioError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f"{name}: cannot be read as a DEM raster (a GeoTIFF of elevations): {first}"
        raise InputError(msg) from None
    with dataset:
        check_crs(dataset.crs, what=f"{name}: the DEM")
        dem_crs = CRS.from_user_input(dataset.crs.to_wkt())
        same = dem_crs.equals(net_crs)
        to_dem = None if same else Transformer.from_crs(net_crs, dem_crs, always_xy=True)
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        box = (minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)
        if to_dem is not None:
            box = to_dem.transform_bounds(*box, densify_pts=21)
        inverse = ~dataset.transform
        corner_x = np.array([box[0], box[0], box[2], box[2]])
        corner_y = np.array([box[1], box[3], box[1], box[3]])
        cols = inverse.a * corner_x + inverse.b * corner_y + inverse.c
        rows = inverse.d * corner_x + inverse.e * corner_y + inverse.f
        col0 = max(math.floor(cols.min()) - 2, 0)
        row0 = max(math.floor(rows.min()) - 2, 0)
        col1 = min(math.ceil(cols.max()) + 2, dataset.width)
        row1 = min(math.ceil(rows.max()) + 2, dataset.height)
        if col1 <= col0 or row1 <= row0:
            left, bottom, right, top = dataset.bounds
            msg = (
                f"{name}: the DEM ({left:.6g}, {bottom:.6g}, {right:.6g}, {top:.6g} in "
                f"{dem_crs.to_string()}) does not overlap the network "
                f"({minx:.1f}, {miny:.1f}, {maxx:.1f}, {maxy:.1f} in {net_crs.to_string()}); "
                "expected a DEM covering the district"
            )
            raise InputError(msg)
        window = Window(col0, row0, col1 - col0, row1 - row0)
        band = dataset.read(1, window=window, masked=True, out_dtype="float64")
        z_m = np.ma.filled(band, np.nan).astype(np.float64, copy=False)
        z_m[~np.isfinite(z_m)] = np.nan
        if np.isnan(z_m).all():
            msg = (
                f"{name}: the DEM holds only nodata over the network (nodata value "
                f"{dataset.nodata!r}); expected elevations there"
            )
            raise InputError(msg)
        odd = np.flatnonzero((z_m < MIN_ELEVATION_M) | (z_m > MAX_ELEVATION_M))
        if odd.size:
            row, col = np.unravel_index(odd[0], z_m.shape)
            msg = (
                f"{name}: band 1, row {row0 + row}, column {col0 + col} holds {z_m[row, col]:.6g}, "
                f"and {odd.size} cell(s) over the network lie outside {MIN_ELEVATION_M:g} to "
                f"{MAX_ELEVATION_M:g}; expected elevations in metres (set the file's nodata "
                "value if that is its mark for no data)"
            )
            raise InputError(msg)
        whole = dataset.transform
        transform = Affine(
            whole.a,
            whole.b,
            whole.c + whole.a * col0 + whole.b * row0,
            whole.d,
            whole.e,
            whole.f + whole.d * col0 + whole.e * row0,
        )
    return Elevation(
        z_m=z_m, transform=transform, crs=dem_crs, net_crs=net_crs, source=name, to_dem=to_dem
    )


def elevation_at(elev: Elevation, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elevations in metres at points, by bilinear interpolation between cell centres.

    Parameters
    ----------
    elev : Elevation
        From :func:`read_dem`.
    x, y : numpy.ndarray
        Point coordinates in ``elev.net_crs`` (metres).

    Returns
    -------
    numpy.ndarray
        One elevation per point; NaN where a cell the interpolation needs is nodata, or the
        point is outside the DEM (or the part of it read). Between the outermost cell centres
        and the DEM's edge the edge cells' values hold.

    """
    return _sample(elev, x, y)[0]


def _sample(elev: Elevation, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevations at points of ``net_crs`` and whether each point is outside the DEM window."""
    return _sample_dem(elev, *_to_dem(elev, x, y))


def _to_dem(elev: Elevation, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of ``net_crs`` in the DEM's CRS."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if elev.to_dem is None:
        return x, y
    px, py = elev.to_dem.transform(x, y)
    return np.asarray(px, dtype=float), np.asarray(py, dtype=float)


def _sample_dem(elev: Elevation, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevations at points of the DEM's CRS and whether each point is outside its window."""
    z_out = np.empty(x.size)
    outside_out = np.empty(x.size, dtype=bool)
    grid = elev.z_m
    if min(grid.shape) < 2:  # one row or column: repeat it, so every point has four cells
        grid = np.pad(grid, [(0, 1 if n < 2 else 0) for n in grid.shape], mode="edge")
    rows, cols = elev.z_m.shape
    flat = grid.ravel()
    width = grid.shape[1]
    inverse = ~elev.transform
    for start in range(0, x.size, _BLOCK):
        px, py = x[start : start + _BLOCK], y[start : start + _BLOCK]
        # Fractional indices with cell centres at whole numbers.
        c = inverse.a * px + inverse.b * py + inverse.c - 0.5
        r = inverse.d * px + inverse.e * py + inverse.f - 0.5
        outside = ~((c >= -0.5) & (c <= cols - 0.5) & (r >= -0.5) & (r <= rows - 0.5))
        c = np.clip(np.nan_to_num(c), 0.0, cols - 1.0)
        r = np.clip(np.nan_to_num(r), 0.0, rows - 1.0)
        c0 = np.minimum(np.floor(c).astype(np.int64), grid.shape[1] - 2)
        r0 = np.minimum(np.floor(r).astype(np.int64), grid.shape[0] - 2)
        fc, fr = c - c0, r - r0
        at = r0 * width + c0
        z = _bilinear(flat, at, width, fr, fc)
        # A nodata cell with no weight (a point on a line of cell centres) is not needed.
        again = np.flatnonzero(np.isnan(z) & ~outside)
        if again.size:
            z[again] = _bilinear(flat, at[again], width, fr[again], fc[again], weighted_only=True)
        z[outside] = np.nan
        z_out[start : start + px.size] = z
        outside_out[start : start + px.size] = outside
    return z_out, outside_out


def _bilinear(
    flat: np.ndarray,
    at: np.ndarray,
    width: int,
    fr: np.ndarray,
    fc: np.ndarray,
    *,
    weighted_only: bool = False,
) -> np.ndarray:
    """Bilinear mix of the four cells from flat index ``at`` (NaN if any of them is NaN).

    With ``weighted_only``, cells of zero weight are left out, NaN or not.
    """
    z = np.zeros(at.size)
    for offset, weight in (
        (0, (1.0 - fr) * (1.0 - fc)),
        (1, (1.0 - fr) * fc),
        (width, fr * (1.0 - fc)),
        (width + 1, fr * fc),
    ):
        cell = flat[at + offset]
        if weighted_only:
            cell = np.where(weight > 0.0, cell, 0.0)
        z += weight * cell
    return z


def speed_factor(grade: np.ndarray, walking: Walking) -> np.ndarray:
    """Walking speed at each grade as a multiple of the flat speed.

    Tobler's hiking function normalised to 1 on flat ground,
    ``exp(-3.5 (|S + 0.05| - 0.05))``, capped at ``walking.max_speed_factor``; 1 everywhere
    when ``walking.slope_model`` is ``"none"``. ``grade`` is rise over run (0.1 = 10 %
    uphill, -0.1 downhill).
    """
    grade = np.asarray(grade, dtype=float)
    if walking.slope_model == "none":
        return np.ones_like(grade)
    factor = np.exp(-TOBLER_K * (np.abs(grade - TOBLER_PEAK_GRADE) + TOBLER_PEAK_GRADE))
    return np.minimum(factor, walking.max_speed_factor)


def slope_costs(net: WalkNetwork, elev: Elevation, walking: Walking) -> SlopeCosts:
    """Flat-equivalent metres of every edge, each way, from elevations sampled along it.

    Every edge is sampled along its geometry at ``walking.dem_spacing_m`` (at least three
    samples: both ends and the middle), all edges at once (in blocks of 250,000 edges). Each
    stretch between two samples has the grade ``dz / dx`` and costs ``dx / f(S)`` walking ``u``
    to ``v`` and ``dx / f(-S)`` back (:func:`speed_factor`); the stretches of an edge split its
    ``length_m`` evenly. A stretch with an unknown end (nodata, outside the DEM) counts as
    flat; such edges are counted and logged in one warning line.

    Parameters
    ----------
    net : WalkNetwork
        The network (geometries in ``net.crs``, which must be ``elev.net_crs``).
    elev : Elevation
        From :func:`read_dem`.
    walking : Walking
        The profile's ``[walking]`` rules (slope model, speed cap, sample spacing).

    Returns
    -------
    SlopeCosts

    """
    return _slope_costs(
        net.geometry, np.asarray(net.length_m, dtype=float), elev, walking, net_crs=net.crs
    )


def _slope_costs(
    geometry: np.ndarray,
    length_m: np.ndarray,
    elev: Elevation,
    walking: Walking,
    *,
    net_crs: CRS,
) -> SlopeCosts:
    """:func:`slope_costs` of the edges with these geometries and lengths (some of a network)."""
    n_edges = int(geometry.size)
    spacing_m = float(walking.dem_spacing_m)
    if not elev.net_crs.equals(net_crs):
        msg = (
            f"the DEM was read for {elev.net_crs.to_string()} but the network is in "
            f"{net_crs.to_string()}; read it again with net_crs=net.crs"
        )
        raise InputError(msg)
    if not spacing_m > 0:
        msg = f"[walking] dem_spacing_m must be a positive number of metres, got {spacing_m!r}"
        raise InputError(msg)
    if n_edges == 0:
        empty = np.empty(0)
        return SlopeCosts(empty, empty, empty, empty, spacing_m, 0, 0, 0)

    blocks = [
        _edge_costs(geometry[i : i + _EDGES], length_m[i : i + _EDGES], elev, walking)
        for i in range(0, n_edges, _EDGES)
    ]
    uv_m, vu_m, rise_m, climb_m, nodata_edges, outside_edges = (
        np.concatenate([block[j] for block in blocks]) for j in range(6)
    )
    n_nodata, n_outside = int(nodata_edges.sum()), int(outside_edges.sum())
    if n_nodata or n_outside:
        logger.warning(
            "DEM %s: %d of %d edges have samples on nodata cells and %d lie partly outside the "
            "DEM; those stretches count as flat",
            elev.source,
            n_nodata,
            n_edges,
            n_outside,
        )
    return SlopeCosts(
        uv_m=uv_m,
        vu_m=vu_m,
        rise_m=rise_m,
        climb_m=climb_m,
        spacing_m=spacing_m,
        n_samples=int(sum(block[6] for block in blocks)),
        n_nodata_edges=n_nodata,
        n_outside_edges=n_outside,
    )


def _edge_costs(
    geometry: np.ndarray, length_m: np.ndarray, elev: Elevation, walking: Walking
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`slope_costs` for a block of edges, all at once.

    Returns ``uv_m, vu_m, rise_m, climb_m``, the edges with nodata samples, the edges with
    samples outside the DEM, and the number of samples.
    """
    n_edges = geometry.size
    spacing_m = float(walking.dem_spacing_m)
    # Every edge's vertices on one axis of distance along, with a 1 m gap between edges, so
    # one np.interp places every sample of every edge.
    coords, owner = shapely.get_coordinates(geometry, return_index=True)
    step = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    step[owner[1:] != owner[:-1]] = 1.0
    along = np.concatenate([[0.0], np.cumsum(step)])
    last = np.cumsum(np.bincount(owner, minlength=n_edges)) - 1
    first = np.concatenate([[0], last[:-1] + 1])
    start, line_m = along[first], along[last] - along[first]

    # pieces + 1 evenly spaced samples per edge, ends included, at least one in the middle
    pieces = np.maximum(np.ceil(line_m / spacing_m), 2).astype(np.int64)
    n_points = pieces + 1
    edge_of = np.repeat(np.arange(n_edges), n_points)
    offsets = np.cumsum(n_points) - n_points
    k = np.arange(edge_of.size) - offsets[edge_of]
    at = start[edge_of] + line_m[edge_of] * (k / pieces[edge_of])
    # Vertices go to the DEM's CRS once; samples between them are placed there linearly by
    # their distance along the edge in the network's CRS (a straight stretch bends by
    # millimetres in degrees).
    dem_x, dem_y = _to_dem(elev, coords[:, 0], coords[:, 1])
    z, outside = _sample_dem(elev, np.interp(at, along, dem_x), np.interp(at, along, dem_y))

    # stretches: from sample i to sample i + 1 of the same edge
    head = np.flatnonzero(k[1:] > 0)
    seg_edge = edge_of[head]
    dz = z[head + 1] - z[head]
    known = ~np.isnan(dz)
    dx = length_m[seg_edge] / pieces[seg_edge]
    grade = np.divide(dz, dx, out=np.zeros_like(dz), where=known & (dx > 0))
    slow_uv = 1.0 / speed_factor(grade, walking)
    slow_vu = 1.0 / speed_factor(-grade, walking)
    uv_m = length_m * np.bincount(seg_edge, slow_uv, minlength=n_edges) / pieces
    vu_m = length_m * np.bincount(seg_edge, slow_vu, minlength=n_edges) / pieces
    climb_m = np.bincount(seg_edge, np.where(known, np.maximum(dz, 0.0), 0.0), minlength=n_edges)
    rise_m = z[offsets + pieces] - z[offsets]
    nodata = np.bincount(edge_of, np.isnan(z) & ~outside, minlength=n_edges) > 0
    beyond = np.bincount(edge_of, outside, minlength=n_edges) > 0
    return uv_m, vu_m, rise_m, climb_m, nodata, beyond, int(z.size)


def vertex_slope_costs(net: WalkNetwork, walking: Walking) -> VertexSlopes:
    """Flat-equivalent metres of every edge, each way, from its vertices' own elevations.

    An edge is costed where every vertex of its geometry has a known elevation in
    :attr:`WalkNetwork.z_m <carecircle.network.WalkNetwork.z_m>` (``complete``): each stretch
    between two consecutive vertices has the grade ``dz / dx``, ``dx`` its length in the plane,
    and costs ``dx / f(S)`` walking ``u`` to ``v`` and ``dx / f(-S)`` back
    (:func:`speed_factor`); the stretches are scaled to add up to the edge's ``length_m``. A
    stretch of no length in the plane (a repeated vertex) costs nothing, whatever its rise.
    All edges at once, in blocks of 250,000 edges. Edges with a stretch steeper than
    :data:`STEEP_GRADE` are counted and said in one warning line.

    Parameters
    ----------
    net : WalkNetwork
        The network, with ``z_m`` (metres, one per vertex of ``net.geometry`` in the order of
        ``shapely.get_coordinates``, NaN where unknown).
    walking : Walking
        The profile's ``[walking]`` rules (slope model, speed cap).

    Returns
    -------
    VertexSlopes

    Raises
    ------
    NetworkError
        ``net.z_m`` is missing or does not hold one elevation per vertex.

    """
    per_edge = shapely.get_num_coordinates(net.geometry).astype(np.int64)
    n_vertices = int(per_edge.sum())
    if net.z_m is None or np.shape(net.z_m) != (n_vertices,):
        found = "none" if net.z_m is None else f"shape {np.shape(net.z_m)}"
        msg = (
            f"{net.source or 'the network'}: vertex elevations (z_m) hold {found}; expected one "
            f"per vertex of its edges' geometries ({n_vertices})"
        )
        raise NetworkError(msg)
    z_m = np.asarray(net.z_m, dtype=float)
    length_m = np.asarray(net.length_m, dtype=float)
    start = np.concatenate([[0], np.cumsum(per_edge)])
    blocks = [
        _vertex_costs(
            net.geometry[i : i + _EDGES],
            length_m[i : i + _EDGES],
            z_m[start[i] : start[min(i + _EDGES, net.n_edges)]],
            walking,
        )
        for i in range(0, net.n_edges, _EDGES)
    ]
    uv_m, vu_m, rise_m, climb_m, complete, steep = (
        np.concatenate([block[j] for block in blocks]) if blocks else np.empty(0) for j in range(6)
    )
    n_steep = int(np.count_nonzero(steep))
    if n_steep:
        logger.warning(
            "%s: %d of %d edges have a stretch between two vertices steeper than %g %% by their "
            "own elevations (z), more likely a slip of the survey than a way; they are costed "
            "as surveyed",
            net.source or "network",
            n_steep,
            net.n_edges,
            100 * STEEP_GRADE,
        )
    return VertexSlopes(
        uv_m=uv_m,
        vu_m=vu_m,
        rise_m=rise_m,
        climb_m=climb_m,
        complete=complete.astype(bool),
        n_steep_edges=n_steep,
    )


def _vertex_costs(
    geometry: np.ndarray, length_m: np.ndarray, z_m: np.ndarray, walking: Walking
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`vertex_slope_costs` for a block of edges, all at once.

    Returns ``uv_m, vu_m, rise_m, climb_m``, whether each edge is complete, and whether it
    has a stretch steeper than :data:`STEEP_GRADE`.
    """
    n_edges = geometry.size
    coords, owner = shapely.get_coordinates(geometry, return_index=True)
    known = np.isfinite(z_m) & (z_m >= MIN_ELEVATION_M) & (z_m <= MAX_ELEVATION_M)
    # stretches: from vertex i to vertex i + 1 of the same edge
    head = np.flatnonzero(owner[1:] == owner[:-1])
    seg_edge = owner[head]
    dx = np.hypot(coords[head + 1, 0] - coords[head, 0], coords[head + 1, 1] - coords[head, 1])
    dz = z_m[head + 1] - z_m[head]
    line_m = np.bincount(seg_edge, dx, minlength=n_edges)
    complete = (np.bincount(owner, ~known, minlength=n_edges) == 0) & (line_m > 0)
    use = complete[seg_edge] & (dx > 0)
    grade = np.divide(dz, dx, out=np.zeros_like(dz), where=use)
    slow_uv = dx / speed_factor(grade, walking)
    slow_vu = dx / speed_factor(-grade, walking)
    scale = np.divide(length_m, line_m, out=np.zeros(n_edges), where=complete)
    uv_m = np.where(complete, scale * np.bincount(seg_edge, slow_uv, minlength=n_edges), length_m)
    vu_m = np.where(complete, scale * np.bincount(seg_edge, slow_vu, minlength=n_edges), length_m)
    up = np.where(complete[seg_edge], np.maximum(dz, 0.0), 0.0)
    climb_m = np.where(complete, np.bincount(seg_edge, up, minlength=n_edges), 0.0)
    count = np.bincount(owner, minlength=n_edges)
    last = np.cumsum(count) - 1
    first = last - count + 1
    ends = complete.nonzero()[0]
    rise_m = np.full(n_edges, np.nan)
    rise_m[ends] = z_m[last[ends]] - z_m[first[ends]]
    steep = np.bincount(seg_edge, use & (np.abs(grade) > STEEP_GRADE), minlength=n_edges) > 0
    return uv_m, vu_m, rise_m, climb_m, complete, steep


def access_walk_m(
    elev: Elevation,
    walking: Walking,
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
) -> np.ndarray:
    """Flat-equivalent metres of straight walks from ``(x0, y0)`` to ``(x1, y1)``.

    The grade is the elevation difference of the two ends over their distance (the access
    walks are short: from a home to the street, from the street to a facility's door). Where
    either end's elevation is unknown the walk counts as flat.

    Parameters
    ----------
    elev : Elevation
        From :func:`read_dem`.
    walking : Walking
        The profile's ``[walking]`` rules.
    x0, y0, x1, y1 : numpy.ndarray
        Start and end points in ``elev.net_crs`` (metres).

    Returns
    -------
    numpy.ndarray
        Metres on flat ground taking as long as each walk.

    """
    x0, y0, x1, y1 = (np.asarray(a, dtype=float).ravel() for a in (x0, y0, x1, y1))
    distance_m = np.hypot(x1 - x0, y1 - y0)
    if walking.slope_model == "none" or distance_m.size == 0:
        return distance_m
    z = elevation_at(elev, np.concatenate([x0, x1]), np.concatenate([y0, y1]))
    dz = z[distance_m.size :] - z[: distance_m.size]
    grade = np.divide(dz, distance_m, out=np.zeros_like(dz), where=~np.isnan(dz) & (distance_m > 0))
    return distance_m / speed_factor(grade, walking)


def gaussian_hills(
    bounds: tuple[float, float, float, float],
    *,
    count: int = 5,
    height_m: float = 80.0,
    radius_m: tuple[float, float] | None = None,
    seed: int = 0,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A smooth hilly surface over ``bounds``: ``count`` Gaussian hills on a 200 m plain.

    A tool for tests, benchmarks and demos. Hill centres are random within ``bounds`` (metres
    of a projected CRS), heights 0.3 to 1 times ``height_m``, and standard deviations drawn
    from ``radius_m`` (low, high), by default a tenth to a quarter of the area's shorter side.
    """
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bounds
    side = min(maxx - minx, maxy - miny)
    low, high = (0.1 * side, 0.25 * side) if radius_m is None else radius_m
    cx = rng.uniform(minx, maxx, count)
    cy = rng.uniform(miny, maxy, count)
    peak = rng.uniform(0.3, 1.0, count) * height_m
    sigma = rng.uniform(low, high, count)

    def surface(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = np.full(np.shape(x), 200.0)
        for i in range(count):  # a handful of hills, each over the whole grid at once
            z += peak[i] * np.exp(-((x - cx[i]) ** 2 + (y - cy[i]) ** 2) / (2 * sigma[i] ** 2))
        return z

    return surface


def write_synthetic_dem(
    path: str | Path,
    elevation_m: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    bounds: tuple[float, float, float, float],
    cell: float,
    crs: str | CRS | None,
    nodata: float | None = -9999.0,
    dtype: str = "float32",
) -> Path:
    """Write a DEM GeoTIFF whose cells hold ``elevation_m(x, y)`` at their centres.

    A tool for tests, benchmarks and demos, not for real districts.

    Parameters
    ----------
    path : str or pathlib.Path
        The GeoTIFF to write.
    elevation_m : callable
        Elevation in metres of arrays of cell-centre coordinates in ``crs``; NaN is written as
        ``nodata``.
    bounds : tuple of float, keyword-only
        ``(minx, miny, maxx, maxy)`` of the raster in ``crs``.
    cell : float, keyword-only
        Cell size in ``crs`` units (metres, or degrees for EPSG:4326).
    crs : str, pyproj.CRS or None, keyword-only
        The raster's CRS; ``None`` writes a raster without one (to test that error).
    nodata : float or None, keyword-only
        Nodata value stored in the file; ``None`` stores none (NaN cells stay NaN).
    dtype : str, keyword-only
        Cell type.

    """
    import rasterio

    minx, miny, maxx, maxy = bounds
    cols = max(math.ceil((maxx - minx) / cell), 1)
    rows = max(math.ceil((maxy - miny) / cell), 1)
    transform = Affine(cell, 0.0, minx, 0.0, -cell, maxy)
    centre_x = minx + cell * (np.arange(cols) + 0.5)
    centre_y = maxy - cell * (np.arange(rows) + 0.5)
    grid_x, grid_y = np.meshgrid(centre_x, centre_y)
    z = np.asarray(elevation_m(grid_x, grid_y), dtype=float)
    if nodata is not None:
        z = np.where(np.isnan(z), nodata, z)
    z = z.astype(dtype)
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": dtype,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    if crs is not None:
        profile["crs"] = CRS.from_user_input(crs).to_wkt()
    path = Path(path)
    with rasterio.open(path, "w", **profile) as out:
        out.write(z, 1)
    return path


def apply(
    net: WalkNetwork,
    walking: Walking,
    *,
    speed_m_s: float,
    elevation: Elevation | None = None,
) -> WalkNetwork:
    """The network with its walking metres per direction: slopes, steps, elevators, escalators.

    Slopes come from the network's own vertex elevations (:attr:`WalkNetwork.z_m`, a surveyed
    road layer's 3D lines) on every edge whose vertices all have one
    (:func:`vertex_slope_costs`), and from ``elevation`` on the other edges
    (:func:`slope_costs`): a survey beats a DEM where it is complete. Edges with neither are
    flat (the whole network without ``z_m`` and ``elevation``). A flight of steps is climbed
    or descended as the same elevations say. The tagged ways are costed in every case
    (:func:`carecircle.steps.special_costs`). What was done goes into
    :attr:`WalkNetwork.walking`: ``slope_model``, and when there are elevations of either kind,
    ``slope_source`` (``"network z"``, ``"DEM"``, ``"network z + DEM"`` or ``"none"``) and
    ``slope_edges_network_z``, ``slope_edges_dem`` and ``slope_edges_flat``. The access walks
    to the network (:func:`carecircle.pipeline.graded_access`) climb the DEM's grade only,
    and are flat without one even when the network has elevations.

    Parameters
    ----------
    net : WalkNetwork
        The network (flat, as read), with ``z_m`` when it has elevations of its own.
    walking : Walking
        The profile's ``[walking]`` rules.
    speed_m_s : float, keyword-only
        The walking speed, to turn the fixed times (elevators) into flat-equivalent metres.
    elevation : Elevation, optional, keyword-only
        From :func:`read_dem` over this network.

    Returns
    -------
    WalkNetwork
        The same network with :attr:`~WalkNetwork.walk_uv_m`, :attr:`~WalkNetwork.walk_vu_m`
        and :attr:`~WalkNetwork.walking` (what was done, for the run's metadata) set.

    """
    from . import steps

    base_uv, base_vu, rise = net.length_m, net.length_m, None
    from_z = np.zeros(net.n_edges, dtype=bool)
    info: dict[str, Any] = {}
    surveyed = None
    if net.z_m is not None:
        surveyed = vertex_slope_costs(net, walking)
        from_z = surveyed.complete
        base_uv, base_vu, rise = surveyed.uv_m, surveyed.vu_m, surveyed.rise_m
        info |= surveyed.metadata()
    n_dem = 0
    if elevation is not None:
        rest = np.flatnonzero(~from_z)  # the edges the DEM costs: all without complete z
        length_m = np.asarray(net.length_m, dtype=float)
        slope = _slope_costs(
            net.geometry[rest], length_m[rest], elevation, walking, net_crs=net.crs
        )
        if surveyed is None:
            base_uv, base_vu, rise = slope.uv_m, slope.vu_m, slope.rise_m
        else:
            base_uv, base_vu, rise = (
                surveyed.uv_m.copy(),
                surveyed.vu_m.copy(),
                surveyed.rise_m.copy(),
            )
            base_uv[rest], base_vu[rest], rise[rest] = slope.uv_m, slope.vu_m, slope.rise_m
        n_dem = int(rest.size)
        info |= elevation.metadata() | slope.metadata()
    n_z = int(np.count_nonzero(from_z))
    sloped = n_z + n_dem > 0
    if sloped or elevation is not None:
        model = walking.slope_model
    elif net.z_m is not None:
        model = "none (no DEM, no complete network z)"
    else:
        model = "none (no DEM)"
    info = {"slope_model": model, "max_speed_factor": walking.max_speed_factor} | info
    if net.z_m is not None or elevation is not None:
        info |= _slope_sources(net, n_z, n_dem, elevation)
    special = steps.special_costs(net, walking, speed_m_s=speed_m_s, rise_m=rise)
    uv, vu = special.combine(base_uv, base_vu)
    info |= {f"edges_{key}": int(value) for key, value in special.counts.items()}
    return dataclasses.replace(net, walk_uv_m=uv, walk_vu_m=vu, walking=info)


def _slope_sources(
    net: WalkNetwork, n_z: int, n_dem: int, elevation: Elevation | None
) -> dict[str, Any]:
    """Where the edges' slopes came from, for the metadata, said in one log line."""
    n_flat = net.n_edges - n_z - n_dem
    names = [name for name, n in (("network z", n_z), ("DEM", n_dem)) if n]
    source = " + ".join(names) or "none"
    if net.z_m is not None:
        if elevation is not None:
            logger.info(
                "slopes of %d of %d edges from the network's own elevations (z), of the other %d "
                "from the DEM %s",
                n_z,
                net.n_edges,
                n_dem,
                elevation.source,
            )
        else:
            log = logger.warning if n_flat else logger.info
            log(
                "slopes of %d of %d edges from the network's own elevations (z); %d with a "
                "vertex without z count as flat (no DEM given)",
                n_z,
                net.n_edges,
                n_flat,
            )
    return {
        "slope_source": source,
        "slope_edges_network_z": n_z,
        "slope_edges_dem": n_dem,
        "slope_edges_flat": n_flat,
    }


def joining_points(net: WalkNetwork, edge: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Coordinates (n x 2) of the points where points join their edges."""
    if edge.size == 0:
        return np.empty((0, 2))
    points = shapely.line_interpolate_point(net.geometry[edge], fraction, normalized=True)
    return shapely.get_coordinates(points)
