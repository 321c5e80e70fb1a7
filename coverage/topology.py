"""Topology of a road layer: lines noded into a walking network, as a GIS analyst builds it.

A bureau's road centre lines are drawn for a map, not for routing: a street may cross another
without a shared vertex, an alley may stop half a metre short of the street it joins, a line
may be drawn twice. :func:`build` turns such lines into a :class:`~carecircle.network.WalkNetwork`
in four steps, all over arrays:

1. **Clean.** Repeated vertices are removed; a line left with no length is dropped (counted).
2. **Node crossings.** Every pair of segments whose boxes overlap (a shapely ``STRtree``
   query) is tested for an intersection in numpy; where two lines of the same ``level`` cross
   or touch, both are split there and share a node. Lines of different levels (a bridge over a
   street, a tunnel under it) cross without a node (counted as ``passes``).
3. **Snap ends.** A line's end within ``snap_tolerance_m`` of another line (its end or any point
   along it) joins the nearest such line there, whatever the levels (a footbridge lands on the
   pavement): that line is split at its nearest point and the end moves onto it (counted as
   ``snapped_ends`` when it moved). An end that meets nothing is a dangle (counted).
4. **Split and clean again.** Each line is cut at its nodes into edges, each measured on the
   ellipsoid as OpenStreetMap's are (:func:`~carecircle.network.geodesic_length_m`); an edge
   whose ends are one node (a line shorter than the tolerance) and a second edge between the
   same nodes with the same length (a line drawn twice) are removed (counted).

Nodes where several split points meet take the position of a point along a line rather than a
moved end, so a street never bends towards an alley that was snapped onto it. Elevations
(``z``) are interpolated along each line and kept per vertex (:attr:`WalkNetwork.z_m
<carecircle.network.WalkNetwork.z_m>`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from .errors import NetworkError
from .network import WalkNetwork, describe_components, geodesic_length_m, share_step_count

logger = logging.getLogger(__name__)

#: Default distance within which a line's end joins another line, metres.
SNAP_TOLERANCE_M = 0.5

#: Segments are tested for crossings in blocks of this many candidate pairs (bounds memory).
_PAIRS = 4_000_000

#: Split points on one line closer than this, metres, are one point.
_SAME_M = 1e-6


@dataclass(frozen=True, eq=False)
class Lines:
    """Polylines in a projected metric CRS, with what the network needs of each.

    Attributes
    ----------
    xy : numpy.ndarray
        Vertex coordinates, ``(n_vertices, 2)``, metres.
    offsets : numpy.ndarray
        ``(n_lines + 1,)``: line ``i`` is ``xy[offsets[i]:offsets[i + 1]]``.
    z : numpy.ndarray or None
        Elevation of each vertex, metres; NaN where unknown, ``None`` when no line has any.
    level : numpy.ndarray or None
        Level of each line (int): where lines of different levels cross they are not joined.
        ``None``: all on the ground (0).
    tags : dict of str to numpy.ndarray
        Per line, text in OpenStreetMap's terms (:data:`carecircle.network.EDGE_TAGS`); each
        edge cut from a line carries its line's tags, along the line as drawn.
    group : numpy.ndarray or None
        Per line (int): lines of one group are already noded among themselves (the edges of a
        network), so crossings are noded and ends snapped only between groups. ``None``: one
        group, not yet noded.
    end_key : numpy.ndarray or None
        ``(n_lines, 2)`` int: a key for each line's first and last vertex; ends of one key
        (0 or more) are one node whatever their positions (an existing network's nodes), -1
        none.
    end_tolerance_m : numpy.ndarray or None
        ``(n_lines, 2)``: the snap tolerance of each end, metres, in place of
        :func:`build`'s (NaN: :func:`build`'s).
    key_tags : dict of str to numpy.ndarray
        Node tags by ``end_key`` (an existing network's :attr:`~WalkNetwork.node_tags`), given
        to the node each key ends up in.

    """

    xy: np.ndarray
    offsets: np.ndarray
    z: np.ndarray | None = None
    level: np.ndarray | None = None
    tags: Mapping[str, np.ndarray] = field(default_factory=dict)
    group: np.ndarray | None = None
    end_key: np.ndarray | None = None
    end_tolerance_m: np.ndarray | None = None
    key_tags: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_lines(self) -> int:
        """Number of lines."""
        return int(self.offsets.size - 1)

    @classmethod
    def from_geometries(
        cls,
        geoms: Any,
        *,
        level: np.ndarray | None = None,
        tags: Mapping[str, np.ndarray] | None = None,
    ) -> Lines:
        """Lines from shapely LineStrings and MultiLineStrings (2D or 3D), already projected.

        A MultiLineString's parts become lines of their own with its level and tags; empty
        and missing geometries are skipped (count them before, to say so).
        """
        geoms = np.asarray(geoms, dtype=object)
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        parts, owner = shapely.get_parts(geoms[present], return_index=True)
        owner = np.flatnonzero(present)[owner]
        kinds = shapely.get_type_id(parts)
        if (kinds != shapely.GeometryType.LINESTRING).any():
            msg = "road lines must be LineStrings or MultiLineStrings"
            raise NetworkError(msg)
        xyz, vertex_line = shapely.get_coordinates(parts, include_z=True, return_index=True)
        counts = np.bincount(vertex_line, minlength=parts.size)
        offsets = np.zeros(parts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        z = xyz[:, 2] if shapely.has_z(parts).any() else None
        return cls(
            xy=np.ascontiguousarray(xyz[:, :2], dtype=float),
            offsets=offsets,
            z=None if z is None else np.asarray(z, dtype=float),
            level=None if level is None else np.asarray(level, dtype=np.int64)[owner],
            tags={
                name: np.asarray(values, dtype=object)[owner]
                for name, values in (tags or {}).items()
            },
        )


@dataclass(frozen=True)
class Report:
    """What :func:`build` did to the lines, for the log and the run's metadata."""

    lines: int
    segments: int
    zero_length: int
    duplicates: int
    crossings: int
    passes: int
    snapped_ends: int
    dangles: int
    nodes: int
    edges: int
    parts: int
    largest_share: float
    snap_tolerance_m: float

    def line(self) -> str:
        """The report in one line."""
        return (
            f"{self.lines} lines ({self.segments} segments) made {self.edges} edges and "
            f"{self.nodes} nodes: {self.crossings} crossings noded, {self.passes} passing over "
            f"or under at another level, {self.snapped_ends} ends snapped within "
            f"{self.snap_tolerance_m:g} m, {self.dangles} dangling ends, {self.duplicates} "
            f"duplicate and {self.zero_length} zero-length pieces removed; {self.parts} "
            f"connected part(s), the largest holding {self.largest_share:.0%} of the nodes"
        )

    def as_dict(self) -> dict[str, Any]:
        """The counts by name, with a ``topology_`` prefix, for metadata."""
        return {f"topology_{key}": value for key, value in asdict(self).items()}


def build(
    lines: Lines,
    *,
    crs: str | CRS,
    snap_tolerance_m: float = SNAP_TOLERANCE_M,
    source: str = "",
) -> tuple[WalkNetwork, Report]:
    """Node the lines into a walking network (see the module's description of the steps).

    Parameters
    ----------
    lines : Lines
        The road lines, in ``crs``.
    crs : str or pyproj.CRS, keyword-only
        Their projected CRS (metres); the network's.
    snap_tolerance_m : float, keyword-only
        A line's end within this distance of another line joins it; 0 joins only ends that
        touch exactly.
    source : str, keyword-only
        Where the lines came from, for the network's metadata.

    Returns
    -------
    tuple
        ``(network, report)``. The network's nodes are numbered from 0; its edges carry the
        tags of their lines and, with ``lines.z``, the vertices' elevations.

    Raises
    ------
    NetworkError
        When the CRS is not projected, the tolerance is not a number of metres or no line has
        a length.

    Examples
    --------
    Two streets drawn across each other without a shared vertex become four edges:

    >>> xy = np.array([[0.0, 0.0], [100.0, 0.0], [50.0, -50.0], [50.0, 50.0]])
    >>> net, report = build(Lines(xy, np.array([0, 2, 4])), crs="EPSG:4545")
    >>> net.n_nodes, net.n_edges, report.crossings
    (5, 4, 1)

    """
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        msg = f"road lines must be in a projected CRS (metres) to be noded, not {crs.name!r}"
        raise NetworkError(msg)
    tol = float(snap_tolerance_m)
    if not (np.isfinite(tol) and tol >= 0):
        msg = f"the snap tolerance must be 0 or more metres, got {snap_tolerance_m!r}"
        raise NetworkError(msg)
    n_lines_in = lines.n_lines
    clean, zero_lines = _clean(lines)
    if clean.n_lines == 0:
        msg = f"{source or 'the road layer'}: no line has a length; nothing to build a network from"
        raise NetworkError(msg)
    seg = _Segments.of(clean)
    points = _SplitPoints.ends(clean, seg)
    if clean.end_key is not None:
        _link_keys(clean, points)
    crossings, passes = _node_crossings(clean, seg, points)
    _snap_ends(clean, seg, points, tol)
    node, node_xy = points.nodes()
    # the first points are the lines' ends (_SplitPoints.ends); those whose node is elsewhere moved
    ends = np.concatenate([clean.offsets[:-1], clean.offsets[1:] - 1])
    moved = np.hypot(*(node_xy[node[: ends.size]] - clean.xy[ends]).T) > _SAME_M
    edges = _cut(clean, seg, points, node, node_xy, crs)
    zero = edges.u == edges.v
    dup = _duplicates(edges) & ~zero
    keep = ~(zero | dup)
    net = _network(clean, edges, keep, node_xy, crs=crs, source=source)
    if clean.key_tags and clean.end_key is not None:
        net = _with_key_tags(net, clean, node, edges, keep)
    degree = np.bincount(np.concatenate([net.u, net.v]), minlength=net.n_nodes)
    parts = np.bincount(net.component)
    report = Report(
        lines=n_lines_in,
        segments=int(seg.n),
        zero_length=int(zero_lines + zero.sum()),
        duplicates=int(dup.sum()),
        crossings=crossings,
        passes=passes,
        snapped_ends=int(moved.sum()),
        dangles=int((degree == 1).sum()),
        nodes=net.n_nodes,
        edges=net.n_edges,
        parts=int(parts.size),
        largest_share=float(parts.max() / parts.sum()),
        snap_tolerance_m=tol,
    )
    net = dataclasses.replace(net, built={"network_kind": "road layer", **report.as_dict()})
    logger.info("%s: %s", source or "road layer", report.line())
    logger.debug("%s", describe_components(net))
    return net, report


# --- the steps -------------------------------------------------------------------------------


def _link_keys(lines: Lines, points: _SplitPoints) -> None:
    """Link the ends that share an ``end_key`` (the first points are the ends, heads first)."""
    assert lines.end_key is not None
    key = np.concatenate([lines.end_key[:, 0], lines.end_key[:, 1]])
    known = np.flatnonzero(key >= 0)
    order = known[np.argsort(key[known], kind="stable")]
    same = key[order][1:] == key[order][:-1]
    points.link(order[1:][same], order[:-1][same])


def _with_key_tags(
    net: WalkNetwork, lines: Lines, node: np.ndarray, edges: _Edges, keep: np.ndarray
) -> WalkNetwork:
    """The network with its nodes' tags taken from the keys of the ends that made them."""
    assert lines.end_key is not None
    n = lines.n_lines
    key = np.concatenate([lines.end_key[:, 0], lines.end_key[:, 1]])
    used = np.zeros(int(node.max()) + 1, dtype=bool)
    used[edges.u[keep]] = True
    used[edges.v[keep]] = True
    remap = np.cumsum(used) - 1
    end_node = node[: 2 * n]
    has = (key >= 0) & used[end_node]
    tags = {}
    for name, by_key in lines.key_tags.items():
        values = np.full(net.n_nodes, "", dtype=object)
        text = np.asarray(by_key, dtype=object)[key[has]]
        given = text != ""
        values[remap[end_node[has][given]]] = text[given]
        tags[name] = values
    return dataclasses.replace(net, node_tags=tags)


def _clean(lines: Lines) -> tuple[Lines, int]:
    """Lines without repeated vertices, and without those left with fewer than two."""
    xy = np.asarray(lines.xy, dtype=float)
    line_of = np.repeat(np.arange(lines.n_lines), np.diff(lines.offsets))
    first = np.zeros(xy.shape[0], dtype=bool)
    first[lines.offsets[:-1][np.diff(lines.offsets) > 0]] = True
    same = np.zeros(xy.shape[0], dtype=bool)
    same[1:] = (xy[1:] == xy[:-1]).all(axis=1) & ~first[1:]
    keep_vertex = ~same
    counts = np.bincount(line_of[keep_vertex], minlength=lines.n_lines)
    keep_line = counts >= 2
    keep_vertex &= keep_line[line_of]
    offsets = np.zeros(int(keep_line.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[keep_line], out=offsets[1:])
    return (
        Lines(
            xy=xy[keep_vertex],
            offsets=offsets,
            z=None if lines.z is None else np.asarray(lines.z, dtype=float)[keep_vertex],
            level=None if lines.level is None else np.asarray(lines.level)[keep_line],
            tags={name: np.asarray(values)[keep_line] for name, values in lines.tags.items()},
            group=None if lines.group is None else np.asarray(lines.group)[keep_line],
            end_key=None if lines.end_key is None else np.asarray(lines.end_key)[keep_line],
            end_tolerance_m=None
            if lines.end_tolerance_m is None
            else np.asarray(lines.end_tolerance_m, dtype=float)[keep_line],
            key_tags=lines.key_tags,
        ),
        int((~keep_line).sum()),
    )


@dataclass(frozen=True)
class _Segments:
    """The straight segments of the lines: vertex ``start[i]`` to ``start[i] + 1``."""

    start: np.ndarray  # index of the first vertex
    line: np.ndarray  # the line it belongs to
    dist: np.ndarray  # distance along the line of every vertex (per vertex, not per segment)
    length: np.ndarray  # length of every line
    # one axis for all lines, each line its length plus 1 m after the last: where each line
    # starts on it, and every vertex's position on it (increasing, for searchsorted)
    offset: np.ndarray
    axis: np.ndarray

    @property
    def n(self) -> int:
        return int(self.start.size)

    @classmethod
    def of(cls, lines: Lines) -> _Segments:
        n_vertices = lines.xy.shape[0]
        last = np.zeros(n_vertices, dtype=bool)
        last[lines.offsets[1:] - 1] = True
        start = np.flatnonzero(~last)
        line = np.repeat(np.arange(lines.n_lines), np.diff(lines.offsets) - 1)
        step = np.hypot(*(lines.xy[start + 1] - lines.xy[start]).T)
        dist = np.zeros(n_vertices)
        dist[start + 1] = step
        np.cumsum(dist, out=dist)
        base = dist[lines.offsets[:-1]]
        dist -= np.repeat(base, np.diff(lines.offsets))
        length = dist[lines.offsets[1:] - 1]
        offset = np.zeros(length.size)
        np.cumsum(length[:-1] + 1.0, out=offset[1:])
        axis = np.repeat(offset, np.diff(lines.offsets)) + dist
        return cls(start=start, line=line, dist=dist, length=length, offset=offset, axis=axis)


@dataclass
class _SplitPoints:
    """Points where lines are cut, and which of them are one place (links, unioned later)."""

    line: list[np.ndarray]
    dist: list[np.ndarray]
    x: list[np.ndarray]
    y: list[np.ndarray]
    is_end: list[np.ndarray]
    links: list[tuple[np.ndarray, np.ndarray]]
    size: int = 0

    @classmethod
    def ends(cls, lines: Lines, seg: _Segments) -> _SplitPoints:
        """Both ends of every line, and the middle of closed lines (a ring is not a loop)."""
        n = lines.n_lines
        head, tail = lines.offsets[:-1], lines.offsets[1:] - 1
        points = cls([], [], [], [], [], [])
        points.add(np.arange(n), np.zeros(n), lines.xy[head, 0], lines.xy[head, 1], end=True)
        points.add(np.arange(n), seg.length, lines.xy[tail, 0], lines.xy[tail, 1], end=True)
        closed = np.flatnonzero((lines.xy[head] == lines.xy[tail]).all(axis=1))
        if closed.size:
            middle = seg.length[closed] / 2
            mx, my = _along(lines, seg, closed, middle)
            points.add(closed, middle, mx, my, end=False)
        return points

    def add(
        self, line: np.ndarray, dist: np.ndarray, x: np.ndarray, y: np.ndarray, *, end: bool
    ) -> np.ndarray:
        """Add points; return their indices."""
        index = np.arange(self.size, self.size + line.size)
        self.line.append(np.asarray(line, dtype=np.int64))
        self.dist.append(np.asarray(dist, dtype=float))
        self.x.append(np.asarray(x, dtype=float))
        self.y.append(np.asarray(y, dtype=float))
        self.is_end.append(np.full(line.size, end))
        self.size += line.size
        return index

    def link(self, a: np.ndarray, b: np.ndarray) -> None:
        """Say that points ``a[i]`` and ``b[i]`` are one place."""
        self.links.append((np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)))

    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """The node of every point, and every node's position."""
        line = np.concatenate(self.line)
        dist = np.concatenate(self.dist)
        x, y = np.concatenate(self.x), np.concatenate(self.y)
        is_end = np.concatenate(self.is_end)
        # points on one line at one distance are one place
        order = np.lexsort((dist, line))
        same = np.zeros(order.size, dtype=bool)
        same[1:] = (line[order][1:] == line[order][:-1]) & (np.diff(dist[order]) <= _SAME_M)
        a = [order[1:][same[1:]]]
        b = [order[:-1][same[1:]]]
        for first, second in self.links:
            a.append(first)
            b.append(second)
        rows, cols = np.concatenate(a), np.concatenate(b)
        graph = coo_array(
            (np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(self.size, self.size)
        )
        _, node = connected_components(graph.tocsr(), directed=False)
        # a node sits where a point along a line is, before a moved end; then the first point
        pick = np.lexsort((np.arange(self.size), is_end, node))
        first = np.ones(pick.size, dtype=bool)
        first[1:] = node[pick][1:] != node[pick][:-1]
        rep = pick[first]
        node_xy = np.column_stack([x[rep], y[rep]])
        return node.astype(np.int64), node_xy

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.line), np.concatenate(self.dist)


def _along(
    lines: Lines, seg: _Segments, line: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the points ``dist`` metres along lines ``line``."""
    vertex, t = _place(lines, seg, line, dist)
    x0, y0 = lines.xy[vertex].T
    x1, y1 = lines.xy[vertex + 1].T
    return x0 + t * (x1 - x0), y0 + t * (y1 - y0)


def _place(
    lines: Lines, seg: _Segments, line: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The segment of each point (line, dist): its first vertex and the fraction along it."""
    at = np.searchsorted(seg.axis, seg.offset[line] + dist, side="right") - 1
    vertex = np.clip(at, lines.offsets[line], lines.offsets[line + 1] - 2)
    step = seg.dist[vertex + 1] - seg.dist[vertex]
    t = np.clip((dist - seg.dist[vertex]) / np.where(step > 0, step, 1.0), 0.0, 1.0)
    return vertex, t


def _node_crossings(lines: Lines, seg: _Segments, points: _SplitPoints) -> tuple[int, int]:
    """Split lines of one level where they cross or touch; count crossings of two levels."""
    xy = lines.xy
    a0, a1 = xy[seg.start], xy[seg.start + 1]
    boxes = shapely.box(
        np.minimum(a0[:, 0], a1[:, 0]),
        np.minimum(a0[:, 1], a1[:, 1]),
        np.maximum(a0[:, 0], a1[:, 0]),
        np.maximum(a0[:, 1], a1[:, 1]),
    )
    tree = shapely.STRtree(boxes)
    level = np.zeros(lines.n_lines, dtype=np.int64) if lines.level is None else lines.level
    crossings = passes = 0
    block = max(1, _PAIRS // 8)
    for lo in range(0, seg.n, block):
        i, j = tree.query(boxes[lo : lo + block])
        i += lo
        keep = i < j
        # consecutive segments of one line share their vertex: that is not a crossing
        keep &= ~((seg.line[i] == seg.line[j]) & (j == i + 1))
        if lines.group is not None:  # lines of one group are noded already
            keep &= lines.group[seg.line[i]] != lines.group[seg.line[j]]
        i, j = i[keep], j[keep]
        t, s, hit = _intersect(a0[i], a1[i], a0[j], a1[j])
        i, j, t, s = i[hit], j[hit], t[hit], s[hit]
        li, lj = seg.line[i], seg.line[j]
        di = seg.dist[seg.start[i]] + t * (seg.dist[seg.start[i] + 1] - seg.dist[seg.start[i]])
        dj = seg.dist[seg.start[j]] + s * (seg.dist[seg.start[j] + 1] - seg.dist[seg.start[j]])
        px = a0[i, 0] + t * (a1[i, 0] - a0[i, 0])
        py = a0[i, 1] + t * (a1[i, 1] - a0[i, 1])
        end_i = (di <= _SAME_M) | (di >= seg.length[li] - _SAME_M)
        end_j = (dj <= _SAME_M) | (dj >= seg.length[lj] - _SAME_M)
        same_level = level[li] == level[lj]
        inner = ~end_i & ~end_j
        # a crossing met at a shared vertex is found once per pair of segments around it
        passes += _distinct(li, lj, px, py, inner & ~same_level)
        crossings += _distinct(li, lj, px, py, inner & same_level)
        # ends are joined by _snap_ends, which also sees touches between levels
        node = same_level & ~(end_i & end_j)
        if node.any():
            pi = points.add(li[node], di[node], px[node], py[node], end=False)
            pj = points.add(lj[node], dj[node], px[node], py[node], end=False)
            points.link(pi, pj)
    return crossings, passes


def _distinct(
    li: np.ndarray, lj: np.ndarray, px: np.ndarray, py: np.ndarray, mask: np.ndarray
) -> int:
    """Number of distinct (line pair, place) among the masked crossings."""
    if not mask.any():
        return 0
    lo, hi = np.minimum(li[mask], lj[mask]), np.maximum(li[mask], lj[mask])
    key = np.column_stack([lo, hi, np.round(px[mask], 6), np.round(py[mask], 6)])
    return int(np.unique(key, axis=0).shape[0])


def _intersect(
    a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where segments ``a0-a1`` and ``b0-b1`` meet: fractions along each, and whether they do.

    Parallel segments never meet here (an overlap's ends are joined by :func:`_snap_ends`).
    """
    r = a1 - a0
    s = b1 - b0
    qp = b0 - a0
    denom = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    ok = denom != 0
    safe = np.where(ok, denom, 1.0)
    t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / safe
    u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / safe
    eps = 1e-12
    hit = ok & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (u <= 1 + eps)
    return np.clip(t, 0.0, 1.0), np.clip(u, 0.0, 1.0), hit


def _snap_ends(lines: Lines, seg: _Segments, points: _SplitPoints, tol: float) -> None:
    """Join every line end to the lines within ``tol`` of it."""
    n = lines.n_lines
    head, tail = lines.offsets[:-1], lines.offsets[1:] - 1
    end_xy = np.concatenate([lines.xy[head], lines.xy[tail]])
    end_line = np.concatenate([np.arange(n), np.arange(n)])
    end_dist = np.concatenate([np.zeros(n), seg.length])
    end_point = np.arange(2 * n)  # the ends were the first points added (_SplitPoints.ends)
    end_tol = np.full(2 * n, tol)
    if lines.end_tolerance_m is not None:
        given = np.concatenate([lines.end_tolerance_m[:, 0], lines.end_tolerance_m[:, 1]])
        end_tol = np.where(np.isnan(given), tol, given)
    a0, a1 = lines.xy[seg.start], lines.xy[seg.start + 1]
    tree = shapely.STRtree(shapely.linestrings(np.stack([a0, a1], axis=1)))
    block = max(1, _PAIRS // 8)
    for lo in range(0, 2 * n, block):
        e, k = tree.query(
            shapely.points(end_xy[lo : lo + block]),
            predicate="dwithin",
            distance=end_tol[lo : lo + block],
        )
        e += lo
        r = a1[k] - a0[k]
        rr = (r**2).sum(axis=1)
        t = np.clip(((end_xy[e] - a0[k]) * r).sum(axis=1) / np.where(rr > 0, rr, 1.0), 0, 1)
        px = a0[k, 0] + t * r[:, 0]
        py = a0[k, 1] + t * r[:, 1]
        gap = np.hypot(end_xy[e, 0] - px, end_xy[e, 1] - py)
        lk = seg.line[k]
        dk = seg.dist[seg.start[k]] + t * (seg.dist[seg.start[k] + 1] - seg.dist[seg.start[k]])
        # an end near its own line joins it only further along than the tolerance (a loop)
        own = lk == end_line[e]
        keep = (gap <= end_tol[e]) & (~own | (np.abs(dk - end_dist[e]) > 2 * end_tol[e] + _SAME_M))
        if lines.group is not None:  # lines of one group are noded already
            keep &= lines.group[lk] != lines.group[end_line[e]]
        e, lk, dk, px, py, gap = e[keep], lk[keep], dk[keep], px[keep], py[keep], gap[keep]
        # the nearest line only: an end near a junction joins it once, not every line there
        order = np.lexsort((gap, e))
        first = np.ones(order.size, dtype=bool)
        first[1:] = e[order][1:] != e[order][:-1]
        near = order[first]
        if near.size:
            placed = points.add(lk[near], dk[near], px[near], py[near], end=False)
            points.link(end_point[e[near]], placed)


@dataclass(frozen=True)
class _Edges:
    line: np.ndarray
    d0: np.ndarray
    d1: np.ndarray
    u: np.ndarray
    v: np.ndarray
    geometry: np.ndarray
    z_m: np.ndarray | None
    length: np.ndarray


def _cut(
    lines: Lines,
    seg: _Segments,
    points: _SplitPoints,
    node: np.ndarray,
    node_xy: np.ndarray,
    crs: CRS,
) -> _Edges:
    """Cut every line at its split points into edges running along the line."""
    line, dist = points.arrays
    order = np.lexsort((dist, line))
    line, dist, node = line[order], dist[order], node[order]
    # one cut per (line, node): the points of one node on one line are one cut
    first = np.ones(order.size, dtype=bool)
    first[1:] = (line[1:] != line[:-1]) | (np.diff(dist) > _SAME_M)
    line, dist, node = line[first], dist[first], node[first]
    pair = np.flatnonzero(line[1:] == line[:-1])
    e_line, d0, d1 = line[pair], dist[pair], dist[pair + 1]
    u, v = node[pair], node[pair + 1]

    # interior vertices of each edge: strictly between d0 and d1 along its line
    base = seg.offset[e_line]
    lo = np.searchsorted(seg.axis, base + d0 + _SAME_M, side="left")
    hi = np.searchsorted(seg.axis, base + d1 - _SAME_M, side="right")
    inner = np.maximum(hi - lo, 0)
    count = inner + 2
    at = np.zeros(count.size + 1, dtype=np.int64)
    np.cumsum(count, out=at[1:])
    total = int(at[-1])
    coords = np.empty((total, 2))
    coords[at[:-1]] = node_xy[u]
    coords[at[1:] - 1] = node_xy[v]
    slot = np.repeat(at[:-1] + 1 - lo, inner) + _ranges(lo, inner)
    source = _ranges(lo, inner)
    coords[slot] = lines.xy[source]
    index = np.repeat(np.arange(count.size), count)
    geometry = shapely.linestrings(coords, indices=index)
    z_m = None
    if lines.z is not None:
        z_m = np.empty(total)
        z_m[at[:-1]] = _z_along(lines, seg, e_line, d0)
        z_m[at[1:] - 1] = _z_along(lines, seg, e_line, d1)
        z_m[slot] = lines.z[source]
    return _Edges(
        line=e_line,
        d0=d0,
        d1=d1,
        u=u,
        v=v,
        geometry=geometry,
        z_m=z_m,
        length=geodesic_length_m(geometry, crs),
    )


def _ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(start, count)])``, without the loop."""
    total = int(count.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    shift = np.repeat(start - np.cumsum(count) + count, count)
    return shift + np.arange(total)


def _z_along(lines: Lines, seg: _Segments, line: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Elevation interpolated at ``dist`` metres along each line (NaN where unknown)."""
    assert lines.z is not None
    vertex, t = _place(lines, seg, line, dist)
    return lines.z[vertex] + t * (lines.z[vertex + 1] - lines.z[vertex])


def _duplicates(edges: _Edges) -> np.ndarray:
    """Edges drawn again: the same two nodes, length and middle (to the centimetre) as an earlier.

    The middle tells apart two halves of a ring, which join the same nodes with one length.
    """
    lo, hi = np.minimum(edges.u, edges.v), np.maximum(edges.u, edges.v)
    middle = shapely.get_coordinates(
        shapely.line_interpolate_point(edges.geometry, 0.5, normalized=True)
    )
    key = np.column_stack(
        [lo, hi, *(np.round(col * 100).astype(np.int64) for col in (edges.length, *middle.T))]
    )
    order = np.lexsort((np.arange(lo.size), *key.T[::-1]))
    again = np.zeros(order.size, dtype=bool)
    again[1:] = (key[order][1:] == key[order][:-1]).all(axis=1)
    out = np.zeros(lo.size, dtype=bool)
    out[order[again]] = True
    return out


def _network(
    lines: Lines,
    edges: _Edges,
    keep: np.ndarray,
    node_xy: np.ndarray,
    *,
    crs: CRS,
    source: str,
) -> WalkNetwork:
    """The network of the kept edges and the nodes they use."""
    used = np.zeros(node_xy.shape[0], dtype=bool)
    used[edges.u[keep]] = True
    used[edges.v[keep]] = True
    remap = np.cumsum(used) - 1
    z_m = None
    if edges.z_m is not None:
        per_edge = shapely.get_num_coordinates(edges.geometry)
        z_m = edges.z_m[np.repeat(keep, per_edge)]
    line = edges.line[keep]
    tags = {name: np.asarray(values, dtype=object)[line] for name, values in lines.tags.items()}
    if "step_count" in tags:  # a flight cut at a landing keeps the steps of its own length
        tags["step_count"] = share_step_count(tags["step_count"], line, edges.length[keep])
    return WalkNetwork(
        crs=crs,
        node_id=np.arange(int(used.sum()), dtype=np.int64),
        x=node_xy[used, 0].copy(),
        y=node_xy[used, 1].copy(),
        u=remap[edges.u[keep]],
        v=remap[edges.v[keep]],
        length_m=edges.length[keep],
        geometry=edges.geometry[keep],
        source=source,
        edge_tags=tags,
        z_m=z_m,
    )


# --- an OpenStreetMap network and a road layer together --------------------------------------

#: Default distance within which a layer's line counts as a street OpenStreetMap already has,
#: metres: along at least :data:`MATCH_SHARE` of its length.
MATCH_M = 8.0
MATCH_SHARE = 0.8

#: Fractions along an edge where it is compared with OpenStreetMap's.
_MATCH_AT = np.array([0.1, 0.3, 0.5, 0.7, 0.9])

#: The largest angle, degrees, between a layer's edge and OpenStreetMap's for the two to be one
#: street.
_MATCH_ANGLE_DEG = 30.0

#: Ways whose kind matters to a walk: a layer's flight of steps is not OpenStreetMap's street
#: beside it.
_SPECIAL_HIGHWAY = frozenset({"steps", "elevator"})


def edge_level(net: WalkNetwork) -> np.ndarray:
    """Level of every edge from its tags, as OpenStreetMap reads them.

    ``layer`` where it is a number, else +1 on a ``bridge`` and -1 in a ``tunnel``, else 0.
    """
    layer = pd.to_numeric(pd.Series(net.edge_tag("layer"), dtype=object), errors="coerce")
    bridge = ~pd.Series(net.edge_tag("bridge")).isin(["", "no"])
    tunnel = ~pd.Series(net.edge_tag("tunnel")).isin(["", "no"])
    fallback = np.where(bridge, 1, np.where(tunnel, -1, 0))
    level = np.where(layer.notna(), layer.fillna(0).round(), fallback)
    return level.astype(np.int64)


def combine(
    osm: WalkNetwork,
    layer: WalkNetwork,
    *,
    snap_tolerance_m: float = SNAP_TOLERANCE_M,
    match_m: float = MATCH_M,
) -> tuple[WalkNetwork, dict[str, Any]]:
    """OpenStreetMap's network with a road layer's filling its gaps, joined into one.

    1. The OpenStreetMap network is brought into the layer's CRS.
    2. A layer edge that runs within ``match_m`` of an OpenStreetMap edge, and the same way
       (within 30 degrees), along 80 % of its length (sampled at five points) is a street
       OpenStreetMap has: it is left out. A path across a street is not the street; steps and
       elevators are left out only beside OpenStreetMap's own steps or elevators.
    3. The rest is joined to OpenStreetMap where they cross on one level, and where an end
       comes within ``snap_tolerance_m`` of the other network, or within ``match_m`` when the
       end lost the edge left out in step 2 (it met a street that OpenStreetMap draws a few
       metres away). Each network's own nodes stay as they were: neither is noded or snapped
       against itself again.

    Returns
    -------
    tuple
        ``(network, counts)``: the joined network (edge tag ``source`` says which network each
        edge came from) and what was done, for the log and the run's metadata.

    Examples
    --------
    A street from OpenStreetMap, the same street and an alley from a survey:

    >>> from carecircle import network
    >>> osm = network.from_arrays([0, 100], [0, 0], [0], [1], crs="EPSG:4545", source="a.osm")
    >>> xy = np.array([[0, 2], [100, 2], [50, 2], [50, 60]], dtype=float)
    >>> layer, _ = build(Lines(xy, np.array([0, 2, 4])), crs="EPSG:4545", source="roads.shp")
    >>> both, counts = combine(osm, layer)
    >>> both.n_edges, counts["combine_layer_edges_in_osm"], counts["combine_layer_edges_added"]
    (3, 2, 1)

    """
    match = float(match_m)
    if not (np.isfinite(match) and match >= 0):
        msg = f"the distance to match OpenStreetMap's streets must be 0 or more m, got {match_m!r}"
        raise NetworkError(msg)
    osm = _to_crs(osm, layer.crs)
    in_osm = _in_osm(layer, osm, match)
    kept = ~in_osm
    # a layer node that loses an edge met a street OpenStreetMap draws a little way off
    lost = np.zeros(layer.n_nodes, dtype=bool)
    lost[layer.u[in_osm]] = True
    lost[layer.v[in_osm]] = True
    n_osm_nodes = osm.n_nodes
    geoms = np.concatenate([osm.geometry, layer.geometry[kept]])
    names = sorted({*osm.edge_tags, *layer.edge_tags} - {"source"})
    tags = {
        name: np.concatenate([osm.edge_tag(name), layer.edge_tag(name)[kept]]) for name in names
    }
    tags["source"] = np.concatenate(
        [
            np.full(osm.n_edges, osm.source or "OpenStreetMap", dtype=object),
            np.full(int(kept.sum()), layer.source or "road layer", dtype=object),
        ]
    )
    end_key = np.concatenate(
        [
            np.column_stack([osm.u, osm.v]),
            np.column_stack([layer.u[kept], layer.v[kept]]) + n_osm_nodes,
        ]
    )
    tolerance = np.full(end_key.shape, np.nan)
    far = np.column_stack([lost[layer.u[kept]], lost[layer.v[kept]]])
    tolerance[osm.n_edges :][far] = max(match, snap_tolerance_m)
    key_tags = {
        name: np.concatenate([osm.node_tag(name), layer.node_tag(name)])
        for name in sorted({*osm.node_tags, *layer.node_tags})
    }
    z = None
    if layer.z_m is not None:
        per_edge = shapely.get_num_coordinates(layer.geometry)
        z = np.concatenate(
            [
                np.full(int(shapely.get_num_coordinates(osm.geometry).sum()), np.nan),
                layer.z_m[np.repeat(kept, per_edge)],
            ]
        )
    lines = Lines.from_geometries(geoms)
    lines = dataclasses.replace(
        lines,
        z=z,
        level=np.concatenate([edge_level(osm), edge_level(layer)[kept]]),
        tags=tags,
        group=np.concatenate([np.zeros(osm.n_edges, np.int64), np.ones(int(kept.sum()), np.int64)]),
        end_key=end_key,
        end_tolerance_m=tolerance,
        key_tags=key_tags,
    )
    source = f"{osm.source or 'OpenStreetMap'} + {layer.source or 'road layer'}"
    net, report = build(lines, crs=layer.crs, snap_tolerance_m=snap_tolerance_m, source=source)
    counts = {
        "network_kind": "OpenStreetMap + road layer",
        "combine_osm_edges": osm.n_edges,
        "combine_layer_edges": layer.n_edges,
        "combine_layer_edges_in_osm": int(in_osm.sum()),
        "combine_layer_edges_added": int(kept.sum()),
        "combine_match_m": match,
        **report.as_dict(),
    }
    logger.info(
        "%s: %d of the layer's %d edges are streets OpenStreetMap has (within %g m) and were "
        "left out; %d were added, joined at %d crossings and %d snapped ends",
        source,
        counts["combine_layer_edges_in_osm"],
        layer.n_edges,
        match,
        counts["combine_layer_edges_added"],
        report.crossings,
        report.snapped_ends,
    )
    return dataclasses.replace(net, built=counts), counts


def _to_crs(net: WalkNetwork, crs: CRS) -> WalkNetwork:
    """The network with its nodes and geometries in ``crs``."""
    if net.crs.equals(crs):
        return net
    move = Transformer.from_crs(net.crs, crs, always_xy=True)
    x, y = move.transform(net.x, net.y)
    geometry = shapely.transform(
        net.geometry, lambda c: np.column_stack(move.transform(c[:, 0], c[:, 1]))
    )
    return dataclasses.replace(
        net,
        crs=crs,
        x=np.asarray(x, dtype=float),
        y=np.asarray(y, dtype=float),
        geometry=geometry,
        length_m=shapely.length(geometry),
    )


def _in_osm(layer: WalkNetwork, osm: WalkNetwork, match_m: float) -> np.ndarray:
    """Which layer edges run along OpenStreetMap's, within ``match_m``, most of their length.

    A sample matches where the nearest OpenStreetMap edge is within ``match_m`` and runs the
    same way there (within :data:`_MATCH_ANGLE_DEG`): a path that crosses a street is not the
    street.
    """
    if layer.n_edges == 0 or osm.n_edges == 0 or match_m == 0:
        return np.zeros(layer.n_edges, dtype=bool)
    lines = np.repeat(layer.geometry, _MATCH_AT.size)
    at = np.tile(_MATCH_AT, layer.n_edges)
    samples = shapely.line_interpolate_point(lines, at, normalized=True)
    sample, nearest = osm.edge_tree.query_nearest(samples, max_distance=match_m, all_matches=False)
    edge = sample // _MATCH_AT.size
    highway = layer.edge_tag("highway")
    special = np.isin(highway, list(_SPECIAL_HIGHWAY))
    same_kind = ~special[edge] | (osm.edge_tag("highway")[nearest] == highway[edge])
    along = _heading(lines[sample], at[sample] * shapely.length(lines[sample]))
    there = shapely.line_locate_point(osm.geometry[nearest], samples[sample])
    other = _heading(osm.geometry[nearest], there)
    parallel = np.abs((along * other).sum(axis=1)) >= np.cos(np.radians(_MATCH_ANGLE_DEG))
    near = np.bincount(edge[same_kind & parallel], minlength=layer.n_edges)
    return near >= MATCH_SHARE * _MATCH_AT.size


def _heading(lines: np.ndarray, at_m: np.ndarray) -> np.ndarray:
    """Unit direction of each line at ``at_m`` metres along it (over a metre each side)."""
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(lines, at_m + 1.0))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(lines, at_m - 1.0))
    step = ahead - behind
    size = np.hypot(step[:, 0], step[:, 1])
    return step / np.where(size > 0, size, 1.0)[:, None]
