"""Where residents are: each community's population placed at demand points.

With a population raster (e.g. WorldPop 100 m), a community's ``population`` and ``elderly`` are
spread over the raster cells whose centres fall inside it, in proportion to the cell values.
Without one, or where the raster has nobody inside a community, they are spread evenly over
points of a regular grid inside the community; a community the grid gives fewer than
:data:`MIN_GRID_POINTS` points (a narrow strip, a small block) is gridded finer until it has
them. Every community with a usable geometry gets at least one point.

Raster cells are checked as they are read: a cell that is infinite, negative or denser than
:data:`MAX_RESIDENTS_PER_M2` is refused (naming the cell), and one that holds an undeclared
nodata value (±3.4e38, or one negative value in every negative cell) is refused with how to
declare it. Cells holding NaN are read as nodata, with a warning line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .coords import check_crs
from .errors import InputError

logger = logging.getLogger(__name__)

MAX_RESIDENTS_PER_M2 = 10.0
"""Most residents a raster cell may hold per m² of its area. The densest neighbourhood ever
recorded, Kowloon Walled City, held about 1.3 people per m² of land; ten is far beyond any
city, and leaves room for a density raster (people per km² on 100 m cells reads as 5 per m²
at 50,000 per km²). A larger value is broken (an overflow, an undeclared nodata value) and would
draw its community's residents into one cell."""

SENTINEL_MIN = 1e30
"""Cells at or beyond ± this look like an undeclared nodata value (float rasters often use
±3.4028235e38, the largest 32-bit float)."""

MIN_GRID_POINTS = 8
"""Fewest grid points a community placed evenly should get. A community with fewer at the
profile's ``grid_spacing_m`` (a strip along a street narrower than the spacing, a small block)
is gridded again at half the spacing, and again, until it has this many or the spacing reaches
:data:`MIN_GRID_SPACING_M`: a strip then gets a row of points along its length, and its share
no longer hangs on whether one grid point happens to fall inside it. Eight points put a
share's steps at 12.5 % at most."""

MIN_GRID_SPACING_M = 2.0
"""Finest grid spacing, metres (about a building's doorway to its neighbour's): a community
with fewer than :data:`MIN_GRID_POINTS` points even at this spacing keeps what it has, or one
point on its surface."""

MAX_REFINE_CELLS = 1_000_000
"""Most grid cells a finer grid may test in one community's bounding box; a long diagonal
sliver whose box is vast keeps its coarser points rather than cost millions of tests."""

_EARTH_RADIUS_M = 6_371_008.8  # mean radius, for the area of a cell in degrees

ELDERLY = "elderly"
"""The ``basis`` of a community whose older residents are known: its shares are of them."""

POPULATION = "population"
"""The ``basis`` of a community whose older residents are not known: its shares are of all."""


def residents_basis(communities: pd.DataFrame) -> np.ndarray:
    """Who counts as each community's residents: :data:`ELDERLY` or :data:`POPULATION`.

    A community's residents are its older residents (``elderly``) where that count is known,
    else everyone (``population``); :func:`community_residents` counts them.

    Parameters
    ----------
    communities : pandas.DataFrame
        With ``elderly`` (NaN where unknown), in people.

    Returns
    -------
    numpy.ndarray
        ``"elderly"`` or ``"population"`` per community, in order.

    """
    elderly = communities["elderly"].to_numpy(dtype=float)
    return np.where(np.isfinite(elderly), ELDERLY, POPULATION)


def community_residents(communities: pd.DataFrame) -> np.ndarray:
    """The residents counted in each community, in people (see :func:`residents_basis`).

    Its older residents where ``elderly`` is known, else its ``population``; 0 where neither
    is.

    Parameters
    ----------
    communities : pandas.DataFrame
        With ``elderly`` and ``population`` (NaN where unknown), in people.

    Returns
    -------
    numpy.ndarray
        One count per community, in order.

    """
    elderly = communities["elderly"].to_numpy(dtype=float)
    population = communities["population"].to_numpy(dtype=float)
    return np.nan_to_num(np.where(np.isfinite(elderly), elderly, population))


@dataclass(frozen=True)
class DemandPoints:
    """Points carrying shares of their community's residents.

    Attributes
    ----------
    community : numpy.ndarray
        Position (0-based row) of each point's community in the communities frame.
    x, y : numpy.ndarray
        Coordinates in the communities' projected CRS (metres).
    weight : numpy.ndarray
        Share of its community's residents at the point; the weights of a community sum to 1.
    method : pandas.Series
        Per community (indexed by position): ``raster``, ``grid`` or ``none`` (no usable
        geometry, so no points).

    """

    community: np.ndarray
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    method: pd.Series

    def __len__(self) -> int:
        return int(self.community.size)


def place(
    communities: gpd.GeoDataFrame,
    *,
    spacing_m: float,
    raster: str | Path | None = None,
) -> DemandPoints:
    """Place demand points in every community.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        Polygons in a projected CRS (metres). Rows with empty geometry get no points.
    spacing_m : float, keyword-only
        Grid spacing in metres for communities placed evenly (finer for those it gives fewer
        than :data:`MIN_GRID_POINTS` points).
    raster : path, optional, keyword-only
        A population GeoTIFF (any CRS); cells are weighted by their value.

    Returns
    -------
    DemandPoints

    """
    check_crs(communities.crs, what="the communities (to place demand points)", projected=True)
    geoms = communities.geometry.to_numpy()
    usable = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    method = pd.Series("none", index=np.arange(len(communities)), dtype=object)
    parts = []
    todo = usable.copy()
    if raster is not None:
        found = _raster_points(communities, Path(raster))
        has = np.zeros(len(communities), dtype=bool)
        has[found[0]] = True
        parts.append(found)
        method[has] = "raster"
        todo &= ~has
        if (usable & ~has).any():
            logger.warning(
                "%d communities hold no populated raster cell; their residents are spread evenly",
                int((usable & ~has).sum()),
            )
    parts.append(_grid_points(geoms, np.flatnonzero(todo), spacing_m=spacing_m))
    method[todo] = "grid"
    community = np.concatenate([p[0] for p in parts])
    x = np.concatenate([p[1] for p in parts])
    y = np.concatenate([p[2] for p in parts])
    value = np.concatenate([p[3] for p in parts])
    totals = np.bincount(community, weights=value, minlength=len(communities))
    weight = value / totals[community]
    order = np.argsort(community, kind="stable")
    return DemandPoints(community[order], x[order], y[order], weight[order], method)


def _grid_points(
    geoms: np.ndarray, which: np.ndarray, *, spacing_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Regular grid points inside the given polygons, finer where a polygon gets too few.

    A polygon with fewer than :data:`MIN_GRID_POINTS` points is gridded again at half the
    spacing, and again, down to :data:`MIN_GRID_SPACING_M` (each time only the polygons still
    short of points, so the loop runs over spacings, never over polygons); a refinement that
    would test more than :data:`MAX_REFINE_CELLS` grid cells for one polygon is skipped. A
    polygon still without a point gets one on its surface. Every point stands for the same
    area within its polygon, so equal weights stay area-correct.
    """
    empty = np.empty(0)
    community: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    xs: list[np.ndarray] = [empty]
    ys: list[np.ndarray] = [empty]
    todo = which
    step_m = spacing_m
    while todo.size:
        owner, cx, cy = _grid_cells(geoms[todo], step_m)
        found = np.bincount(owner, minlength=todo.size)
        finer = step_m / 2
        again = (found < MIN_GRID_POINTS) & (finer >= MIN_GRID_SPACING_M)
        again &= _cell_count(geoms[todo], finer) <= MAX_REFINE_CELLS
        keep = ~again[owner]
        community.append(todo[owner[keep]])
        xs.append(cx[keep])
        ys.append(cy[keep])
        todo, step_m = todo[again], finer
    done = np.concatenate(community)
    # a polygon smaller than a cell of the finest grid gets one point on its surface
    without = np.setdiff1d(which, done)
    rep = shapely.point_on_surface(geoms[without])
    community.append(without)
    xs.append(shapely.get_x(rep))
    ys.append(shapely.get_y(rep))
    out = np.concatenate(community).astype(np.int64)
    return out, np.concatenate(xs), np.concatenate(ys), np.ones(out.size)


def _cell_count(polys: np.ndarray, spacing_m: float) -> np.ndarray:
    """Grid cells of each polygon's bounding box at ``spacing_m`` (an upper bound of the work)."""
    bounds = shapely.bounds(polys)
    nx_ = np.floor((bounds[:, 2] - bounds[:, 0]) / spacing_m) + 2
    ny_ = np.floor((bounds[:, 3] - bounds[:, 1]) / spacing_m) + 2
    return nx_ * ny_


def _grid_cells(polys: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres of the grid cells at ``spacing_m`` inside each polygon, with the polygon's position.

    The grid is aligned to the CRS's origin (cell centres at odd multiples of half the
    spacing), so one spacing puts the same points in a polygon whichever polygons it is given
    with.
    """
    if polys.size == 0:
        empty = np.empty(0)
        return np.empty(0, dtype=np.int64), empty, empty
    bounds = shapely.bounds(polys)
    x0 = np.floor(bounds[:, 0].min() / spacing_m) * spacing_m + spacing_m / 2
    y0 = np.floor(bounds[:, 1].min() / spacing_m) * spacing_m + spacing_m / 2
    # Candidate cells come from each polygon's own bounding box, so empty land costs nothing.
    ix0 = np.floor((bounds[:, 0] - x0) / spacing_m).astype(np.int64)
    ix1 = np.ceil((bounds[:, 2] - x0) / spacing_m).astype(np.int64)
    iy0 = np.floor((bounds[:, 1] - y0) / spacing_m).astype(np.int64)
    iy1 = np.ceil((bounds[:, 3] - y0) / spacing_m).astype(np.int64)
    nx_ = ix1 - ix0 + 1
    ny_ = iy1 - iy0 + 1
    counts = nx_ * ny_
    owner = np.repeat(np.arange(polys.size), counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cx = x0 + (ix0[owner] + local % nx_[owner]) * spacing_m
    cy = y0 + (iy0[owner] + local // nx_[owner]) * spacing_m
    inside = shapely.contains_xy(polys[owner], cx, cy)
    return owner[inside], cx[inside], cy[inside]


def _require_raster(path: Path) -> None:
    """Refuse a population raster that is not there."""
    if not path.is_file():
        msg = f"{path}: population raster not found; expected a GeoTIFF"
        raise InputError(msg)


def _raster_points(
    communities: gpd.GeoDataFrame, path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centres of populated raster cells inside communities, with their values."""
    try:
        import rasterio
    except ImportError as exc:  # pragma: no cover - a dependency
        msg = "reading a population raster needs rasterio: pip install rasterio"
        raise InputError(msg) from exc
    _require_raster(path)
    try:
        src_ctx = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        msg = f"{path}: not a readable raster ({exc}); expected a GeoTIFF of residents per cell"
        raise InputError(msg) from exc
    with src_ctx as src:
        check_crs(src.crs, what=f"{path}: the raster")
        to_raster = Transformer.from_crs(communities.crs, src.crs, always_xy=True)
        minx, miny, maxx, maxy = communities.total_bounds
        bx, by = to_raster.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
        window, origin = _window(src.transform, bx, by, src.width, src.height)
        if window is None:
            b = src.bounds
            raster_box = _extent(
                (b.left, b.right), (b.bottom, b.top), geographic=src.crs.is_geographic
            )
            district_box = _extent(bx, by, geographic=src.crs.is_geographic)
            msg = (
                f"{path}: the raster ({raster_box} in {src.crs.to_string()}) does not overlap "
                f"the communities ({district_box} in the same CRS); expected a raster of the "
                "district (check the raster's CRS and its area)"
            )
            raise InputError(msg)
        raw = src.read(1, window=window, masked=True)
        offset = (int(window.row_off), int(window.col_off))
        raster_crs = src.crs
        area_m2 = _cell_area_m2(raw.shape, origin, src.crs)
    filled = _check_cells(raw, area_m2, path=path, offset=offset)
    rows, cols = np.nonzero(filled > 0)
    a, b, c, d, e, f = origin
    xs = c + (cols + 0.5) * a + (rows + 0.5) * b
    ys = f + (cols + 0.5) * d + (rows + 0.5) * e
    to_work = Transformer.from_crs(raster_crs, communities.crs, always_xy=True)
    px, py = to_work.transform(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    px, py = np.asarray(px), np.asarray(py)
    tree = shapely.STRtree(communities.geometry.to_numpy())
    point_idx, community = tree.query(shapely.points(px, py), predicate="within")
    # a cell centre on a shared border goes to one community only
    first = ~pd.Series(point_idx).duplicated().to_numpy()
    point_idx, community = point_idx[first], community[first]
    return (
        community.astype(np.int64),
        px[point_idx],
        py[point_idx],
        filled[rows, cols][point_idx],
    )


def _cell_area_m2(
    shape: tuple[int, ...], origin: tuple[float, float, float, float, float, float], crs: Any
) -> np.ndarray:
    """The area of each cell of a window, m²: constant in a projected CRS, by latitude in degrees.

    ``origin`` holds the affine coefficients (a, b, c, d, e, f) of the window's corner.
    """
    a, b, _, d, e, f = origin
    size = abs(a * e - b * d)
    if not crs.is_geographic:
        _, metres = crs.linear_units_factor
        return np.full(shape, size * metres**2)
    rows, cols = np.indices(shape, dtype=float)
    lat = f + (cols + 0.5) * d + (rows + 0.5) * e
    metres_per_degree = _EARTH_RADIUS_M * np.pi / 180
    return size * metres_per_degree**2 * np.cos(np.radians(np.clip(lat, -90, 90)))


def _check_cells(
    raw: np.ma.MaskedArray, area_m2: np.ndarray, *, path: Path, offset: tuple[int, int]
) -> np.ndarray:
    """Residents per cell as floats, nodata and NaN as 0; refuse a cell no count can be.

    Refused, naming the first such cell (1-based row and column of the raster): an infinite
    value; an undeclared nodata value (beyond ±:data:`SENTINEL_MIN`, or a negative value shared
    by two or more negative cells and no other); any other negative value; more than
    :data:`MAX_RESIDENTS_PER_M2` per m² of the cell. NaN cells are read as nodata (GDAL's
    statistics skip them too), with a warning line.
    """
    stored = np.ma.getdata(raw)
    values = stored.astype(float)
    valid = ~np.ma.getmaskarray(raw)

    def first(at: np.ndarray) -> tuple[str, str, tuple[int, int]]:
        """The first cell in ``at``: where it is, its value as stored, its index."""
        rows, cols = np.nonzero(at)
        r, c = int(rows[0]), int(cols[0])
        where = f"row {r + offset[0] + 1}, column {c + offset[1] + 1}"
        return where, _shown(stored[r, c]), (r, c)

    nan = valid & np.isnan(values)
    if nan.any():
        where, _, _ = first(nan)
        logger.warning(
            "%s: %d cell(s) hold NaN (not a number), first at %s, and the raster declares no "
            "nodata value for them; read as nodata (nobody there)",
            path,
            int(nan.sum()),
            where,
        )
        valid &= ~nan
    infinite = valid & np.isinf(values)
    if infinite.any():
        where, value, _ = first(infinite)
        msg = (
            f"{path}: cell ({where}) holds {value}; expected residents per cell, a finite "
            "number ≥ 0 (or nodata)"
        )
        raise InputError(msg)
    negative = valid & (values < 0)
    huge = valid & (np.abs(values) >= SENTINEL_MIN)
    shared = negative.sum() > 1 and np.unique(values[negative]).size == 1
    sentinel = huge if huge.any() else negative if shared else None
    if sentinel is not None:
        where, value, at = first(sentinel)
        others = int((valid & (values == values[at])).sum()) - 1
        also = {0: "", 1: ", as does 1 other cell"}.get(others, f", as do {others} other cells")
        msg = (
            f"{path}: cell ({where}) holds {value}{also}: a nodata value the raster does not "
            f"declare; declare it (e.g. gdal_edit.py -a_nodata {value} {path.name}) and retry"
        )
        raise InputError(msg)
    if negative.any():
        where, value, _ = first(negative)
        msg = (
            f"{path}: cell ({where}) holds {value}; expected residents per cell, 0 or more "
            "(or nodata)"
        )
        raise InputError(msg)
    dense = valid & (values > MAX_RESIDENTS_PER_M2 * area_m2)
    if dense.any():
        where, value, at = first(dense)
        area = float(area_m2[at])
        msg = (
            f"{path}: cell ({where}) holds {value} residents on {area:,.0f} m² "
            f"({values[at] / area:,.0f} per m²); expected at most {MAX_RESIDENTS_PER_M2:g} per "
            "m², far beyond any city (or nodata)"
        )
        raise InputError(msg)
    return np.where(valid, values, 0.0)


def _shown(value: Any) -> str:
    """A cell's value as stored, plainly: ``-9999`` for -9999.0, ``-3.4028235e+38`` in float32."""
    number = float(value)
    if np.isfinite(number) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return str(value)


def _extent(xs: Sequence[float], ys: Sequence[float], *, geographic: bool) -> str:
    """``"x 1..2, y 3..4"``: degrees to 4 decimals, metres to whole numbers."""
    digits = 4 if geographic else 0
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return f"x {x0:.{digits}f}..{x1:.{digits}f}, y {y0:.{digits}f}..{y1:.{digits}f}"


def _window(
    transform: Any, xs: Sequence[float], ys: Sequence[float], width: int, height: int
) -> tuple[Any, tuple[float, float, float, float, float, float]]:
    """The raster window covering the points, and the affine coefficients of its corner.

    Computed from the transform's six coefficients, so it works for rotated rasters too and
    does not depend on the affine package's operators.
    """
    from rasterio.windows import Window

    a, b, c, d, e, f = (
        transform.a,
        transform.b,
        transform.c,
        transform.d,
        transform.e,
        transform.f,
    )
    inverse = np.linalg.inv(np.array([[a, b], [d, e]]))
    cols, rows = inverse @ np.vstack([np.asarray(xs) - c, np.asarray(ys) - f])
    col0 = max(int(np.floor(cols.min())), 0)
    row0 = max(int(np.floor(rows.min())), 0)
    col1 = min(int(np.ceil(cols.max())), width)
    row1 = min(int(np.ceil(rows.max())), height)
    if col1 <= col0 or row1 <= row0:
        return None, (a, b, c, d, e, f)
    corner = (a, b, c + col0 * a + row0 * b, d, e, f + col0 * d + row0 * e)
    return Window(col0, row0, col1 - col0, row1 - row0), corner
