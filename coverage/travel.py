"""Walking times over the network, by compiled shortest paths on arrays.

Points (facilities, demand points) join the network at the nearest point of the nearest edge,
not at the nearest node: each point is a :class:`Snap` (edge, fraction along it, access distance).
The walk from the point to the way counts at the same speed. Demand points join only the parts
of the network that can reach a facility (:func:`served_edges`), never a fragment that leads
nowhere.

One call of :func:`node_times` runs one multi-source Dijkstra (``scipy.sparse.csgraph``) from all
facilities of a circle at once, over a graph in which every facility is a virtual node joined
to both ends of its edge; :func:`point_times` then reads the time of every demand point off the
two ends of its own edge, vectorised. No Python loop runs over nodes or facilities.

The walk that counts is from home to the facility. An edge may take longer one way than the
other (a slope, a flight of steps: :attr:`WalkNetwork.uv_m` and :attr:`WalkNetwork.vu_m`), so
the searches run over the reversed walking graph: a Dijkstra from the facilities over it gives,
for every node, the time to walk from that node to the nearest facility. Along part of an edge
the time is that share of the edge's time in that direction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import dijkstra

from .network import WalkNetwork


@dataclass(frozen=True)
class Snap:
    """Where points join the network.

    Attributes
    ----------
    edge : numpy.ndarray
        Index of the nearest edge of each point (int64).
    fraction : numpy.ndarray
        Position of the joining point along the edge geometry, from its ``u`` end (0) to its
        ``v`` end (1).
    access_m : numpy.ndarray
        Straight distance in metres from the point to the joining point.
    access_walk_m : numpy.ndarray or None
        Flat-equivalent metres of that access walk, in the direction that counts (from a home
        to the way, from the way to a facility); ``None`` means ``access_m`` (flat ground).

    """

    edge: np.ndarray
    fraction: np.ndarray
    access_m: np.ndarray
    access_walk_m: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.edge.size)

    @property
    def walk_m(self) -> np.ndarray:
        """Flat-equivalent metres of each access walk (:attr:`access_m` on flat ground)."""
        return self.access_m if self.access_walk_m is None else self.access_walk_m

    def subset(self, mask: np.ndarray) -> Snap:
        """Return the snaps selected by a boolean mask or index array."""
        walk = None if self.access_walk_m is None else self.access_walk_m[mask]
        return Snap(self.edge[mask], self.fraction[mask], self.access_m[mask], walk)


def to_ends_m(net: WalkNetwork, points: Snap) -> tuple[np.ndarray, np.ndarray]:
    """Flat-equivalent metres from each joining point along its edge to the edge's two ends.

    Returns
    -------
    to_u_m, to_v_m : numpy.ndarray
        Walking towards ``u`` (the edge's ``v``-to-``u`` direction) and towards ``v``.

    """
    edge = points.edge
    return _share(points.fraction, net.vu_m[edge]), _share(1.0 - points.fraction, net.uv_m[edge])


def along_m(net: WalkNetwork, edge: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Flat-equivalent metres walked along ``edge`` from fraction ``start`` to fraction ``end``."""
    edge = np.asarray(edge, dtype=np.int64)
    step = np.asarray(end, dtype=float) - np.asarray(start, dtype=float)
    return np.where(step >= 0, _share(step, net.uv_m[edge]), _share(-step, net.vu_m[edge]))


def _share(fraction: np.ndarray, metres: np.ndarray) -> np.ndarray:
    """``fraction x metres``, and 0 where ``fraction`` is 0 (or less), even for ``inf`` metres.

    A direction that cannot be walked (against a one-way escalator) costs ``inf``; none of it
    costs nothing, where the plain product would be ``nan``.
    """
    fraction, metres = np.broadcast_arrays(np.asarray(fraction, float), np.asarray(metres, float))
    return np.multiply(fraction, metres, out=np.zeros(fraction.shape), where=fraction > 0)


@dataclass(frozen=True)
class NodeTimes:
    """Walking time from the nearest source to every node.

    Attributes
    ----------
    time_s : numpy.ndarray
        Seconds from the nearest source to each node; ``inf`` where no source is reachable
        (or none within the search limit).
    source : numpy.ndarray
        Index (into the sources) of the nearest source of each node; -1 where none.

    """

    time_s: np.ndarray
    source: np.ndarray


def snap(
    net: WalkNetwork, x: np.ndarray, y: np.ndarray, *, edges: np.ndarray | None = None
) -> Snap:
    """Join points to the nearest point of the nearest edge.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    x, y : numpy.ndarray
        Point coordinates in ``net.crs`` (metres).
    edges : numpy.ndarray, optional, keyword-only
        Indices of the edges points may join (e.g. the parts of the network that reach a
        facility, see :func:`served_edges`); every edge when omitted. The result's
        :attr:`Snap.edge` still indexes the whole network.

    Returns
    -------
    Snap
        One entry per point, in the input order.

    """
    points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    if points.size == 0:
        empty = np.empty(0)
        return Snap(np.empty(0, dtype=np.int64), empty, empty)
    if edges is None:
        tree, index = net.edge_tree, None
    else:
        index = np.asarray(edges, dtype=np.int64)
        if index.size == 0:
            msg = "no edge to join the points to: the subset of edges is empty"
            raise ValueError(msg)
        if np.array_equal(index, np.arange(net.n_edges)):
            tree, index = net.edge_tree, None  # every edge: the network's own index
        else:
            tree = shapely.STRtree(net.geometry[index])
    lines = net.geometry if index is None else net.geometry[index]
    edge, distance, along = _nearest(tree, lines, points)
    if index is not None:
        edge = index[edge]
    along = np.where(np.isfinite(along), along, 0.0)
    return Snap(edge=edge, fraction=np.clip(along, 0.0, 1.0), access_m=distance)


#: Points joined per thread at least: below it one thread does it all.
_POINTS_PER_THREAD = 50_000


def _nearest(
    tree: shapely.STRtree, lines: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest item of ``tree``, its distance and the normalised position along it, per point.

    ``lines`` are the tree's geometries, in its order.

    GEOS releases the GIL, so the points are shared among threads, one per core: the nearest
    search over a million points takes half the time on two cores.
    """

    def part(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        (which, item), distance = tree.query_nearest(chunk, return_distance=True, all_matches=False)
        order = np.argsort(which, kind="stable")
        item, distance = item[order].astype(np.int64), distance[order]
        along = shapely.line_locate_point(lines[item], chunk, normalized=True)
        return item, distance, along

    workers = min(os.cpu_count() or 1, max(1, points.size // _POINTS_PER_THREAD))
    if workers == 1:
        return part(points)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(part, np.array_split(points, workers)))
    return tuple(np.concatenate(column) for column in zip(*found, strict=True))  # type: ignore[return-value]


#: A connected part of the network with at least this many nodes is a real part (a village
#: across a river, an island), not a mapping fragment: its residents join it even when it holds
#: no facility, and are then honestly out of reach (``inf``), never joined across the water to
#: another part.
REAL_PART_MIN_NODES = 50


def served_edges(
    net: WalkNetwork, facilities: Snap, *, min_nodes: int = REAL_PART_MIN_NODES
) -> np.ndarray:
    """The edges of the parts of the network residents join: those that can reach a facility.

    A part (connected component) serves its residents when it holds at least one of the
    joined ``facilities``. A part of at least ``min_nodes`` nodes is kept too, facility or
    not: it is a real part of the district whose residents can walk only within it, so their
    times there are ``inf`` (out of reach), where joining them to another part would invent a
    walk. Smaller parts without a facility (a plaza footway that leads nowhere) are fragments:
    their residents join the nearest served part. With no facility on the network at all, the
    largest part is kept so that times are still measured, to no facility (``inf``).

    Parameters
    ----------
    net : WalkNetwork
        The network.
    facilities : Snap
        The facilities joined to the network (those on it only).
    min_nodes : int, keyword-only
        The fewest nodes of a part kept without a facility.

    Returns
    -------
    numpy.ndarray
        Indices of the served edges (int64, ascending).

    """
    part = net.component
    size = np.bincount(part)
    served = size >= min_nodes
    if len(facilities):
        served[part[net.u[facilities.edge]]] = True
    if not served.any():
        served = size == size.max()
        served &= np.cumsum(served) == 1  # of equally large parts, the first
    return np.flatnonzero(served[part[net.u]]).astype(np.int64)


def node_times(
    net: WalkNetwork,
    sources: Snap,
    *,
    speed_m_s: float,
    limit_s: float = np.inf,
) -> NodeTimes:
    """Walking time from the nearest of ``sources`` to every node, in one compiled pass.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    sources : Snap
        The sources (facilities) joined to the network.
    speed_m_s : float, keyword-only
        Walking speed in metres per second.
    limit_s : float, keyword-only
        Stop searching beyond this many seconds (nodes farther are ``inf``).

    Returns
    -------
    NodeTimes

    """
    n = net.n_nodes
    if len(sources) == 0:
        return NodeTimes(np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
    graph = _augmented_graph(net, sources, speed_m_s=speed_m_s)
    virtual = np.arange(n, n + len(sources))
    time_s, _, nearest = dijkstra(
        graph,
        directed=True,
        indices=virtual,
        min_only=True,
        return_predecessors=True,
        limit=limit_s,
    )
    source = np.where(nearest[:n] >= n, nearest[:n] - n, -1).astype(np.int64)
    return NodeTimes(time_s=time_s[:n], source=source)


def point_times(
    net: WalkNetwork,
    times: NodeTimes,
    sources: Snap,
    targets: Snap,
    *,
    speed_m_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Walking time from the nearest source to each target point.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    times : NodeTimes
        From :func:`node_times` with the same ``sources`` and speed.
    sources, targets : Snap
        Sources (facilities) and targets (demand points) joined to the network.
    speed_m_s : float, keyword-only
        Walking speed in metres per second.

    Returns
    -------
    time_s : numpy.ndarray
        Seconds from each target to its nearest source, access walks included; ``inf`` when
        none is reachable.
    source : numpy.ndarray
        Index of that source; -1 when none.

    """
    edge = targets.edge
    to_u_m, to_v_m = to_ends_m(net, targets)
    via_u = times.time_s[net.u[edge]] + to_u_m / speed_m_s
    via_v = times.time_s[net.v[edge]] + to_v_m / speed_m_s
    use_u = via_u <= via_v
    best = np.where(use_u, via_u, via_v)
    source = np.where(use_u, times.source[net.u[edge]], times.source[net.v[edge]])

    # A source on the target's own edge may be nearer straight along the edge.
    same_best, same_source = _same_edge(net, sources, targets, speed_m_s=speed_m_s)
    closer = same_best < best
    best = np.where(closer, same_best, best)
    source = np.where(closer, same_source, source)

    time_s = best + targets.walk_m / speed_m_s
    source = np.where(np.isfinite(time_s), source, -1)
    return time_s, source.astype(np.int64)


def nearest_times(
    net: WalkNetwork,
    sources: Snap,
    targets: Snap,
    *,
    speed_m_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Walking time from each target to its nearest source (node, then point times)."""
    times = node_times(net, sources, speed_m_s=speed_m_s)
    return point_times(net, times, sources, targets, speed_m_s=speed_m_s)


def reach(
    net: WalkNetwork,
    sources: Snap,
    *,
    speed_m_s: float,
    limit_s: float,
    max_bytes: int = 256 * 2**20,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield, source by source, the nodes reached within ``limit_s`` and their times.

    The searches run in compiled batches whose dense result stays under ``max_bytes``.

    Yields
    ------
    tuple
        ``(source index, node indices, seconds)`` for every source, in order.

    """
    if len(sources) == 0:
        return
    n = net.n_nodes
    graph = _augmented_graph(net, sources, speed_m_s=speed_m_s)
    batch = max(1, int(max_bytes // (8 * (n + len(sources)))))
    for start in range(0, len(sources), batch):
        stop = min(start + batch, len(sources))
        rows = dijkstra(graph, directed=True, indices=np.arange(n + start, n + stop), limit=limit_s)
        rows = np.atleast_2d(rows)[:, :n]
        for offset, row in enumerate(rows):
            nodes = np.flatnonzero(row <= limit_s)
            yield start + offset, nodes, row[nodes]


def graph_csr(net: WalkNetwork, *, speed_m_s: float, toward: bool = False) -> csr_array:
    """The network as a sparse matrix of edge walking times in seconds.

    Entry ``[i, j]`` is the time to walk from node ``i`` to node ``j``; with ``toward`` it is
    the reverse (the time from ``j`` to ``i``), so that a Dijkstra from a node gives the time
    from every node to it. On flat ground without steps the two are the same matrix.

    Of parallel edges the quickest in each direction is kept; zero-length edges stay edges
    (scipy treats explicit zeros in a sparse matrix as edges).
    """
    none = np.empty(0, np.int64)
    return _csr(net, net.n_nodes, none, none, np.empty(0), speed_m_s=speed_m_s, toward=toward)


def _augmented_graph(net: WalkNetwork, sources: Snap, *, speed_m_s: float) -> csr_array:
    """The reversed walking graph plus one virtual node per source, joined to its edge's ends.

    The virtual node's entry towards ``u`` holds the time to walk from ``u`` along the edge to
    the source's joining point and on to the source; likewise towards ``v``.
    """
    n = net.n_nodes
    k = len(sources)
    from_u_m = _share(sources.fraction, net.uv_m[sources.edge])
    from_v_m = _share(1.0 - sources.fraction, net.vu_m[sources.edge])
    virtual = np.arange(n, n + k)
    rows = np.concatenate([virtual, virtual])
    cols = np.concatenate([net.u[sources.edge], net.v[sources.edge]])
    metres = np.concatenate([from_u_m, from_v_m]) + np.concatenate([sources.walk_m, sources.walk_m])
    return _csr(net, n + k, rows, cols, metres / speed_m_s, speed_m_s=speed_m_s, toward=True)


def _csr(
    net: WalkNetwork,
    size: int,
    extra_rows: np.ndarray,
    extra_cols: np.ndarray,
    extra_weights: np.ndarray,
    *,
    speed_m_s: float,
    toward: bool,
) -> csr_array:
    if not speed_m_s > 0:
        msg = f"walking speed must be positive, got {speed_m_s!r} m/s"
        raise ValueError(msg)
    parallel = net.routing_edges.size < net.n_edges
    costed = net.walk_uv_m is not None or net.walk_vu_m is not None
    # The quickest of parallel edges may differ by direction once edges have costs per direction.
    edges = net.routing_edges if parallel and not costed else np.arange(net.n_edges)
    u, v = net.u[edges], net.v[edges]
    walk_from, walk_to = np.concatenate([u, v]), np.concatenate([v, u])
    seconds = np.concatenate([net.uv_m[edges], net.vu_m[edges]]) / speed_m_s
    if toward:
        walk_from, walk_to = walk_to, walk_from
    rows = np.concatenate([walk_from, extra_rows])
    cols = np.concatenate([walk_to, extra_cols])
    weights = np.concatenate([seconds, extra_weights])
    if parallel and costed:
        rows, cols, weights = _quickest(rows, cols, weights, size)
    # (row, col) pairs are now unique, so the compiled COO -> CSR conversion sums nothing; it
    # keeps explicit zeros, which csgraph treats as zero-length edges.
    return coo_array((weights, (rows, cols)), shape=(size, size)).tocsr()


def _quickest(
    rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the smallest weight of each (row, col) pair."""
    key = rows.astype(np.int64) * np.int64(size) + cols
    order = np.lexsort((weights, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    return rows[keep], cols[keep], weights[keep]


def _same_edge(
    net: WalkNetwork,
    sources: Snap,
    targets: Snap,
    *,
    speed_m_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Time straight along the shared edge to the nearest source on a target's own edge.

    Two sweeps along each edge (from its ``u`` end, then from its ``v`` end) keep the best
    source so far, so the work grows with the sources plus the targets, never with their
    product (many facilities and demand points on one edge). Of sources equally near, the
    one first along the sweep, then the lower index, is kept.
    """
    best = np.full(len(targets), np.inf)
    source = np.full(len(targets), -1, dtype=np.int64)
    if len(sources) == 0 or len(targets) == 0:
        return best, source
    t_index = np.flatnonzero(np.isin(targets.edge, sources.edge))
    if t_index.size == 0:
        return best, source
    s_index = np.flatnonzero(np.isin(sources.edge, targets.edge[t_index]))
    all_edge = np.concatenate([sources.edge[s_index], targets.edge[t_index]])
    all_fraction = np.concatenate([sources.fraction[s_index], targets.fraction[t_index]])
    all_access_m = np.concatenate([sources.walk_m[s_index], np.zeros(t_index.size)])
    all_is_target = np.repeat([False, True], [s_index.size, t_index.size])
    all_ident = np.concatenate([s_index, t_index])
    # Sources behind each target seen from the u end are walked to towards u (the edge's
    # v-to-u metres), those seen from the v end towards v. An edge that cannot be walked in
    # that direction (inf) takes no part in that sweep.
    for direction, cost_m in ((1.0, net.vu_m), (-1.0, net.uv_m)):
        walkable = np.isfinite(cost_m[all_edge])
        edge, fraction = all_edge[walkable], all_fraction[walkable]
        access_m, is_target = all_access_m[walkable], all_is_target[walkable]
        ident = all_ident[walkable]
        along_m = fraction * cost_m[edge]
        order = np.lexsort((ident, is_target, direction * fraction, edge))
        ahead = is_target[order]
        value = np.where(ahead, np.inf, access_m[order] - direction * along_m[order])
        groups = pd.Series(edge[order])
        running = pd.Series(value).groupby(groups, sort=False).cummin()
        before = running.groupby(groups, sort=False).shift(1, fill_value=np.inf).to_numpy()
        new_best = pd.Series(np.where(~ahead & (value < before), ident[order], np.nan))
        holder = new_best.groupby(groups, sort=False).ffill().to_numpy()
        metres = running.to_numpy()[ahead] + direction * along_m[order][ahead]
        found = holder[ahead]
        which = ident[order][ahead]
        better = np.isfinite(found) & (metres / speed_m_s < best[which])
        best[which[better]] = metres[better] / speed_m_s
        source[which[better]] = found[better].astype(np.int64)
    return best, source
