"""The walking network: read OpenStreetMap data, keep the ways a pedestrian may use, cache it.

A :class:`WalkNetwork` is a set of arrays (nodes, undirected edges with their length in metres
and their geometry) in a projected, metric CRS. It converts to and from osmnx-style networkx
graphs (edge attributes ``length`` in metres and ``travel_time`` in seconds), so graphs stay
interchangeable with osmnx; the shortest-path core in :mod:`carecircle.travel` works on the
arrays directly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import socket
import stat
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from . import _osm
from .errors import InputError, NetworkError
from .settings import cache_dir

logger = logging.getLogger(__name__)

#: OpenStreetMap way tags kept per edge: for the walking model (:mod:`carecircle.terrain`),
#: and the levels (``bridge``, ``tunnel``, ``layer``) that say where a road layer joining the
#: network crosses it (:func:`carecircle.topology.combine`).
EDGE_TAGS = (
    "highway",
    "step_count",
    "incline",
    "conveying",
    "ramp",
    "handrail",
    "bridge",
    "tunnel",
    "layer",
)

#: OpenStreetMap node tags kept per node (``highway=elevator`` on a node).
NODE_TAGS = ("highway",)

#: Edge tags whose value depends on the direction of travel. OpenStreetMap gives them along
#: the way as drawn; a :class:`WalkNetwork` holds them along its edge, from ``u`` to ``v``.
DIRECTED_TAGS = ("incline", "conveying")

#: Node tag values that make a node a junction of its own: simplification never removes it.
_KEPT_NODES = {"highway": frozenset({"elevator"})}

#: Bumped whenever the cached file layout or the walking filter changes (2: a checksum of the
#: arrays is stored and checked; 3: the OSM tags of edges and nodes are stored; 4: the vertices'
#: elevations and build record of a road layer, and the ways' bridge, tunnel and layer tags are
#: stored; 5: OpenStreetMap edges are measured on the ellipsoid, not the readers' sphere; 6: OSM
#: XML is read as PBF is, by one streaming reader: edges from node to node, not simplified).
CACHE_VERSION = 6

#: The arrays of a network file besides ``version`` and ``checksum``, in checksum order.
_FILE_ARRAYS = (
    "crs",
    "source",
    "node_id",
    "x",
    "y",
    "u",
    "v",
    "length_m",
    "geom_kind",
    "geom_coords",
    "geom_offsets",
    "edge_tag_names",
    "node_tag_names",
    "z_m",
    "built",
)
_ZIP_MAGIC = b"PK\x03\x04"

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.xml", ".xml", ".osm.pbf", ".pbf")
NETWORK_SUFFIXES = (*OSM_SUFFIXES, ".npz", ".graphml")

#: ``highway`` values a pedestrian may not use (osmnx's "walk" filter, applied to OpenStreetMap
#: files after :data:`_NOT_WALKING`, to downloaded graphs, and to a road layer's classes).
NOT_WALKABLE_HIGHWAY = frozenset(
    {
        "abandoned",
        "bus_guideway",
        "construction",
        "cycleway",
        "motor",
        "motorway",
        "motorway_link",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "trunk",
        "trunk_link",
    }
)


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """An undirected walking network held as arrays, in a projected metric CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        Projected CRS of ``x``, ``y`` and ``geometry`` (metres).
    node_id : numpy.ndarray
        OpenStreetMap node ids (int64), one per node.
    x, y : numpy.ndarray
        Node coordinates in ``crs`` (metres).
    u, v : numpy.ndarray
        Edge end points as indices into the node arrays (int64); each walkable way segment
        appears once, for both directions.
    length_m : numpy.ndarray
        Edge length in metres, measured along the way.
    geometry : numpy.ndarray
        Edge geometries (shapely LineStrings in ``crs``), running from node ``u`` to node ``v``.
    source : str
        Where the network came from (file name, place name), for metadata.
    edge_tags : dict of str to numpy.ndarray
        OpenStreetMap tags of the edges' ways that the walking model reads (:data:`EDGE_TAGS`),
        each an array of text, one per edge, empty where the way has no such tag. Keys may be
        missing (a synthetic network has none). The tags of :data:`DIRECTED_TAGS` (``incline``,
        ``conveying``) are along the edge, from ``u`` to ``v``, not along the way as drawn:
        ``incline=up`` means uphill from ``u`` to ``v``.
    node_tags : dict of str to numpy.ndarray
        The same for nodes (:data:`NODE_TAGS`: ``highway=elevator`` on a node).
    walk_uv_m, walk_vu_m : numpy.ndarray or None
        Flat-equivalent walking metres of each edge from ``u`` to ``v`` and from ``v`` to
        ``u``: the metres on flat ground that take as long as this edge in that direction
        (slopes and steps, set by :func:`carecircle.terrain.apply`). ``None`` means
        ``length_m`` both ways. Read them through :attr:`uv_m` and :attr:`vu_m`.
    walking : dict
        How ``walk_uv_m`` and ``walk_vu_m`` were made (model, DEM, counts), for metadata;
        empty for a flat network.
    z_m : numpy.ndarray or None
        Elevation in metres of every vertex of ``geometry``, in the order of
        ``shapely.get_coordinates(geometry)``; NaN where unknown. ``None`` when the network
        carries no elevations of its own (OpenStreetMap). A surveyed road layer's 3D lines set
        it, and the walking model then takes slopes from it (:func:`carecircle.terrain.apply`).
    built : dict
        How the network was built from a road layer (:func:`carecircle.topology.build`: what
        was noded, snapped and removed; ``network_kind``), for metadata; empty for a network
        read from OpenStreetMap.

    """

    crs: CRS
    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    geometry: np.ndarray
    source: str = ""
    edge_tags: Mapping[str, np.ndarray] = field(default_factory=dict)
    node_tags: Mapping[str, np.ndarray] = field(default_factory=dict)
    walk_uv_m: np.ndarray | None = None
    walk_vu_m: np.ndarray | None = None
    walking: Mapping[str, Any] = field(default_factory=dict)
    z_m: np.ndarray | None = None
    built: Mapping[str, Any] = field(default_factory=dict)

    @property
    def uv_m(self) -> np.ndarray:
        """Flat-equivalent metres of each edge walked from ``u`` to ``v``."""
        return self.length_m if self.walk_uv_m is None else self.walk_uv_m

    @property
    def vu_m(self) -> np.ndarray:
        """Flat-equivalent metres of each edge walked from ``v`` to ``u``."""
        return self.length_m if self.walk_vu_m is None else self.walk_vu_m

    @property
    def directed(self) -> bool:
        """True when some edge takes longer one way than the other."""
        return self.walk_uv_m is not None and not np.array_equal(self.uv_m, self.vu_m)

    def edge_tag(self, name: str) -> np.ndarray:
        """Text of tag ``name`` per edge (empty strings when the network does not have it)."""
        found = self.edge_tags.get(name)
        return np.full(self.n_edges, "", dtype=object) if found is None else found

    def node_tag(self, name: str) -> np.ndarray:
        """Text of tag ``name`` per node (empty strings when the network does not have it)."""
        found = self.node_tags.get(name)
        return np.full(self.n_nodes, "", dtype=object) if found is None else found

    def edges_subset(self, keep_node: np.ndarray, keep_edge: np.ndarray) -> WalkNetwork:
        """The network of the kept nodes and edges (every kept edge's ends must be kept)."""
        remap = np.cumsum(keep_node) - 1

        def pick(value: np.ndarray | None) -> np.ndarray | None:
            return None if value is None else value[keep_edge]

        z_m = None
        if self.z_m is not None:
            per_edge = shapely.get_num_coordinates(self.geometry)
            z_m = self.z_m[np.repeat(np.asarray(keep_edge), per_edge)]

        return WalkNetwork(
            crs=self.crs,
            node_id=self.node_id[keep_node],
            x=self.x[keep_node],
            y=self.y[keep_node],
            u=remap[self.u[keep_edge]],
            v=remap[self.v[keep_edge]],
            length_m=self.length_m[keep_edge],
            geometry=self.geometry[keep_edge],
            source=self.source,
            edge_tags={k: a[keep_edge] for k, a in self.edge_tags.items()},
            node_tags={k: a[keep_node] for k, a in self.node_tags.items()},
            walk_uv_m=pick(self.walk_uv_m),
            walk_vu_m=pick(self.walk_vu_m),
            walking=dict(self.walking),
            z_m=z_m,
            built=dict(self.built),
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_id.size)

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.u.size)

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over the edge geometries, built on first use."""
        return shapely.STRtree(self.geometry)

    @cached_property
    def routing_edges(self) -> np.ndarray:
        """Indices of the edges shortest paths use: the shortest of each set of parallel edges."""
        lo = np.minimum(self.u, self.v)
        hi = np.maximum(self.u, self.v)
        key = lo * np.int64(self.n_nodes) + hi
        ordered = np.sort(key)
        if not (ordered[1:] == ordered[:-1]).any():
            return np.arange(self.n_edges)
        order = np.lexsort((self.length_m, key))
        first = np.ones(order.size, dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        return np.sort(order[first])

    @cached_property
    def _node_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Incidence as CSR: edges of node ``i`` are ``edges[indptr[i]:indptr[i + 1]]``."""
        ends = np.concatenate([self.u, self.v])
        order = np.argsort(ends, kind="stable")
        edges = np.concatenate([np.arange(self.n_edges), np.arange(self.n_edges)])[order]
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=self.n_nodes), out=indptr[1:])
        return indptr, edges

    def incident_edges(self, nodes: np.ndarray) -> np.ndarray:
        """Sorted, distinct indices of the edges that touch any of ``nodes``."""
        indptr, edges = self._node_edges
        nodes = np.asarray(nodes, dtype=np.int64)
        counts = indptr[nodes + 1] - indptr[nodes]
        if counts.sum() == 0:
            return np.empty(0, dtype=np.int64)
        offsets = np.repeat(indptr[nodes] - np.cumsum(counts) + counts, counts)
        found = np.sort(edges[offsets + np.arange(counts.sum())])
        distinct = np.ones(found.size, dtype=bool)
        distinct[1:] = found[1:] != found[:-1]
        return found[distinct]

    @cached_property
    def component(self) -> np.ndarray:
        """Connected-component label of every node (int32)."""
        adjacency = coo_array(
            (np.ones(self.n_edges, dtype=np.int8), (self.u, self.v)),
            shape=(self.n_nodes, self.n_nodes),
        ).tocsr()
        _, labels = connected_components(adjacency, directed=False)
        return labels.astype(np.int32)

    def bounds(self) -> tuple[float, float, float, float]:
        """Return ``(minx, miny, maxx, maxy)`` of the nodes in ``crs``."""
        return (
            float(self.x.min()),
            float(self.y.min()),
            float(self.x.max()),
            float(self.y.max()),
        )


def read(
    path: str | Path,
    *,
    cache: bool = True,
    bbox: tuple[float, float, float, float] | None = None,
) -> WalkNetwork:
    """Read a walking network from an OpenStreetMap file, offline.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.osm`` / ``.osm.bz2`` / ``.osm.xml`` (OSM XML) or ``.osm.pbf``, both read in one
        streaming pass with pyosmium into the same network (:func:`_read_osm`), ``.graphml``
        (an osmnx graph) or ``.npz`` (a network saved by :func:`save`).
    cache : bool, keyword-only
        Keep the parsed network in the cache folder (:func:`carecircle.settings.cache_dir`),
        keyed by the file's content, so a second run does not parse again. A cached file that
        fails its checks (see :func:`load`) is parsed again, and a cache folder that cannot be
        written is done without; either is said in one warning.
    bbox : tuple of float, optional, keyword-only
        ``(west, south, east, north)`` in degrees (WGS84) to clip a large extract to.

    Returns
    -------
    WalkNetwork
        In the UTM zone of the network's centre.

    """
    path = Path(path)
    if not path.is_file():
        msg = (
            f"{path}: network file not found; expected an OpenStreetMap file "
            f"({', '.join(OSM_SUFFIXES)})"
        )
        raise InputError(msg)
    name = path.name.lower()
    if name.endswith(".npz"):
        return load(path)
    if not name.endswith(NETWORK_SUFFIXES):
        msg = (
            f"{path}: unsupported network format {path.suffix!r}; expected one of "
            f"{', '.join(NETWORK_SUFFIXES)}"
        )
        raise InputError(msg)
    cached = _cache_path(path, bbox) if cache else None
    if cached is not None:
        found = from_cache(cached)
        if found is not None:
            logger.info("using cached network %s", cached)
            return found
    net = _read_graphml(path) if name.endswith(".graphml") else _read_osm(path, bbox)
    if cached is not None:
        to_cache(net, cached)
    return net


def from_place(query: str, *, cache: bool = True) -> WalkNetwork:
    """Download the walking network of a place with osmnx (needs internet).

    Parameters
    ----------
    query : str
        A place name osmnx can geocode, or ``"west,south,east,north"`` in degrees.
    cache : bool, keyword-only
        Keep the network in the cache folder under the query's name.

    """
    cached = cache_dir() / f"place-{_digest(query.encode())}-v{CACHE_VERSION}.npz"
    found = from_cache(cached) if cache else None
    if found is not None:
        return found
    import osmnx as ox

    try:
        parts = [float(p) for p in query.split(",")]
    except ValueError:
        parts = []
    if parts and len(parts) != 4:
        msg = (
            f"--place {query!r}: {len(parts)} number(s); expected a place name or "
            "west,south,east,north in degrees"
        )
        raise InputError(msg)
    try:
        with _osm_tags_kept():
            if len(parts) == 4:
                west, south, east, north = parts
                graph = ox.graph_from_bbox(
                    (west, south, east, north),
                    network_type="walk",
                    retain_all=True,
                    simplify=False,
                )
            else:
                graph = ox.graph_from_place(
                    query, network_type="walk", retain_all=True, simplify=False
                )
    except Exception as exc:  # network failures, geocoding failures
        offline = _offline(exc)
        why = "no connection to the OpenStreetMap servers" if offline else _short(str(exc))
        msg = (
            f"could not download the walking network of {query!r} ({why}); "
            "give an OpenStreetMap file with --network instead"
        )
        raise NetworkError(msg) from exc
    net = _measured(from_graph(_simplify(graph), source=query))
    if cache:
        to_cache(net, cached)
    return net


def _offline(exc: BaseException) -> bool:
    """Whether a download failed for want of a connection (no DNS, refused, timed out)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError | TimeoutError | socket.gaierror):
            return True
        name = type(seen).__name__
        if name in ("ConnectionError", "NameResolutionError", "MaxRetryError", "ConnectTimeout"):
            return True  # requests' and urllib3's own classes, not builtins
        seen = seen.__cause__ or seen.__context__
    return False


def _short(text: str, limit: int = 160) -> str:
    """A library's message on one line, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def from_graph(
    graph: nx.MultiDiGraph | nx.MultiGraph | nx.Graph, *, source: str = ""
) -> WalkNetwork:
    """Convert an osmnx-style networkx graph to a :class:`WalkNetwork`.

    Parameters
    ----------
    graph : networkx graph
        Nodes with ``x``, ``y``; edges with ``length`` in metres and optionally ``geometry``.
        ``graph.graph["crs"]`` gives the CRS (EPSG:4326 when absent); a geographic CRS is
        projected to its UTM zone. Edge attributes named in :data:`EDGE_TAGS` and node
        attributes named in :data:`NODE_TAGS` are kept as text (a list, left by osmnx's
        simplification, becomes its distinct values sorted and joined by ``;``, OSM's way of
        writing several values). As in osmnx, the tags are those of the edge's way, and an
        edge whose ``reversed`` attribute is true runs against its way: its ``incline`` and
        ``conveying`` are turned round (see :data:`DIRECTED_TAGS`). An edge of an undirected
        graph runs from its ``from`` attribute to its ``to`` attribute where it has them
        (osmnx's ``to_undirected`` sets them).
    source : str, keyword-only
        Description for metadata.

    """
    crs = CRS.from_user_input(graph.graph.get("crs", "EPSG:4326"))
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    xs = np.fromiter((x for _, x in graph.nodes(data="x")), dtype=float, count=ids.size)
    ys = np.fromiter((y for _, y in graph.nodes(data="y")), dtype=float, count=ids.size)
    node_data = [d for _, d in graph.nodes(data=True)]
    node_tags = {name: _texts([d.get(name) for d in node_data]) for name in NODE_TAGS}
    triples = list(graph.edges(data=True))
    count = len(triples)
    data = [t[2] for t in triples]
    u = np.fromiter((t[0] for t in triples), dtype=np.int64, count=count)
    v = np.fromiter((t[1] for t in triples), dtype=np.int64, count=count)
    if not graph.is_directed():
        # an undirected graph lists an edge's ends in any order; osmnx keeps the real one
        ends = [(d.get("from"), d.get("to")) for d in data]
        start = np.fromiter((-1 if a is None else a for a, _ in ends), np.int64, count=count)
        stop = np.fromiter((-1 if b is None else b for _, b in ends), np.int64, count=count)
        turn = (start == v) & (stop == u)
        u, v = np.where(turn, v, u), np.where(turn, u, v)
    edges = pd.DataFrame(
        {
            "u": u,
            "v": v,
            "length": np.fromiter((d.get("length", np.nan) for d in data), float, count=count),
        }
    )
    edges["geometry"] = [d.get("geometry") for d in data]
    present: set[str] = set()
    for d in data:  # one pass to learn which tags the graph has at all
        present.update(d)
    empty = np.full(count, "", dtype=object)
    tags = {
        name: _texts([d.get(name) for d in data]) if name in present else empty.copy()
        for name in EDGE_TAGS
    }
    against, unsure = (
        _against_way([d.get("reversed", False) for d in data])
        if "reversed" in present and any(tags[name].any() for name in DIRECTED_TAGS)
        else (np.zeros(count, dtype=bool), np.zeros(count, dtype=bool))
    )
    for name in DIRECTED_TAGS:
        tags[name] = _turned(name, tags[name], against)
        lost = unsure & (tags[name] != "")
        if lost.any():
            logger.warning(
                "%d edge(s) join ways drawn in opposite directions, so their %s (along the "
                "way) has no single direction: left out",
                int(lost.sum()),
                name,
            )
            tags[name][lost] = ""
    for name, values in tags.items():
        edges[f"tag:{name}"] = values
    return _assemble(ids, xs, ys, edges, crs=crs, source=source, node_tags=node_tags)


#: Lines measured at once by :func:`geodesic_length_m`.
_MEASURE_CHUNK = 1 << 20


def geodesic_length_m(geometry: np.ndarray, crs: CRS) -> np.ndarray:
    """Length in metres of each line on the ellipsoid of ``crs``, vertex to vertex.

    The lines' vertices are taken back to longitude and latitude (when ``crs`` is projected)
    and each stretch between two is measured as a geodesic (pyproj, Karney's algorithm), so a
    length is the same whichever CRS the line was drawn in: OpenStreetMap's longitudes and
    latitudes, a Gauss-Kruger zone, UTM. (The OpenStreetMap readers measure on a sphere, up to
    0.4 % short or long with the latitude and the heading.)

    Examples
    --------
    >>> line = shapely.LineString([(500_000, 3_300_000), (500_000, 3_301_000)])
    >>> round(float(geodesic_length_m(np.array([line]), CRS.from_epsg(4545))[0]), 3)
    1000.0

    """
    geometry = np.asarray(geometry, dtype=object)
    if geometry.size > _MEASURE_CHUNK:  # a large network is measured in parts, to save memory
        return np.concatenate(
            [
                geodesic_length_m(geometry[start : start + _MEASURE_CHUNK], crs)
                for start in range(0, geometry.size, _MEASURE_CHUNK)
            ]
        )
    coords, index = shapely.get_coordinates(geometry, return_index=True)
    lon, lat = coords[:, 0], coords[:, 1]
    if crs.is_projected:
        back = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        lon, lat = back.transform(lon, lat)
    stretch = np.flatnonzero(index[1:] == index[:-1])
    geod = crs.get_geod()
    if geod is None:  # a CRS without an ellipsoid (engineering): its own metres
        return shapely.length(geometry)
    _, _, metres = geod.inv(lon[stretch], lat[stretch], lon[stretch + 1], lat[stretch + 1])
    return np.bincount(index[stretch], weights=metres, minlength=geometry.size)


def to_graph(net: WalkNetwork, *, speed_m_s: float) -> nx.MultiDiGraph:
    """Return an osmnx-style ``MultiDiGraph`` of the network, both directions of every edge.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    speed_m_s : float, keyword-only
        Walking speed in metres per second; sets each edge's ``travel_time`` in seconds, in
        its own direction (:attr:`WalkNetwork.uv_m`, :attr:`WalkNetwork.vu_m`).

    Notes
    -----
    The edge's tags (:attr:`WalkNetwork.edge_tags`, where not empty) are attributes of both
    copies, as osmnx does with a way's tags: they are along ``u`` to ``v``, the copy with
    ``reversed`` false, and the copy with ``reversed`` true runs against them. Node tags are
    node attributes. :func:`from_graph` reads them back the same way.

    """
    graph = nx.MultiDiGraph(crs=net.crs.to_wkt())
    node_tags = [
        {name: str(value) for name, value in zip(net.node_tags, row, strict=True) if value}
        for row in zip(*net.node_tags.values(), strict=True)
    ] or [{}] * net.n_nodes
    graph.add_nodes_from(
        (int(i), {"x": float(x), "y": float(y), **tags})
        for i, x, y, tags in zip(net.node_id, net.x, net.y, node_tags, strict=True)
    )
    ids = net.node_id
    edge_tags = [
        {name: str(value) for name, value in zip(net.edge_tags, row, strict=True) if value}
        for row in zip(*net.edge_tags.values(), strict=True)
    ] or [{}] * net.n_edges
    edges = zip(
        net.u, net.v, net.length_m, net.uv_m, net.vu_m, net.geometry, edge_tags, strict=True
    )
    for a, b, length, there, back, geom, tags in edges:
        there_s, back_s = float(there) / speed_m_s, float(back) / speed_m_s
        graph.add_edge(
            int(ids[a]),
            int(ids[b]),
            geometry=geom,
            length=float(length),
            travel_time=there_s,
            reversed=False,
            **tags,
        )
        graph.add_edge(
            int(ids[b]),
            int(ids[a]),
            geometry=geom.reverse(),
            length=float(length),
            travel_time=back_s,
            reversed=True,
            **tags,
        )
    return graph


def synthetic_grid(
    rows: int,
    cols: int,
    *,
    spacing_m: float = 100.0,
    crs: str = "EPSG:32648",
    origin: tuple[float, float] = (640_000.0, 3_270_000.0),
) -> WalkNetwork:
    """Build a regular street grid, for tests and benchmarks.

    Parameters
    ----------
    rows, cols : int
        Number of node rows and columns.
    spacing_m : float, keyword-only
        Block side in metres.
    crs : str, keyword-only
        Projected CRS of the grid (default UTM 48N, which covers Chongqing).
    origin : tuple of float, keyword-only
        Coordinates of the south-west node in ``crs``.

    """
    index = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    x = origin[0] + spacing_m * np.tile(np.arange(cols, dtype=float), rows)
    y = origin[1] + spacing_m * np.repeat(np.arange(rows, dtype=float), cols)
    u = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    v = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    return from_arrays(x, y, u, v, crs=crs, source=f"synthetic grid {rows}x{cols}")


def from_arrays(
    x: np.ndarray,
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    *,
    crs: str | CRS,
    length_m: np.ndarray | None = None,
    node_id: np.ndarray | None = None,
    source: str = "",
) -> WalkNetwork:
    """Build a network of straight edges from node coordinates and edge end indices.

    Parameters
    ----------
    x, y : numpy.ndarray
        Node coordinates in ``crs`` (metres).
    u, v : numpy.ndarray
        Edge end points as node indices.
    crs : str or pyproj.CRS, keyword-only
        A projected CRS in metres.
    length_m : numpy.ndarray, optional, keyword-only
        Edge lengths in metres; straight-line lengths when omitted.
    node_id : numpy.ndarray, optional, keyword-only
        Node ids; ``0..n-1`` when omitted.
    source : str, keyword-only
        Description for metadata.

    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    coords = np.empty((u.size, 2, 2))
    coords[:, 0, 0], coords[:, 0, 1] = x[u], y[u]
    coords[:, 1, 0], coords[:, 1, 1] = x[v], y[v]
    geometry = shapely.linestrings(coords)
    if length_m is None:
        length_m = np.hypot(x[v] - x[u], y[v] - y[u])
    ids = np.arange(x.size, dtype=np.int64) if node_id is None else np.asarray(node_id, np.int64)
    crs = CRS.from_user_input(crs)
    _require_projected(crs)
    return WalkNetwork(
        crs=crs,
        node_id=ids,
        x=x,
        y=y,
        u=u,
        v=v,
        length_m=np.asarray(length_m, dtype=float),
        geometry=geometry,
        source=source,
    )


def save(net: WalkNetwork, path: str | Path) -> None:
    """Write the network to an ``.npz`` file, readable by :func:`load` and :func:`read`.

    The file holds a format version and a SHA-256 checksum of its arrays, the tags among them
    (each as its distinct values, a text array, and one code per edge or node). It is written
    under a fresh name in the same folder (created exclusively, so no file or link already there is
    written through) and renamed over ``path`` once complete: a reader never sees half a file.

    Raises
    ------
    OSError
        When the folder cannot be written (missing, read-only, full); ``path`` is then left
        as it was.

    """
    kind, coords, offsets = shapely.to_ragged_array(net.geometry)
    arrays = {
        "crs": np.array(net.crs.to_wkt()),
        "source": np.array(net.source),
        "node_id": np.asarray(net.node_id),
        "x": np.asarray(net.x),
        "y": np.asarray(net.y),
        "u": np.asarray(net.u),
        "v": np.asarray(net.v),
        "length_m": np.asarray(net.length_m),
        "geom_kind": np.array(int(kind)),
        "geom_coords": coords,
        "geom_offsets": offsets[0],
        "edge_tag_names": np.array(list(net.edge_tags), dtype=str),
        "node_tag_names": np.array(list(net.node_tags), dtype=str),
        "z_m": np.empty(0) if net.z_m is None else np.asarray(net.z_m, dtype=float),
        "built": np.array(json.dumps(dict(net.built), ensure_ascii=False)),
    }
    for kind_of, tags in (("edge", net.edge_tags), ("node", net.node_tags)):
        for name, values in tags.items():
            codes, distinct = pd.factorize(np.asarray(values, dtype=object))
            key = f"{kind_of}_tag:{name}"
            arrays[f"{key}:values"] = np.array([str(text) for text in distinct], dtype=str)
            arrays[f"{key}:codes"] = codes.astype(np.min_scalar_type(max(distinct.size - 1, 0)))
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(name)
    try:
        with os.fdopen(handle, "wb") as fh:
            np.savez(
                fh,
                version=np.array(CACHE_VERSION),
                checksum=np.array(_checksum(arrays, list(arrays))),
                **arrays,
            )
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(_file_mode())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: str | Path) -> WalkNetwork:
    """Read a network written by :func:`save`, after checking it.

    The file is read without unpickling anything; its format version must be this
    carecircle's and its arrays must match the SHA-256 checksum stored with them.

    Raises
    ------
    NetworkError
        In one line, when the file cannot be read, is not a network file, is of another version,
        or is damaged (truncated, changed).

    """
    path = Path(path)
    try:
        with path.open("rb") as fh:  # numpy leaves its own handle open when a zip is cut short
            if fh.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                msg = f"{path}: not a carecircle network file; expected one written by network.save"
                raise NetworkError(msg)
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as data:
                arrays = {str(key): data[key] for key in data.files}
    except NetworkError:
        raise
    except Exception as exc:  # zipfile, numpy and OS errors alike: the file cannot be read
        msg = (
            f"{path}: damaged or unreadable network file ({_short(str(exc) or type(exc).__name__)})"
        )
        raise NetworkError(msg) from exc
    keys = [*_FILE_ARRAYS, *_tag_keys(arrays)]
    missing = [key for key in ("version", "checksum", *keys) if key not in arrays]
    if "version" in arrays and _version_of(arrays["version"]) != CACHE_VERSION:
        msg = (
            f"{path}: network file version {_version_of(arrays['version'])}; this carecircle "
            f"reads version {CACHE_VERSION}: build it again from the OSM file"
        )
        raise NetworkError(msg)
    if missing:
        msg = (
            f"{path}: not a carecircle network file (no {', '.join(missing)}); expected one "
            "written by network.save"
        )
        raise NetworkError(msg)
    if str(arrays["checksum"]) != _checksum(arrays, keys):
        msg = (
            f"{path}: the network file is damaged (its arrays do not match their checksum); "
            "build it again from the OSM file"
        )
        raise NetworkError(msg)
    return _from_file_arrays(arrays, path)


def _tag_keys(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """The keys of the tag arrays a file's ``edge_tag_names`` and ``node_tag_names`` name."""
    keys = []
    for kind_of in ("edge", "node"):
        names = arrays.get(f"{kind_of}_tag_names")
        if names is None or names.dtype.kind != "U" or names.ndim != 1:
            continue  # reported as missing or inconsistent
        keys += [f"{kind_of}_tag:{name}:{part}" for name in names for part in ("values", "codes")]
    return keys


def _tags_of(
    arrays: Mapping[str, np.ndarray], kind_of: str, size: int
) -> dict[str, np.ndarray] | None:
    """The checked tags of a file (object arrays of text), or None when they disagree."""
    names = arrays[f"{kind_of}_tag_names"]
    if names.dtype.kind != "U" or names.ndim != 1:
        return None
    tags = {}
    for name in names.tolist():
        values = arrays[f"{kind_of}_tag:{name}:values"]
        codes = arrays[f"{kind_of}_tag:{name}:codes"]
        if not (
            values.dtype.kind == "U"
            and codes.dtype.kind in "iu"
            and codes.shape == (size,)
            and (size == 0 or (codes.min() >= 0 and codes.max() < values.size))
        ):
            return None
        tags[name] = values.astype(object)[codes]
    return tags


def _from_file_arrays(arrays: dict[str, np.ndarray], path: Path) -> WalkNetwork:
    """The network of a checked file's arrays; a :class:`NetworkError` if they disagree."""
    n_nodes, n_edges = arrays["node_id"].size, arrays["u"].size
    sizes_agree = (
        arrays["x"].size == arrays["y"].size == n_nodes
        and arrays["v"].size == arrays["length_m"].size == n_edges
        and all(arrays[key].dtype.kind in "iu" for key in ("node_id", "u", "v"))
    )
    in_range = sizes_agree and all(
        arrays[key].size == 0 or (arrays[key].min() >= 0 and arrays[key].max() < n_nodes)
        for key in ("u", "v")
    )
    edge_tags = _tags_of(arrays, "edge", n_edges) if in_range else None
    node_tags = _tags_of(arrays, "node", n_nodes) if in_range else None
    try:
        if not in_range:
            msg = "its node and edge arrays disagree"
            raise ValueError(msg)
        if edge_tags is None or node_tags is None:
            msg = "its tag arrays disagree with its nodes and edges"
            raise ValueError(msg)
        geometry = shapely.from_ragged_array(
            shapely.GeometryType(int(arrays["geom_kind"])),
            arrays["geom_coords"],
            (arrays["geom_offsets"],),
        )
        if geometry.size != n_edges:
            msg = f"{geometry.size} edge geometries for {n_edges} edges"
            raise ValueError(msg)
        z_m = arrays["z_m"] if arrays["z_m"].size else None
        if z_m is not None and z_m.shape != (arrays["geom_coords"].shape[0],):
            msg = f"{z_m.size} vertex elevations for {arrays['geom_coords'].shape[0]} vertices"
            raise ValueError(msg)
        crs = CRS.from_wkt(str(arrays["crs"]))
        built = json.loads(str(arrays["built"]))
        if not isinstance(built, dict):
            msg = "its build record is not a table"
            raise ValueError(msg)
    except Exception as exc:  # shapely's, pyproj's and our own ValueErrors
        msg = f"{path}: inconsistent network file ({_short(str(exc))}); build it again"
        raise NetworkError(msg) from exc
    return WalkNetwork(
        crs=crs,
        node_id=arrays["node_id"],
        x=arrays["x"],
        y=arrays["y"],
        u=arrays["u"],
        v=arrays["v"],
        length_m=arrays["length_m"],
        geometry=geometry,
        source=str(arrays["source"]),
        edge_tags=edge_tags,
        node_tags=node_tags,
        z_m=z_m,
        built=built,
    )


def _version_of(value: np.ndarray) -> int | str:
    """A file's ``version`` entry as an int when it is one, else as text (for the message)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return _short(repr(value.tolist()), 40)


def _checksum(arrays: Mapping[str, np.ndarray], keys: Iterable[str]) -> str:
    """SHA-256 (hex) of the arrays' names, types, shapes and bytes, in the order of ``keys``."""
    digest = hashlib.sha256()
    for key in keys:
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.reshape(-1).view(np.uint8).data)
    return digest.hexdigest()


def _file_mode() -> int:
    """Permissions of a new file under the process's umask (temporary files are 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def from_cache(path: Path) -> WalkNetwork | None:
    """The network cached at ``path``; None when there is none or it fails its checks.

    A cached file that is not a regular file (a link put in its place) or fails the checks of
    :func:`load` is left for the caller to rebuild, with one warning.
    """
    try:
        mode = path.lstat().st_mode
    except OSError as exc:  # absent, or a folder that cannot be read: written (or not) later
        logger.debug("no cached network at %s (%s)", path, exc.strerror)
        return None
    if not stat.S_ISREG(mode):
        logger.warning(
            "%s: not a regular file, so not used as the cached network: building it again", path
        )
        return None
    try:
        return load(path)
    except NetworkError as exc:
        logger.warning("%s; building the network again", exc)
        return None


def to_cache(net: WalkNetwork, path: Path) -> None:
    """Keep ``net`` at ``path``, or say in one warning why the run goes on without the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save(net, path)
    except OSError as exc:
        logger.warning(
            "could not keep the network in the cache folder %s (%s); going on without the "
            "cache (set CARECIRCLE_CACHE_DIR to a writable folder)",
            path.parent,
            exc.strerror or exc,
        )


def main_parts(net: WalkNetwork, *, min_share: float) -> WalkNetwork:
    """Drop disconnected fragments holding less than ``min_share`` of the nodes.

    Extracts clipped at their border, private courtyards and unconnected footways leave small
    islands of ways; a point joined to one would be cut off from everything. Parts at least
    ``min_share`` of the nodes large (and always the largest) are kept, so real islands with
    their own facilities stay.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    min_share : float, keyword-only
        Smallest share of all nodes a part must hold to be kept (0 keeps everything).

    Returns
    -------
    WalkNetwork
        The same network when nothing is dropped, else a new one.

    """
    keep_part = kept_parts(net, min_share=min_share)
    if keep_part.all():
        return net
    keep_node = keep_part[net.component]
    keep_edge = keep_node[net.u]
    logger.warning(
        "left out %d small disconnected part(s) of the network (%d of %d nodes), each under "
        "%.1f%% of the nodes",
        int((~keep_part).sum()),
        int((~keep_node).sum()),
        net.n_nodes,
        100 * min_share,
    )
    return net.edges_subset(keep_node, keep_edge)


def kept_parts(net: WalkNetwork, *, min_share: float) -> np.ndarray:
    """Which connected parts :func:`main_parts` keeps: a bool per component label."""
    counts = np.bincount(net.component)
    return np.asarray((counts >= min_share * net.n_nodes) | (counts == counts.max()))


def describe_components(net: WalkNetwork) -> str:
    """Say how many disconnected parts the network has and how large the largest is."""
    counts = np.bincount(net.component)
    share = counts.max() / counts.sum()
    return f"{counts.size} connected part(s); the largest holds {share:.0%} of the nodes"


# --- reading ---------------------------------------------------------------------------------

#: Way tags the walking filter reads (:func:`_walking_ways`), besides :data:`EDGE_TAGS`.
_FILTER_TAGS = (
    "highway",
    "foot",
    "access",
    "area",
    "service",
    "sidewalk",
    "sidewalk:both",
    "sidewalk:left",
    "sidewalk:right",
)
#: The OSMnx "walk" filter as OSM's access rules read it: a way is left out when one of these
#: tags holds one of the values (also as one of several values, ``a;b``).
_NOT_WALKING = {
    "highway": frozenset(
        {
            "abandoned",
            "construction",
            "no",
            "planned",
            "platform",
            "proposed",
            "raceway",
            "razed",
            "rest_area",
            "services",
            "bus_guideway",
            "cycleway",
            "motor",
            "motorway",
            "motorway_link",
        }
    ),
    "area": frozenset({"yes"}),
    "service": frozenset({"private"}),
    "sidewalk": frozenset({"separate"}),
    "sidewalk:both": frozenset({"separate"}),
    "sidewalk:left": frozenset({"separate"}),
    "sidewalk:right": frozenset({"separate"}),
}
#: Access values that close a way; ``foot`` decides where the way has it, else ``access``.
_CLOSED = frozenset({"no", "private"})


def _read_osm(path: Path, bbox: tuple[float, float, float, float] | None) -> WalkNetwork:
    """Read the walking network of an OpenStreetMap file (PBF or XML) in one streaming pass.

    The ways the walking filter keeps (:func:`_walking_ways`) are cut into one edge per pair
    of consecutive nodes, in the way's own order, so the direction-dependent tags are along
    the edge; nothing is simplified, whichever the format. Nodes are numbered in the order
    the selected ways first reach them. With ``bbox``, the edges that touch the box are kept.
    """
    kind = "PBF" if path.name.lower().endswith(".pbf") else "XML"
    try:
        ways = _osm.read_ways(
            path, way_keys=sorted({*_FILTER_TAGS, *EDGE_TAGS}), node_keys=NODE_TAGS
        )
    except Exception as exc:  # osmium's RuntimeErrors and ValueErrors: the file cannot be read
        msg = f"{path}: could not read the OpenStreetMap {kind} file ({_short(str(exc))})"
        raise NetworkError(msg) from exc
    ids, lon, lat, edges, node_tags = _osm_edges(ways, bbox)
    del ways  # the file's arrays are not needed any more: free them before the geometries
    if len(edges) == 0:
        msg = f"{path}: the file has no ways a pedestrian may use"
        raise NetworkError(msg)
    net = _assemble(
        ids, lon, lat, edges, crs=CRS.from_epsg(4326), source=path.name, node_tags=node_tags
    )
    return dataclasses.replace(net, length_m=_straight_length_m(net))


def _straight_length_m(net: WalkNetwork) -> np.ndarray:
    """:func:`geodesic_length_m` of a network of straight edges, from its nodes.

    The same numbers (each edge's two vertices are its nodes, taken back to longitude and
    latitude the same way), with the nodes taken back once instead of every edge's ends.
    """
    back = Transformer.from_crs(net.crs, net.crs.geodetic_crs, always_xy=True)
    lon, lat = back.transform(net.x, net.y)
    geod = net.crs.get_geod()
    assert geod is not None  # a UTM zone of WGS 84
    out = np.empty(net.n_edges)
    for start in range(0, net.n_edges, _MEASURE_CHUNK):
        u, v = net.u[start : start + _MEASURE_CHUNK], net.v[start : start + _MEASURE_CHUNK]
        out[start : start + _MEASURE_CHUNK] = geod.inv(lon[u], lat[u], lon[v], lat[v])[2]
    return out


def _osm_edges(
    ways: _osm.OsmWays, bbox: tuple[float, float, float, float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, dict[str, np.ndarray]]:
    """The nodes (ids, longitudes, latitudes), edges and node tags of the walkable ways.

    The edges' frame has ``u``, ``v`` (node ids), ``length`` (metres on the mean sphere, to
    the millimetre, as the ways were measured before: it orders duplicates and shares a
    flight's ``step_count``; :func:`_measured` measures the network again) and ``tag:NAME``
    columns of categorical text, one code per edge.
    """
    selected, walkable = _walking_ways(ways.way_tags)
    # segment i runs from reference i to i + 1 of the same way, both of known location
    way_of_ref = np.repeat(np.arange(ways.way_id.size), np.diff(ways.offsets))
    start = np.flatnonzero(way_of_ref[:-1] == way_of_ref[1:])
    start = start[np.isfinite(ways.lon[start]) & np.isfinite(ways.lon[start + 1])]
    start = start[selected[way_of_ref[start]]]
    a_lon, a_lat = ways.lon[start], ways.lat[start]
    b_lon, b_lat = ways.lon[start + 1], ways.lat[start + 1]
    if bbox is not None:  # the ways with a node in the box
        west, south, east, north = bbox
        in_box = (west <= ways.lon) & (ways.lon <= east) & (south <= ways.lat) & (ways.lat <= north)
        touching = np.zeros(ways.way_id.size, dtype=bool)
        touching[way_of_ref[in_box]] = True
        start = start[touching[way_of_ref[start]]]
        a_lon, a_lat = ways.lon[start], ways.lat[start]
        b_lon, b_lat = ways.lon[start + 1], ways.lat[start + 1]
    # nodes in the order the selected ways first reach them
    ends = np.column_stack([start, start + 1]).ravel()
    ids, first = np.unique(ways.refs[ends], return_index=True)
    order = np.argsort(first, kind="stable")
    ids, at = ids[order], ends[first[order]]
    del ends, first, order
    if bbox is not None:  # of which the edges that touch the box
        lines = shapely.linestrings(
            np.stack([np.column_stack([a_lon, a_lat]), np.column_stack([b_lon, b_lat])], axis=1)
        )
        inside = shapely.intersects(lines, shapely.box(*bbox))
        del lines
        start = start[inside]
        a_lon, a_lat, b_lon, b_lat = a_lon[inside], a_lat[inside], b_lon[inside], b_lat[inside]
    keep = walkable[way_of_ref[start]]
    way = way_of_ref[start[keep]]
    edges = pd.DataFrame(
        {
            "u": ways.refs[start[keep]],
            "v": ways.refs[start[keep] + 1],
            "length": _sphere_m(a_lon[keep], a_lat[keep], b_lon[keep], b_lat[keep]),
        }
    )
    for name in EDGE_TAGS:
        edges[f"tag:{name}"] = _per_edge(_texts(ways.way_tags[name]), way)
    counts = _texts(ways.way_tags["step_count"])[way]
    stepped = np.flatnonzero(counts != "")
    counts[stepped] = share_step_count(
        counts[stepped], ways.way_id[way[stepped]], edges["length"].to_numpy()[stepped]
    )
    edges["tag:step_count"] = pd.Categorical(counts)
    node_tags = {}
    for name in NODE_TAGS:
        tagged, values = ways.node_tags[name]
        where = pd.Index(tagged).get_indexer(ids)
        node_tags[name] = np.append(_texts(values), "")[where]
    return ids, ways.lon[at], ways.lat[at], edges, node_tags


def _per_edge(per_way: np.ndarray, way: np.ndarray) -> pd.Categorical:
    """The values of the ways (``per_way``) for edges of ways ``way``, as categorical text."""
    codes, distinct = pd.factorize(per_way)
    return pd.Categorical.from_codes(codes[way], categories=pd.Index(distinct, dtype=object))


#: The mean Earth radius in metres the readers measured ways with (IUGG).
_MEAN_RADIUS_M = 6371.0088 * 1000.0


def _sphere_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Haversine metres on the mean sphere, to the millimetre, between points in degrees."""
    lat1, lon1, lat2, lon2 = map(np.deg2rad, (lat1, lon1, lat2, lon2))
    d = (
        np.sin((lat2 - lat1) * 0.5) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) * 0.5) ** 2
    )
    return np.round(2 * _MEAN_RADIUS_M * np.arcsin(np.sqrt(d)), 3)


def _walking_ways(tags: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Which ways the walking filter selects, and which of those a pedestrian may use.

    ``selected``: the OSMnx "walk" filter read with OSM's access rules (:data:`_NOT_WALKING`,
    :data:`_CLOSED`: ``access=no`` with ``foot=yes`` stays). ``walkable``: of those, the ways
    :func:`_walkable` keeps as well (no ``highway`` of :data:`NOT_WALKABLE_HIGHWAY`, no
    ``foot=no``, no ``access=private`` without a foot permission, no area).
    """
    frame = pd.DataFrame({name: tags[name] for name in _FILTER_TAGS})
    left_out = np.zeros(len(frame), dtype=bool)
    for name, values in _NOT_WALKING.items():
        left_out |= _holds(frame[name].to_numpy(), values)
    deciding = frame["foot"].where(frame["foot"].notna(), frame["access"]).to_numpy()
    left_out |= _holds(deciding, _CLOSED)
    selected = ~left_out & frame["highway"].notna().to_numpy()
    return selected, selected & _walkable(frame)


def _holds(values: np.ndarray, wanted: frozenset[str]) -> np.ndarray:
    """Where a tag's value is one of ``wanted``, or one of its values ``a;b`` is."""
    codes, distinct = pd.factorize(pd.Series(values, dtype=object))
    hits = [
        value in wanted or (";" in value and any(p.strip() in wanted for p in value.split(";")))
        for value in distinct
    ]
    return np.append(np.array(hits, dtype=bool), False)[codes]


def _measured(net: WalkNetwork) -> WalkNetwork:
    """The network with its edges measured on the ellipsoid (:func:`geodesic_length_m`)."""
    return dataclasses.replace(net, length_m=geodesic_length_m(net.geometry, net.crs))


def share_step_count(counts: np.ndarray, way: np.ndarray, length_m: np.ndarray) -> np.ndarray:
    """A way's ``step_count`` shared among its edges by length (a reader gives each the whole).

    A flight drawn as one way through a landing node becomes two edges; each keeps the steps
    of its own length, so a walk over both counts the way's steps once. Counts that are not a
    plain number stay as they are (the walking model counts them as unreadable).
    """
    number = pd.to_numeric(pd.Series(counts, dtype=object), errors="coerce").to_numpy(float)
    split = np.isfinite(number) & (pd.Series(way).duplicated(keep=False).to_numpy())
    if not split.any():
        return counts
    total = pd.Series(np.where(split, length_m, 0.0)).groupby(way).transform("sum").to_numpy()
    share = np.where(total > 0, length_m / np.where(total > 0, total, 1.0), 0.0)
    out = counts.copy()
    out[split] = [f"{value:.6g}" for value in number[split] * share[split]]
    return out


@contextmanager
def _osm_tags_kept() -> Iterator[None]:
    """Have osmnx keep the tags of the walking filter, :data:`EDGE_TAGS` and :data:`NODE_TAGS`."""
    import osmnx as ox

    saved_way, saved_node = list(ox.settings.useful_tags_way), list(ox.settings.useful_tags_node)
    ox.settings.useful_tags_way = sorted(
        {*saved_way, "highway", "foot", "access", "area", *EDGE_TAGS}
    )
    ox.settings.useful_tags_node = sorted({*saved_node, *NODE_TAGS})
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved_way
        ox.settings.useful_tags_node = saved_node


#: Edge attribute set by :func:`_simplify`: the way's id where the way has a direction-dependent
#: tag (:data:`DIRECTED_TAGS`), else None.
_DIRECTED_WAY = "carecircle_directed_way"
#: Node attribute set by :func:`_simplify` on nodes that must stay (:data:`_KEPT_NODES`).
_KEPT_NODE = "carecircle_kept"


def _simplify(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Simplify with osmnx, never merging ways of different walking tags.

    Two ways meeting end to end become one edge only when every tag of :data:`EDGE_TAGS` is the
    same on both (a flight of steps stays its own edge, apart from the street it leads to), and
    a way with a direction-dependent tag (:data:`DIRECTED_TAGS`) is never merged with another
    way, so each merged edge runs along or against all of its ways at once and its ``reversed``
    attribute stays one value. Nodes of :data:`_KEPT_NODES` (an elevator on a way) stay nodes.
    """
    import osmnx as ox

    graph = graph.copy()
    for _, _, data in graph.edges(data=True):
        directed = any(data.get(name) is not None for name in DIRECTED_TAGS)
        data[_DIRECTED_WAY] = str(data.get("osmid")) if directed else None
    for _, data in graph.nodes(data=True):
        if any(data.get(name) in values for name, values in _KEPT_NODES.items()):
            data[_KEPT_NODE] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ox.simplify_graph(
            graph,
            node_attrs_include=[_KEPT_NODE],
            edge_attrs_differ=[*EDGE_TAGS, _DIRECTED_WAY],
        )


def _read_graphml(path: Path) -> WalkNetwork:
    import osmnx as ox

    try:
        graph = ox.load_graphml(path)
    except Exception as exc:
        msg = f"{path}: could not read the GraphML file ({exc})"
        raise NetworkError(msg) from exc
    return from_graph(graph, source=path.name)


def _walkable(edges: pd.DataFrame) -> np.ndarray:
    """Boolean mask of edges a pedestrian may use, from their OSM tag columns."""

    def column(name: str) -> pd.Series:
        return edges[name] if name in edges else pd.Series(None, index=edges.index, dtype=object)

    foot = column("foot")
    foot_allowed = foot.isin({"yes", "designated", "permissive"})
    keep = (
        ~column("highway").isin(NOT_WALKABLE_HIGHWAY)
        & (foot != "no")
        & (~column("access").isin({"private", "no"}) | foot_allowed)
        & (column("area") != "yes")
    )
    return keep.to_numpy(dtype=bool)


def _texts(values: Iterable[Any]) -> np.ndarray:
    """Tag values as an object array of text: ``""`` where absent, a list as ``"a;b"``.

    A list (left by osmnx's simplification, or read from a file) becomes its distinct values,
    sorted and joined by ``;``, OSM's way of writing several values of one tag.
    """
    raw = pd.Series(list(values), dtype=object)
    out = np.full(raw.size, "", dtype=object)
    many = raw.map(type).isin((list, tuple, set)).to_numpy(dtype=bool)
    if many.any():
        out[many] = [_text(value) for value in raw[many]]
    # each distinct single value is made text once; absent ones (code -1) get the last, ""
    codes, distinct = pd.factorize(raw[~many], use_na_sentinel=True)
    texts = np.array([*(_text(value) for value in distinct), ""], dtype=object)
    out[~many] = texts[codes]
    return out


def _text(value: Any) -> str:
    """One tag value as text (see :func:`_texts`)."""
    if isinstance(value, list | tuple | set):
        parts = sorted({_text(part) for part in value} - {""})
        return ";".join(parts)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _against_way(flags: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Which edges run against their way, from osmnx's ``reversed`` attributes.

    Returns two boolean arrays: ``against`` (every value true) and ``unsure`` (a list mixing
    true and false: the edge joins ways drawn in opposite directions). A value may be a bool,
    its text (``"True"``, as GraphML holds it) or a list of these.
    """
    codes, distinct = pd.factorize(_texts(flags))
    truths = [{part.lower() in ("true", "1") for part in text.split(";")} for text in distinct]
    against = np.array([truth == {True} for truth in truths], dtype=bool)
    unsure = np.array([len(truth) > 1 for truth in truths], dtype=bool)
    return against[codes], unsure[codes]


def _turned(name: str, values: np.ndarray, against: np.ndarray) -> np.ndarray:
    """``values`` of tag ``name`` with those of the edges in ``against`` turned round.

    Each distinct value is turned once (:func:`turn_tag`), so the work grows with the number of
    distinct values, not of edges.
    """
    out = np.array(values, dtype=object, copy=True)
    if name not in DIRECTED_TAGS or not against.any():
        return out
    codes, distinct = pd.factorize(out[against])
    out[against] = np.array([turn_tag(name, value) for value in distinct], dtype=object)[codes]
    return out


_INCLINE_NUMBER = re.compile(r"^([+-]?)(\d+(?:[.,]\d+)?)(\s*(?:%|°)?)$")
_OPPOSITE = {
    "incline": {"up": "down", "down": "up"},
    "conveying": {"forward": "backward", "backward": "forward"},
}


def turn_tag(name: str, value: str) -> str:
    """The value of tag ``name`` for walking the way backwards.

    ``incline``: ``up`` and ``down`` swap, a signed slope changes sign (``12%`` becomes
    ``-12%``, ``-10°`` becomes ``10°``; OSM writes an uphill slope along the way without a
    sign). ``conveying``: ``forward`` and ``backward`` swap. Anything else (``yes``, ``no``,
    ``reversible``, a zero slope, text that is not a slope) is the same both ways. Several values
    written ``a;b`` are turned one by one.

    Examples
    --------
    >>> turn_tag("incline", "12%"), turn_tag("incline", "down"), turn_tag("conveying", "yes")
    ('-12%', 'up', 'yes')

    """
    parts = []
    for part in value.split(";"):
        text = part.strip()
        if text in _OPPOSITE.get(name, {}):
            text = _OPPOSITE[name][text]
        elif name == "incline":
            number = _INCLINE_NUMBER.match(text)
            if number is not None and float(number[2].replace(",", ".")) != 0:
                sign, digits, unit = number.groups()
                text = ("" if sign == "-" else "-") + digits + unit
        parts.append(text)
    return ";".join(parts)


def _assemble(
    ids: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    edges: pd.DataFrame,
    *,
    crs: CRS,
    source: str,
    node_tags: Mapping[str, np.ndarray] | None = None,
) -> WalkNetwork:
    """Project nodes and edges, index edges by node position, drop duplicates and loops.

    Columns ``tag:NAME`` of ``edges`` (text, or categorical text) become the network's
    ``edge_tags`` (their direction-dependent values along each row's ``u`` to ``v``);
    ``node_tags`` are aligned with ``ids``. Of a two-way street's two directed copies the first
    is kept, with its own values. Without a ``geometry`` column every edge is a straight line.
    The kept rows are picked from each column once, at the end, so a large frame is not copied.
    """
    position = pd.Index(ids)
    u = position.get_indexer(edges["u"].to_numpy())
    v = position.get_indexer(edges["v"].to_numpy())
    rows = np.flatnonzero((u >= 0) & (v >= 0) & (u != v))
    u, v = u[rows], v[rows]
    if u.size == 0:
        msg = f"{source}: the network has no edges between known nodes"
        raise NetworkError(msg)
    # drop unused nodes
    used = np.zeros(ids.size, dtype=bool)
    used[u] = True
    used[v] = True
    remap = np.cumsum(used) - 1
    ids, xs, ys = ids[used], xs[used], ys[used]
    u, v = remap[u], remap[v]
    kept_node_tags = {
        name: np.asarray(values, dtype=object)[used] for name, values in (node_tags or {}).items()
    }

    # one undirected edge per node pair and length (a two-way street appears twice in a
    # directed graph); parallel edges of different lengths stay
    length = edges["length"].to_numpy(dtype=float)[rows]
    key = pd.DataFrame({"lo": np.minimum(u, v), "hi": np.maximum(u, v), "len": np.round(length, 3)})
    keep = ~key.duplicated().to_numpy()
    del key
    rows, u, v, length = rows[keep], u[keep], v[keep], length[keep]

    target = utm_for(xs, ys) if crs.is_geographic else crs
    _require_projected(target)
    to_target = Transformer.from_crs(crs, target, always_xy=True)
    px, py = to_target.transform(xs, ys)

    if "geometry" in edges:
        geoms = edges["geometry"].to_numpy(dtype=object)[rows]
        missing = pd.isna(geoms)
    else:
        geoms, missing = None, np.ones(rows.size, dtype=bool)
    geometry = np.empty(u.size, dtype=object)
    geometry[missing] = _straight(px, py, u[missing], v[missing])
    if geoms is not None and (~missing).any():
        given = np.asarray(list(geoms[~missing]), dtype=object)
        given = shapely.transform(
            given, lambda c: np.column_stack(to_target.transform(c[:, 0], c[:, 1]))
        )
        geometry[~missing] = _orient(given, px[u[~missing]], py[u[~missing]])
    bad_length = ~np.isfinite(length) | (length < 0)
    length[bad_length] = shapely.length(geometry[bad_length])
    # _orient turns a geometry drawn from v to u round; u and v stay, so the tags, which are
    # along u to v, stay as they are
    edge_tags = {
        column.removeprefix("tag:"): np.asarray(edges[column].array.take(rows), dtype=object)
        for column in edges.columns
        if column.startswith("tag:")
    }
    return WalkNetwork(
        crs=target,
        node_id=ids.astype(np.int64),
        x=np.asarray(px, dtype=float),
        y=np.asarray(py, dtype=float),
        u=u.astype(np.int64),
        v=v.astype(np.int64),
        length_m=length,
        geometry=geometry,
        source=source,
        edge_tags=edge_tags,
        node_tags=kept_node_tags,
    )


def _straight(
    x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray, *, chunk: int = 1 << 20
) -> np.ndarray:
    """Straight lines from node ``u`` to node ``v`` (coordinates ``x``, ``y``), made by chunks."""
    out = np.empty(u.size, dtype=object)
    for start in range(0, u.size, chunk):
        a, b = u[start : start + chunk], v[start : start + chunk]
        ends = np.empty((a.size, 2, 2))
        ends[:, 0, 0], ends[:, 0, 1] = x[a], y[a]
        ends[:, 1, 0], ends[:, 1, 1] = x[b], y[b]
        out[start : start + chunk] = shapely.linestrings(ends)
    return out


def _orient(geoms: np.ndarray, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """Reverse line geometries whose first vertex is not at their ``u`` node."""
    first = shapely.get_point(geoms, 0)
    last = shapely.get_point(geoms, -1)
    d_first = np.hypot(shapely.get_x(first) - ux, shapely.get_y(first) - uy)
    d_last = np.hypot(shapely.get_x(last) - ux, shapely.get_y(last) - uy)
    flip = d_last < d_first
    out = geoms.copy()
    if flip.any():
        out[flip] = shapely.reverse(geoms[flip])
    return out


def utm_for(lon: np.ndarray, lat: np.ndarray) -> CRS:
    """The WGS 84 UTM zone of the centre of points given in longitude/latitude (degrees).

    Raises
    ------
    NetworkError
        When no UTM zone covers the points (they are not longitude/latitude).

    """
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(
            float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))
        ),
    )
    if not infos:
        msg = "could not choose a UTM zone for the network: are its coordinates lon/lat?"
        raise NetworkError(msg)
    centre = (float(np.mean(lon)) + 180) // 6 + 1
    best = min(infos, key=lambda info: abs(int(info.code[-2:]) - centre))
    return CRS.from_epsg(int(best.code))


def _require_projected(crs: CRS) -> None:
    if not crs.is_projected:
        msg = f"the network CRS {crs.name!r} is not projected; metric work needs metres"
        raise NetworkError(msg)


def _cache_path(path: Path, bbox: Iterable[float] | None) -> Path:
    """The cache file of the network of an OpenStreetMap file (clipped to ``bbox``)."""
    return cache_path([path], name=path.name, options=repr(tuple(bbox)) if bbox else "")


def cache_path(files: Iterable[Path], *, name: str, options: str = "") -> Path:
    """The cache file of a network built from ``files`` with ``options``, keyed by content.

    Parameters
    ----------
    files : iterable of pathlib.Path
        Every file the network is read from (a Shapefile's ``.shp``, ``.dbf``, ``.prj`` ...),
        in a fixed order: the key is the SHA-256 of each one's size and bytes, in that order.
    name : str, keyword-only
        The start of the cached file's name, for people (e.g. the input file's name).
    options : str, keyword-only
        Text of every option that changes the network; added to the key.

    Returns
    -------
    pathlib.Path
        ``<cache folder>/<name>-<key>-v<CACHE_VERSION>.npz`` (the file may not exist yet: see
        :func:`from_cache` and :func:`to_cache`).

    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.stat().st_size}:".encode())  # where one file ends and the next starts
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    if options:
        digest.update(options.encode())
    return cache_dir() / f"{name}-{digest.hexdigest()[:16]}-v{CACHE_VERSION}.npz"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
