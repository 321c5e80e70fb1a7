"""Circle polygons true to the network: the streets reached within the minutes, buffered.

For each facility the reached parts of edges are collected: whole edges both of whose ends are
reached with time to spare, and the reachable part of the last edge from each end. The union of
those lines, buffered by a short access distance, is the circle. Blocks whose inside no street
reaches stay holes; unreachable land is never covered, unlike a convex hull.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from .network import WalkNetwork
from .travel import Snap, node_times, reach


def polygons(
    net: WalkNetwork,
    sources: Snap,
    *,
    speed_m_s: float,
    limit_s: float,
    buffer_m: float = 40.0,
) -> Iterator[tuple[int, shapely.Geometry]]:
    """Yield ``(source index, polygon)`` for each source: the area within ``limit_s`` on foot.

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
    buffer_m : float, keyword-only
        Distance from a reached street still counted as reached, metres.

    """
    budget_m = limit_s * speed_m_s

    def lines_of(index: int, nodes: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return reached_lines(
            net,
            nodes,
            seconds * speed_m_s,
            budget_m=budget_m,
            own_edge=int(sources.edge[index]),
            own_fraction=float(sources.fraction[index]),
            own_access_m=float(sources.access_m[index]),
        )

    searches = reach(net, sources, speed_m_s=speed_m_s, limit_s=limit_s)
    line_sets = (lines_of(i, nodes, seconds) for i, nodes, seconds in searches)
    # GEOS releases the GIL: buffering and union run on every core in threads.
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        shapes = pool.map(partial(_outline, buffer_m=buffer_m), line_sets)
        yield from enumerate(shapes)


def merged_polygon(
    net: WalkNetwork,
    sources: Snap,
    *,
    speed_m_s: float,
    limit_s: float,
    buffer_m: float = 40.0,
) -> shapely.Geometry:
    """The area within ``limit_s`` on foot from any of ``sources``: the union of their polygons.

    One multi-source search from all sources at once, so the cost does not grow with their
    number as :func:`polygons` does. A stretch of street is reached from some source exactly
    when it is reached from the nearest one, so the area is the union of the sources' own
    areas of :func:`polygons`, up to rounding.

    Parameters are as for :func:`polygons`.
    """
    if len(sources) == 0:
        return shapely.Polygon()
    times = node_times(net, sources, speed_m_s=speed_m_s, limit_s=limit_s)
    nodes = np.flatnonzero(times.time_s <= limit_s)
    lines = reached_lines(
        net,
        nodes,
        times.time_s[nodes] * speed_m_s,
        budget_m=limit_s * speed_m_s,
        own_edge=sources.edge,
        own_fraction=sources.fraction,
        own_access_m=sources.access_m,
    )
    return _outline(lines, buffer_m=buffer_m)


def _outline(lines: np.ndarray, *, buffer_m: float) -> shapely.Geometry:
    """Union of the lines buffered by ``buffer_m``.

    Buffering the pieces and taking one union is several times faster than buffering one
    large multi-line.
    """
    if lines.size == 0:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=2))


def reached_lines(
    net: WalkNetwork,
    nodes: np.ndarray,
    distance_m: np.ndarray,
    *,
    budget_m: float,
    own_edge: int | np.ndarray,
    own_fraction: float | np.ndarray,
    own_access_m: float | np.ndarray,
) -> np.ndarray:
    """The parts of edges walkable within ``budget_m`` metres.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    nodes, distance_m : numpy.ndarray
        Reached nodes and their walking distance in metres.
    budget_m : float, keyword-only
        The distance allowed.
    own_edge, own_fraction, own_access_m : keyword-only
        Where the source joins the network: its edge, position along it, access distance
        (one value each, or arrays for several sources).

    Returns
    -------
    numpy.ndarray
        LineStrings (possibly partial edges), in ``net.crs``.

    """
    order = np.argsort(nodes)
    reached, left = nodes[order], (budget_m - distance_m)[order]
    touched = net.incident_edges(reached)

    def remaining(ends: np.ndarray) -> np.ndarray:
        """Metres left at each end node; -1 where the node is not reached."""
        if reached.size == 0:
            return np.full(ends.size, -1.0)
        pos = np.minimum(np.searchsorted(reached, ends), reached.size - 1)
        return np.where(reached[pos] == ends, left[pos], -1.0)

    from_u = remaining(net.u[touched])
    from_v = remaining(net.v[touched])
    length = net.length_m[touched]
    safe = np.where(length > 0, length, 1.0)
    a = np.where(from_u >= 0, from_u / safe, -1.0)  # reachable fraction from the u end
    b = np.where(from_v >= 0, from_v / safe, -1.0)  # ... and from the v end
    whole = ((a >= 0) & (b >= 0) & (a + b >= 1.0)) | (length == 0)
    part_u = ~whole & (a > 0)
    part_v = ~whole & (b > 0)
    edges = [touched[part_u], touched[part_v]]
    starts = [np.zeros(int(part_u.sum())), np.maximum(1.0 - b[part_v], 0.0)]
    ends = [np.minimum(a[part_u], 1.0), np.ones(int(part_v.sum()))]
    # the sources' own edges, both ways from where each joins (those not reached whole)
    own = np.atleast_1d(np.asarray(own_edge, dtype=np.int64))
    own_left = budget_m - np.atleast_1d(np.asarray(own_access_m, dtype=float))
    fraction = np.atleast_1d(np.asarray(own_fraction, dtype=float))
    keep = (own_left > 0) & ~np.isin(own, touched[whole])
    length_own = net.length_m[own[keep]]
    span = np.where(length_own > 0, own_left[keep] / np.where(length_own > 0, length_own, 1.0), 1.0)
    edges.append(own[keep])
    starts.append(np.maximum(fraction[keep] - span, 0.0))
    ends.append(np.minimum(fraction[keep] + span, 1.0))
    pieces = _pieces(net, np.concatenate(edges), np.concatenate(starts), np.concatenate(ends))
    return np.concatenate([net.geometry[touched[whole]], pieces])


def _pieces(net: WalkNetwork, edges: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Sub-lines of edges between two fractions of their length, vectorised for straight edges."""
    keep = end > start
    edges, start, end = edges[keep], start[keep], end[keep]
    geoms = net.geometry[edges]
    straight = shapely.get_num_coordinates(geoms) == 2
    out = np.empty(edges.size, dtype=object)
    if straight.any():
        xy = shapely.get_coordinates(geoms[straight]).reshape(-1, 2, 2)
        delta = xy[:, 1] - xy[:, 0]
        segment = np.stack(
            [xy[:, 0] + start[straight, None] * delta, xy[:, 0] + end[straight, None] * delta],
            axis=1,
        )
        out[straight] = shapely.linestrings(segment)
    for i in np.flatnonzero(~straight):
        out[i] = substring(geoms[i], float(start[i]), float(end[i]), normalized=True)
    return out[shapely.get_type_id(out) == shapely.GeometryType.LINESTRING]


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
    rows = []
    for (circle, tier, minutes), group in circles.groupby(["circle", "tier", "minutes"], sort=True):
        shape = shapely.union_all(group.geometry.to_numpy())
        rows.append((circle, tier, minutes, len(group), shape))
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
        todo = communities[status.isin(["partial", "uncovered", "no_facility"])]
        for minutes, group in todo.groupby(f"{name}_minutes", sort=True):
            rings = circles[(circles["circle"] == name) & (circles["minutes"] == minutes)]
            shapes = rings.geometry.to_numpy()
            geoms = group.geometry.to_numpy()
            tree = shapely.STRtree(shapes)
            which, hit = tree.query(geoms, predicate="intersects")
            cover = np.full(len(group), None, dtype=object)
            if which.size:
                order = np.argsort(which, kind="stable")
                which, hit = which[order], hit[order]
                starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
                stops = np.r_[starts[1:], which.size]
                for a, b in zip(starts, stops, strict=True):
                    cover[which[a]] = shapely.union_all(shapes[hit[a:b]])
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
