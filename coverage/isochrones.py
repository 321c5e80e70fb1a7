"""Circle polygons drawn by the rule that counts residents.

A resident at point ``p`` is counted within a circle when ``p`` joins its nearest edge at a
point the facility reaches with time to spare, and the straight walk from ``p`` to that point
fits in the time left and is no longer than the access cap (``max_access_m``; see
:func:`carecircle.travel.point_times`). The circle of a facility is the area of such points:
along each reached edge a band as wide as the time left there allows (capped), limited to where
that edge is the nearest edge. Near the facility the bands fill whole blocks; towards the limit
they narrow to nothing, and a block whose middle no street reaches in time stays a hole.

The area is drawn on a raster:

- once per network (:func:`edge_raster`), every cell of a raster over the network's extent
  gets its nearest edge, the flat-equivalent metres from there to the edge's two ends and the
  straight distance to it. Points sampled every half cell along the edges mark the cells they
  fall in; a Euclidean distance transform (``scipy.ndimage``) gives each cell its nearest
  marked cell; then each cell centre is measured exactly to that cell's segment, to another
  segment marking the same cell and to the segments its neighbours found (jump flooding, at
  8, 4, 2 and 1 cells, the far steps only far from the streets), and keeps the nearest;
- per facility, one shortest-path search gives the node times; the counting rule is evaluated
  with numpy on the cells of the facility's window only (each reached edge's bounds, widened
  by the band that the time left at its nearer end allows), and the cells inside are turned
  into polygons by GDAL's compiled polygonizer (``rasterio.features.shapes``), simplified by
  half a cell. :func:`merged_polygon` evaluates the cells with
  :func:`carecircle.travel.point_times` itself.

The cell side is 0.15 of the demand-point spacing (7.5 m for 50 m), coarser only when the
raster would pass :data:`MAX_CELLS` cells (:func:`cell_size_m`). A demand point is drawn
otherwise than it is counted only within :data:`TOLERANCE_CELLS` cells of where the count
changes: the cell centre stands for the whole cell (up to 0.7 cell away), the nearest edge
is found to within about a cell where two edges are nearly equally near, and simplifying moves
the outline by up to half a cell. A band narrower than a cell may vanish. The access walk is
drawn flat: its straight metres, without the slope that the count may add to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio import features
from rasterio.transform import Affine
from scipy import ndimage

from .network import WalkNetwork
from .policy import Walking
from .terms import NOT_COVERED
from .terrain import Elevation, access_walk_m
from .travel import NodeTimes, Snap, node_times, point_times, reach, to_ends_m

#: Cells of the nearest-edge raster at most; a larger extent gets coarser cells.
MAX_CELLS = 16_000_000

#: Cell side as a share of the demand-point spacing.
CELL_SHARE = 0.15

#: Finest cell side, metres.
MIN_CELL_M = 1.0

#: How far (in cells) from where the count changes a demand point may be drawn otherwise.
TOLERANCE_CELLS = 1.5

#: Offsets (cells) at which :func:`edge_raster` compares each cell's nearest edge with others'.
_STEPS = (8, 4, 2, 1)

#: Rows of the raster worked on at once while it is built (bounds the temporary arrays).
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True, eq=False)
class EdgeRaster:
    """The nearest edge of every cell of a raster over a network, built by :func:`edge_raster`.

    Attributes
    ----------
    cell_m : float
        Cell side, metres.
    west, north : float
        Coordinates of the raster's north-west corner, in the network's CRS.
    margin_m : float
        How far the raster reaches beyond the network's extent, metres.
    edge : numpy.ndarray
        ``(rows, cols)`` int32: index of the edge nearest to each cell's centre; row 0 is
        the northernmost.
    to_u_m, to_v_m : numpy.ndarray
        ``(rows, cols)`` float32: flat-equivalent metres from where the centre joins that
        edge along it to its ``u`` end and to its ``v`` end (:func:`carecircle.travel.to_ends_m`;
        the raster belongs to the network's walking costs as well as its shape).
    access_m : numpy.ndarray
        ``(rows, cols)`` float32: straight distance from the centre to that joining point.
    edge_bounds : numpy.ndarray
        ``(n_edges, 4)`` bounds of every edge geometry.
    walk_m : numpy.ndarray or None
        ``(rows, cols)`` float32: flat-equivalent metres of that access walk from the centre
        to the way, up or down the DEM's grade (:func:`carecircle.terrain.access_walk_m`), as a
        home's is counted; ``None`` on flat ground (``access_m``).
    reach_factor : float
        The most a flat-equivalent metre of access walk is shorter than a straight one (1 on
        flat ground; up to the profile's ``max_speed_factor`` downhill), so that windows of
        cells are wide enough.

    """

    cell_m: float
    west: float
    north: float
    margin_m: float
    edge: np.ndarray
    to_u_m: np.ndarray
    to_v_m: np.ndarray
    access_m: np.ndarray
    edge_bounds: np.ndarray
    walk_m: np.ndarray | None = None
    reach_factor: float = 1.0

    def walk(self, rows: slice, cols: slice) -> np.ndarray:
        """Flat-equivalent access metres of the cells of a window (``access_m`` if flat)."""
        return (self.access_m if self.walk_m is None else self.walk_m)[rows, cols]

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        rows, cols = self.edge.shape
        return int(rows), int(cols)

    def window(self, bounds: np.ndarray, *, pad_m: float) -> tuple[slice, slice]:
        """Rows and columns of the cells whose centres may lie within ``pad_m`` of ``bounds``."""
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        rows, cols = self.shape
        c0 = max(int(np.floor((minx - pad_m - self.west) / self.cell_m)), 0)
        c1 = min(int(np.ceil((maxx + pad_m - self.west) / self.cell_m)) + 1, cols)
        r0 = max(int(np.floor((self.north - maxy - pad_m) / self.cell_m)), 0)
        r1 = min(int(np.ceil((self.north - miny + pad_m) / self.cell_m)) + 1, rows)
        return slice(r0, max(r1, r0)), slice(c0, max(c1, c0))

    def snaps(self, net: WalkNetwork, rows: slice, cols: slice) -> Snap:
        """The cells of a window joined to the network, as :func:`carecircle.travel.snap` would."""
        edge = self.edge[rows, cols].ravel().astype(np.int64)
        to_u_m = self.to_u_m[rows, cols].ravel().astype(float)
        to_v_m = self.to_v_m[rows, cols].ravel().astype(float)
        vu_m, uv_m = net.vu_m[edge], net.uv_m[edge]
        fraction = np.where(
            vu_m > 0,
            to_u_m / np.where(vu_m > 0, vu_m, 1.0),
            np.where(uv_m > 0, 1.0 - to_v_m / np.where(uv_m > 0, uv_m, 1.0), 0.0),
        )
        walk = None if self.walk_m is None else self.walk_m[rows, cols].ravel().astype(float)
        access = self.access_m[rows, cols].ravel().astype(float)
        return Snap(edge, np.clip(fraction, 0.0, 1.0), access, walk)


def cell_size_m(net: WalkNetwork, *, spacing_m: float, margin_m: float) -> float:
    """The cell side for a network: :data:`CELL_SHARE` of ``spacing_m``, within the limits.

    Parameters
    ----------
    net : WalkNetwork
        The network (projected CRS, metres).
    spacing_m : float, keyword-only
        Spacing of the demand points, metres.
    margin_m : float, keyword-only
        How far beyond the network's extent the raster reaches, metres.

    Returns
    -------
    float
        Metres: at least :data:`MIN_CELL_M`, and coarse enough for at most :data:`MAX_CELLS`
        cells over the extent plus margin.

    """
    minx, miny, maxx, maxy = _extent(net)
    area_m2 = (maxx - minx + 2 * margin_m) * (maxy - miny + 2 * margin_m)
    return float(max(spacing_m * CELL_SHARE, MIN_CELL_M, np.sqrt(area_m2 / MAX_CELLS)))


def edge_raster(
    net: WalkNetwork,
    *,
    cell_m: float,
    margin_m: float,
    elevation: Elevation | None = None,
    walking: Walking | None = None,
) -> EdgeRaster:
    """Find the nearest edge of every cell of a raster over the network, once.

    Parameters
    ----------
    net : WalkNetwork
        The network (projected CRS, metres).
    cell_m : float, keyword-only
        Cell side, metres (see :func:`cell_size_m`).
    margin_m : float, keyword-only
        How far beyond the network's extent to reach, metres: the widest band to draw.
    elevation : carecircle.terrain.Elevation, optional, keyword-only
        The DEM the homes' access walks climb, as they are counted
        (:func:`carecircle.pipeline.graded_access`); with ``walking``.
    walking : Walking, optional, keyword-only
        The profile's ``[walking]`` rules, with ``elevation``.

    Returns
    -------
    EdgeRaster

    """
    minx, miny, maxx, maxy = _extent(net)
    west = minx - margin_m - cell_m
    north = maxy + margin_m + cell_m
    cols = int(np.ceil((maxx + margin_m + cell_m - west) / cell_m)) + 1
    rows = int(np.ceil((north - (miny - margin_m - cell_m)) / cell_m)) + 1
    segments = _segments(net)
    # mark the cells the edges pass through with a segment of each
    marked = np.full((rows, cols), -1, dtype=np.int32)
    # where segments share a cell one marks it; the other (written in reverse) is kept too
    other = np.full((rows, cols), -1, dtype=np.int32)
    count = np.floor(segments.length / (cell_m / 2)).astype(np.int64) + 2
    starts = np.concatenate([[0], np.cumsum(count)])
    per_chunk = max(1, _CHUNK_CELLS)
    first = 0
    while first < count.size:
        last = int(np.searchsorted(starts, starts[first] + per_chunk, side="right"))
        last = min(max(last, first + 1), count.size)
        which = np.repeat(np.arange(first, last), count[first:last])
        step = np.arange(which.size) - np.repeat(
            starts[first:last] - starts[first], count[first:last]
        )
        t = step / (count[which] - 1)
        x = segments.ax[which] + t * segments.dx[which]
        y = segments.ay[which] + t * segments.dy[which]
        r = np.clip(((north - y) / cell_m).astype(np.int64), 0, rows - 1)
        c = np.clip(((x - west) / cell_m).astype(np.int64), 0, cols - 1)
        marked[r, c] = which.astype(np.int32)
        other[r[::-1], c[::-1]] = which[::-1].astype(np.int32)
        first = last
    if segments.length.size:
        index = ndimage.distance_transform_edt(
            marked < 0, return_distances=False, return_indices=True
        )
        nearest = marked[index[0], index[1]]
        second = other[index[0], index[1]]
        del index, marked, other
    else:
        nearest = second = np.zeros((rows, cols), dtype=np.int32)
    edge = np.zeros((rows, cols), dtype=np.int32)
    to_u_m = np.zeros((rows, cols), dtype=np.float32)
    to_v_m = np.zeros((rows, cols), dtype=np.float32)
    access_m = np.full((rows, cols), np.inf, dtype=np.float32)
    graded = elevation is not None and walking is not None
    walk_m = np.full((rows, cols), np.inf, dtype=np.float32) if graded else None
    if segments.length.size:
        t_all, squared_all = _refine(
            nearest, second, segments, west=west, north=north, cell_m=cell_m
        )
    del second
    band = max(1, _CHUNK_CELLS // max(cols, 1))
    for r0 in range(0, rows if segments.length.size else 0, band):
        r1 = min(r0 + band, rows)
        best = nearest[r0:r1]
        t = t_all[r0:r1]
        access_m[r0:r1] = np.sqrt(squared_all[r0:r1])
        along = segments.before[best] + t * segments.length[best]
        total = segments.total[best]
        fraction = np.clip(np.where(total > 0, along / np.where(total > 0, total, 1.0), 0), 0, 1)
        edge[r0:r1] = segments.edge[best]
        to_u_m[r0:r1] = fraction * net.vu_m[edge[r0:r1]]
        to_v_m[r0:r1] = (1.0 - fraction) * net.uv_m[edge[r0:r1]]
        if walk_m is not None and elevation is not None and walking is not None:
            cx = west + (np.arange(cols) + 0.5) * cell_m
            cy = north - (np.arange(r0, r1) + 0.5) * cell_m
            cx, cy = np.broadcast_arrays(cx[None, :], cy[:, None])
            jx = segments.ax[best] + t * segments.dx[best]
            jy = segments.ay[best] + t * segments.dy[best]
            walk_m[r0:r1] = access_walk_m(
                elevation, walking, cx.ravel(), cy.ravel(), jx.ravel(), jy.ravel()
            ).reshape(r1 - r0, cols)
    return EdgeRaster(
        cell_m=float(cell_m),
        west=float(west),
        north=float(north),
        margin_m=float(margin_m),
        edge=edge,
        to_u_m=to_u_m,
        to_v_m=to_v_m,
        access_m=access_m,
        edge_bounds=shapely.bounds(net.geometry).reshape(-1, 4),
        walk_m=walk_m,
        reach_factor=max(1.0, walking.max_speed_factor) if graded and walking else 1.0,
    )


def polygons(
    net: WalkNetwork,
    sources: Snap,
    *,
    speed_m_s: float,
    limit_s: float,
    max_access_m: float,
    raster: EdgeRaster | None = None,
) -> Iterator[tuple[int, shapely.Geometry]]:
    """Yield ``(source index, polygon)`` for each source: the area it counts within ``limit_s``.

    Parameters
    ----------
    net : WalkNetwork
        The network (projected CRS; the polygons are in the same CRS).
    sources : Snap
        The facilities joined to the network.
    speed_m_s : float, keyword-only
        Walking speed, metres per second.
    limit_s : float, keyword-only
        The circle's time limit, seconds.
    max_access_m : float, keyword-only
        The longest straight walk from a home to the network that counts, metres.
    raster : EdgeRaster, optional, keyword-only
        From :func:`edge_raster` for ``net``, reaching at least ``min(limit_s * speed_m_s,
        max_access_m)`` beyond it; built with a 7.5 m cell (or coarser, :func:`cell_size_m`)
        when omitted or too narrow.

    """
    raster = _fitting(net, raster, min(limit_s * speed_m_s, max_access_m))
    time_s = np.full(net.n_nodes, np.inf)
    # metres from each edge's ends to the source, set for the edges each search reaches
    at_u_m = np.full(net.n_edges, np.inf, dtype=np.float32)
    at_v_m = np.full(net.n_edges, np.inf, dtype=np.float32)
    own_u_m, own_v_m = to_ends_m(net, sources)
    for index, nodes, seconds in reach(net, sources, speed_m_s=speed_m_s, limit_s=limit_s):
        own = int(sources.edge[index])
        time_s[nodes] = seconds
        touched = net.incident_edges(nodes)
        at_u_m[touched] = time_s[net.u[touched]] * speed_m_s
        at_v_m[touched] = time_s[net.v[touched]] * speed_m_s
        rows, cols = _window(
            net,
            raster,
            time_s,
            own_edges=np.array([own]),
            own_walk_s=sources.walk_m[index : index + 1] / speed_m_s,
            touched=touched,
            speed_m_s=speed_m_s,
            limit_s=limit_s,
            max_access_m=max_access_m,
        )
        inside = _inside_one(
            raster,
            at_u_m,
            at_v_m,
            rows,
            cols,
            own_edge=own,
            own_ends_m=(float(own_u_m[index]), float(own_v_m[index])),
            own_walk_m=float(sources.walk_m[index]),
            budget_m=limit_s * speed_m_s,
            max_access_m=max_access_m,
        )
        time_s[nodes] = np.inf
        at_u_m[touched] = np.inf
        at_v_m[touched] = np.inf
        yield index, _polygonize(raster, inside, rows, cols)


def merged_polygon(
    net: WalkNetwork,
    sources: Snap,
    *,
    speed_m_s: float,
    limit_s: float,
    max_access_m: float,
    raster: EdgeRaster | None = None,
) -> shapely.Geometry:
    """The area counted within ``limit_s`` from any of ``sources``: the union of their polygons.

    One multi-source search from all sources at once, so the cost does not grow with their
    number as :func:`polygons` does. A point is counted from some source exactly when it is
    counted from its nearest one, so on the same raster the cells inside are those inside some
    source's own polygon of :func:`polygons`.

    Parameters are as for :func:`polygons`.
    """
    if len(sources) == 0:
        return shapely.Polygon()
    raster = _fitting(net, raster, min(limit_s * speed_m_s, max_access_m))
    times = node_times(net, sources, speed_m_s=speed_m_s, limit_s=limit_s)
    rows, cols = _window(
        net,
        raster,
        times.time_s,
        own_edges=sources.edge,
        own_walk_s=sources.walk_m / speed_m_s,
        touched=net.incident_edges(np.flatnonzero(times.time_s <= limit_s)),
        speed_m_s=speed_m_s,
        limit_s=limit_s,
        max_access_m=max_access_m,
    )
    inside = np.zeros((rows.stop - rows.start, cols.stop - cols.start), dtype=bool)
    band = max(1, _CHUNK_CELLS // max(inside.shape[1], 1))
    for r0 in range(rows.start, rows.stop, band):
        part = slice(r0, min(r0 + band, rows.stop))
        inside[part.start - rows.start : part.stop - rows.start] = _counted(
            net,
            raster,
            times,
            sources,
            part,
            cols,
            speed_m_s=speed_m_s,
            limit_s=limit_s,
            max_access_m=max_access_m,
        )
    return _polygonize(raster, inside, rows, cols)


def _counted(
    net: WalkNetwork,
    raster: EdgeRaster,
    times: NodeTimes,
    sources: Snap,
    rows: slice,
    cols: slice,
    *,
    speed_m_s: float,
    limit_s: float,
    max_access_m: float,
) -> np.ndarray:
    """Cells of a window a demand point at whose centre would be counted, by the counting code."""
    cells = raster.snaps(net, rows, cols)
    time_s, _ = point_times(net, times, sources, cells, speed_m_s=speed_m_s)
    inside = (time_s <= limit_s) & (cells.access_m <= max_access_m)
    return inside.reshape(rows.stop - rows.start, cols.stop - cols.start)


def _inside_one(
    raster: EdgeRaster,
    at_u_m: np.ndarray,
    at_v_m: np.ndarray,
    rows: slice,
    cols: slice,
    *,
    own_edge: int,
    own_ends_m: tuple[float, float],
    own_walk_m: float,
    budget_m: float,
    max_access_m: float,
) -> np.ndarray:
    """Cells of a window counted from one source, as :func:`carecircle.travel.point_times` counts.

    The rule in flat-equivalent metres: ``at_u_m`` and ``at_v_m`` hold the walk from each
    edge's ends to the source (``inf`` where not reached); ``own_ends_m`` is the source's
    :func:`carecircle.travel.to_ends_m` on its own edge.
    """
    edge = raster.edge[rows, cols]
    to_u_m = raster.to_u_m[rows, cols]
    to_v_m = raster.to_v_m[rows, cols]
    access_m = raster.access_m[rows, cols]
    walk_m = raster.walk(rows, cols)
    best = np.minimum(at_u_m[edge] + to_u_m, at_v_m[edge] + to_v_m)
    mine = edge == own_edge
    if mine.any():
        # straight along the source's own edge: towards v from before it, towards u after it
        same = np.maximum(to_u_m[mine] - own_ends_m[0], to_v_m[mine] - own_ends_m[1])
        best[mine] = np.minimum(best[mine], same + own_walk_m)
    return (best + walk_m <= budget_m) & (access_m <= max_access_m)


def _polygonize(
    raster: EdgeRaster, inside: np.ndarray, rows: slice, cols: slice
) -> shapely.Geometry:
    """The cells inside a window as (multi)polygons, simplified by half a cell."""
    if not inside.any():
        return shapely.Polygon()
    transform = Affine(
        raster.cell_m,
        0.0,
        raster.west + cols.start * raster.cell_m,
        0.0,
        -raster.cell_m,
        raster.north - rows.start * raster.cell_m,
    )
    inside = np.ascontiguousarray(inside)
    found = features.shapes(inside.view(np.uint8), mask=inside, connectivity=8, transform=transform)
    parts = [
        shapely.Polygon(
            np.asarray(shape["coordinates"][0]),
            [np.asarray(ring) for ring in shape["coordinates"][1:]],
        )
        for shape, _ in found
    ]
    merged = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    simple = shapely.simplify(merged, raster.cell_m / 2, preserve_topology=False)
    if shapely.is_valid(simple) and not simple.is_empty:
        return simple
    return shapely.simplify(merged, raster.cell_m / 2)  # slower, keeps every ring valid


def _fitting(net: WalkNetwork, raster: EdgeRaster | None, pad_m: float) -> EdgeRaster:
    """``raster`` if it reaches ``pad_m`` beyond the network, else a new default one."""
    if raster is not None and raster.margin_m >= pad_m:
        return raster
    return edge_raster(net, cell_m=cell_size_m(net, spacing_m=50.0, margin_m=pad_m), margin_m=pad_m)


def _window(
    net: WalkNetwork,
    raster: EdgeRaster,
    time_s: np.ndarray,
    *,
    own_edges: np.ndarray,
    own_walk_s: np.ndarray,
    touched: np.ndarray,
    speed_m_s: float,
    limit_s: float,
    max_access_m: float,
) -> tuple[slice, slice]:
    """The cells that may be counted: near the edges reached, as near as the time left allows.

    A point joining edge ``e`` is reached no sooner than ``e``'s nearer end (or the source on
    it), so it lies within ``min(time left there x speed, max_access_m)`` of ``e``.
    """
    left_s = limit_s - np.minimum(time_s[net.u[touched]], time_s[net.v[touched]])
    edges = np.concatenate([touched, own_edges])
    left_s = np.concatenate([left_s, limit_s - own_walk_s])
    keep = left_s >= 0
    if not keep.any():
        return slice(0, 0), slice(0, 0)
    pad = np.minimum(left_s[keep] * speed_m_s * raster.reach_factor, max_access_m)[:, None]
    bounds = raster.edge_bounds[edges[keep]]
    low = (bounds[:, :2] - pad).min(axis=0)
    high = (bounds[:, 2:] + pad).max(axis=0)
    return raster.window(np.r_[low, high], pad_m=0.0)


def _extent(net: WalkNetwork) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = shapely.total_bounds(net.geometry)
    if not np.isfinite(minx):
        minx, miny, maxx, maxy = net.bounds()
    return float(minx), float(miny), float(maxx), float(maxy)


@dataclass(frozen=True)
class _Segments:
    """The straight segments of every edge geometry."""

    edge: np.ndarray  # edge of each segment (int32)
    ax: np.ndarray  # start point
    ay: np.ndarray
    dx: np.ndarray  # end point minus start point
    dy: np.ndarray
    length: np.ndarray  # metres
    before: np.ndarray  # length of the edge's earlier segments
    total: np.ndarray  # length of the whole edge geometry

    def project(
        self, which: np.ndarray, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Position along segments ``which`` (0-1) nearest to points, and squared distance."""
        px, py = x - self.ax[which], y - self.ay[which]
        dx, dy = self.dx[which], self.dy[which]
        squared = dx * dx + dy * dy
        t = np.clip((px * dx + py * dy) / np.where(squared > 0, squared, 1.0), 0.0, 1.0)
        return t, (px - t * dx) ** 2 + (py - t * dy) ** 2


def _centres(
    r0: int, r1: int, c0: int, c1: int, *, west: float, north: float, cell_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centre coordinates of the cells of rows ``r0:r1`` and columns ``c0:c1``."""
    x = west + (np.arange(c0, c1) + 0.5) * cell_m
    y = north - (np.arange(r0, r1) + 0.5) * cell_m
    return np.broadcast_to(x, (y.size, x.size)), np.broadcast_to(y[:, None], (y.size, x.size))


def _refine(
    nearest: np.ndarray,
    second: np.ndarray,
    segments: _Segments,
    *,
    west: float,
    north: float,
    cell_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Correct, in place, the nearest segment of each cell by exact distances (jump flooding).

    The distance transform finds the nearest marked cell, not the nearest segment: a cell
    centre may lie nearer another segment than the one marking that cell (``second`` holds
    another segment that passes through that cell, if any), and far from the streets such
    errors grow with the distance. Each cell tries the segments its neighbours hold,
    :data:`_STEPS` cells away and then nearer, and keeps the nearest by exact distance; the
    far neighbours only for cells more than twice as far from their segment.

    Returns
    -------
    t, squared : numpy.ndarray
        Where each cell centre joins its segment (0-1) and the squared distance to it.

    """
    rows, cols = nearest.shape
    band = max(1, _CHUNK_CELLS // max(cols, 1))
    t = np.empty((rows, cols), dtype=np.float32)
    squared = np.empty((rows, cols), dtype=np.float32)
    for r0 in range(0, rows, band):
        r1 = min(r0 + band, rows)
        x, y = _centres(r0, r1, 0, cols, west=west, north=north, cell_m=cell_m)
        t[r0:r1], squared[r0:r1] = segments.project(nearest[r0:r1], x, y)
        _try(nearest[r0:r1], t[r0:r1], squared[r0:r1], second[r0:r1], segments, x, y)
    flat = (nearest.reshape(-1), t.reshape(-1), squared.reshape(-1))
    far = np.flatnonzero(flat[2] > (2 * min(_STEPS[:-1], default=1) * cell_m) ** 2)
    for step in _STEPS[:-1]:
        # only where the streets are far: the cells whose nearest edge may be this far off
        cells = far[flat[2][far] > (2 * step * cell_m) ** 2]
        for start in range(0, cells.size, _CHUNK_CELLS):
            part = cells[start : start + _CHUNK_CELLS]
            r, c = np.divmod(part, cols)
            x, y = west + (c + 0.5) * cell_m, north - (r + 0.5) * cell_m
            for dr, dc in ((step, 0), (-step, 0), (0, step), (0, -step)):
                inside = (r + dr >= 0) & (r + dr < rows) & (c + dc >= 0) & (c + dc < cols)
                at = part[inside]
                near, t_at, squared_at = (a[at] for a in flat)
                neighbour = flat[0][at + dr * cols + dc]
                _try(near, t_at, squared_at, neighbour, segments, x[inside], y[inside])
                flat[0][at], flat[1][at], flat[2][at] = near, t_at, squared_at
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        c0, c1 = max(0, -dc), cols - max(0, dc)
        for r0 in range(max(0, -dr), rows - max(0, dr), band):
            r1 = min(r0 + band, rows - max(0, dr))
            x, y = _centres(r0, r1, c0, c1, west=west, north=north, cell_m=cell_m)
            _try(
                nearest[r0:r1, c0:c1],
                t[r0:r1, c0:c1],
                squared[r0:r1, c0:c1],
                nearest[r0 + dr : r1 + dr, c0 + dc : c1 + dc],
                segments,
                x,
                y,
            )
    return t, squared


def _try(
    nearest: np.ndarray,
    t: np.ndarray,
    squared: np.ndarray,
    candidate: np.ndarray,
    segments: _Segments,
    x: np.ndarray,
    y: np.ndarray,
) -> None:
    """Where ``candidate`` differs from ``nearest`` and is nearer, take it (in place)."""
    at = np.nonzero(candidate != nearest)
    if not at[0].size:
        return
    other = candidate[at]
    t_other, distance = segments.project(other, x[at], y[at])
    better = distance < squared[at]
    at = tuple(a[better] for a in at)
    nearest[at] = other[better]
    t[at] = t_other[better]
    squared[at] = distance[better]


def _segments(net: WalkNetwork) -> _Segments:
    coords, index = shapely.get_coordinates(net.geometry, return_index=True)
    same = index[1:] == index[:-1]
    a, b, edge = coords[:-1][same], coords[1:][same], index[:-1][same]
    delta = b - a
    length = np.hypot(delta[:, 0], delta[:, 1])
    done = np.cumsum(length) - length
    first = np.searchsorted(edge, edge, side="left")
    total = np.bincount(edge, weights=length, minlength=net.n_edges)
    return _Segments(
        edge=edge.astype(np.int32),
        ax=a[:, 0],
        ay=a[:, 1],
        dx=delta[:, 0],
        dy=delta[:, 1],
        length=length,
        before=done - done[first],
        total=total[edge],
    )


def dissolve(circles: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One polygon per circle, tier and time limit: the union of the facilities' circles.

    Parameters
    ----------
    circles : geopandas.GeoDataFrame
        Per-facility polygons with ``circle``, ``tier`` and ``minutes``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``circle``, ``tier``, ``minutes``, ``facilities`` and the geometry, in the
        input's CRS.

    """
    groups = list(circles.groupby(["circle", "tier", "minutes"], sort=True))
    # each group's union in a thread of its own (GEOS releases the GIL): two cores, two unions
    with ThreadPoolExecutor(max_workers=max(1, min(_workers(), len(groups)))) as pool:
        shapes = list(pool.map(lambda g: shapely.union_all(g[1].geometry.to_numpy()), groups))
    rows = [
        (circle, tier, minutes, len(group), shape)
        for ((circle, tier, minutes), group), shape in zip(groups, shapes, strict=True)
    ]
    frame = pd.DataFrame(rows, columns=["circle", "tier", "minutes", "facilities", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=circles.crs)


def uncovered_areas(
    communities: gpd.GeoDataFrame, circles: gpd.GeoDataFrame, circle_names: Sequence[str]
) -> gpd.GeoDataFrame:
    """The parts of each community that lie outside every circle polygon it is held to.

    Only communities whose status is ``partial``, ``uncovered`` or ``no_facility`` get a row;
    each is compared with the circles of its own time limit (``<circle>_minutes``).

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        The analysed communities (``id``, ``<circle>_status``, ``<circle>_minutes``).
    circles : geopandas.GeoDataFrame
        Per-facility circle polygons, same CRS.
    circle_names : sequence of str
        The circles to map.

    Returns
    -------
    geopandas.GeoDataFrame
        ``community_id``, ``name``, ``circle``, ``minutes``, ``area_m2`` and the geometry.

    """
    rows = []
    for name in circle_names:
        status = communities[f"{name}_status"]
        todo = communities[status.isin(NOT_COVERED)]
        for minutes, group in todo.groupby(f"{name}_minutes", sort=True):
            rings = circles[(circles["circle"] == name) & (circles["minutes"] == minutes)]
            shapes = rings.geometry.to_numpy()
            geoms = group.geometry.to_numpy()
            tree = shapely.STRtree(shapes)
            which, hit = tree.query(geoms, predicate="intersects")
            cover = _covers(shapes, which, hit, len(group))
            missing = pd.isna(cover)
            left = geoms.copy()
            left[~missing] = shapely.difference(geoms[~missing], cover[~missing].astype(object))
            for row, shape in zip(group.itertuples(), left, strict=True):
                if shape is not None and not shape.is_empty:
                    rows.append((row.id, row.name, name, float(minutes), shape.area, shape))
    frame = pd.DataFrame(
        rows, columns=["community_id", "name", "circle", "minutes", "area_m2", "geometry"]
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=communities.crs)


def _workers() -> int:
    return max(1, os.cpu_count() or 1)


def _covers(shapes: np.ndarray, which: np.ndarray, hit: np.ndarray, count: int) -> np.ndarray:
    """Per item ``0..count-1``, the union of the ``shapes`` paired with it (``None`` if none).

    ``which`` and ``hit`` are the pairs (item, shape), as an STRtree query gives them.
    """
    cover = np.full(count, None, dtype=object)
    if which.size == 0:
        return cover
    order = np.argsort(which, kind="stable")
    which, hit = which[order], hit[order]
    starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
    stops = np.r_[starts[1:], which.size]

    def cover_of(span: np.ndarray) -> None:
        for a, b in zip(starts[span], stops[span], strict=True):
            cover[which[a]] = shapely.union_all(shapes[hit[a:b]])

    _in_threads(cover_of, np.arange(starts.size))
    return cover


def _in_threads(work: Callable[[np.ndarray], None], items: np.ndarray) -> None:
    """Run ``work`` on shares of ``items``, one thread per core (GEOS releases the GIL)."""
    shares = [share for share in np.array_split(items, _workers()) if share.size]
    if len(shares) <= 1:
        work(items)
        return
    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        list(pool.map(work, shares))
