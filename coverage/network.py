"""The walking network: read OpenStreetMap data, keep the ways a pedestrian may use, cache it.

A :class:`WalkNetwork` is a set of arrays (nodes, undirected edges with their length in metres
and their geometry) in a projected, metric CRS. It converts to and from osmnx-style networkx
graphs (edge attributes ``length`` in metres and ``travel_time`` in seconds), so graphs stay
interchangeable with osmnx; the shortest-path core in :mod:`carecircle.travel` works on the
arrays directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import stat
import tempfile
import warnings
from collections.abc import Iterable, Mapping
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

from ._errors import InputError, NetworkError
from .settings import cache_dir

logger = logging.getLogger(__name__)

#: OpenStreetMap way tags kept per edge for the walking model (:mod:`carecircle.terrain`).
EDGE_TAGS = ("highway", "step_count", "incline", "conveying", "ramp", "handrail")

#: OpenStreetMap node tags kept per node (``highway=elevator`` on a node).
NODE_TAGS = ("highway",)

#: Bumped whenever the cached file layout or the walking filter changes (2: a checksum of the
#: arrays is stored and checked).
CACHE_VERSION = 2

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
)
_ZIP_MAGIC = b"PK\x03\x04"

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.xml", ".xml", ".osm.pbf", ".pbf")
NETWORK_SUFFIXES = (*OSM_SUFFIXES, ".npz", ".graphml")

# Ways a pedestrian may not use (osmnx's "walk" filter, applied to files that are read
# without one).
_NOT_WALKABLE_HIGHWAY = frozenset(
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
        missing (a synthetic network has none).
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
        ``.osm`` / ``.osm.bz2`` / ``.osm.xml`` (OSM XML, read by osmnx), ``.osm.pbf`` (read by
        pyrosm), ``.graphml`` (an osmnx graph) or ``.npz`` (a network saved by :func:`save`).
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
        found = _from_cache(cached)
        if found is not None:
            logger.info("using cached network %s", cached)
            return found
    if name.endswith(".graphml"):
        net = _read_graphml(path)
    elif name.endswith(".pbf"):
        net = _read_pbf(path, bbox)
    else:
        net = _read_xml(path, bbox)
    if cached is not None:
        _to_cache(net, cached)
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
    found = _from_cache(cached) if cache else None
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
        if len(parts) == 4:
            west, south, east, north = parts
            graph = ox.graph_from_bbox(
                (west, south, east, north), network_type="walk", retain_all=True
            )
        else:
            graph = ox.graph_from_place(query, network_type="walk", retain_all=True)
    except Exception as exc:  # network failures, geocoding failures
        offline = _offline(exc)
        why = "no connection to the OpenStreetMap servers" if offline else _short(str(exc))
        msg = (
            f"could not download the walking network of {query!r} ({why}); "
            "give an OpenStreetMap file with --network instead"
        )
        raise NetworkError(msg) from exc
    net = from_graph(graph, source=query)
    if cache:
        _to_cache(net, cached)
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
        projected to its UTM zone.
    source : str, keyword-only
        Description for metadata.

    """
    crs = CRS.from_user_input(graph.graph.get("crs", "EPSG:4326"))
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    xs = np.fromiter((x for _, x in graph.nodes(data="x")), dtype=float, count=ids.size)
    ys = np.fromiter((y for _, y in graph.nodes(data="y")), dtype=float, count=ids.size)
    triples = list(graph.edges(data="length", default=np.nan))
    count = len(triples)
    edges = pd.DataFrame(
        {
            "u": np.fromiter((t[0] for t in triples), dtype=np.int64, count=count),
            "v": np.fromiter((t[1] for t in triples), dtype=np.int64, count=count),
            "length": np.fromiter((t[2] for t in triples), dtype=float, count=count),
        }
    )
    edges["geometry"] = [g for _, _, g in graph.edges(data="geometry")]
    return _assemble(ids, xs, ys, edges, crs=crs, source=source)


def to_graph(net: WalkNetwork, *, speed_m_s: float) -> nx.MultiDiGraph:
    """Return an osmnx-style ``MultiDiGraph`` of the network, both directions of every edge.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    speed_m_s : float, keyword-only
        Walking speed in metres per second; sets each edge's ``travel_time`` in seconds, in
        its own direction (:attr:`WalkNetwork.uv_m`, :attr:`WalkNetwork.vu_m`).

    """
    graph = nx.MultiDiGraph(crs=net.crs.to_wkt())
    graph.add_nodes_from(
        (int(i), {"x": float(x), "y": float(y)})
        for i, x, y in zip(net.node_id, net.x, net.y, strict=True)
    )
    ids = net.node_id
    edges = zip(net.u, net.v, net.length_m, net.uv_m, net.vu_m, net.geometry, strict=True)
    for a, b, length, there, back, geom in edges:
        there_s, back_s = float(there) / speed_m_s, float(back) / speed_m_s
        graph.add_edge(
            int(ids[a]), int(ids[b]), geometry=geom, length=float(length), travel_time=there_s
        )
        graph.add_edge(
            int(ids[b]),
            int(ids[a]),
            geometry=geom.reverse(),
            length=float(length),
            travel_time=back_s,
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

    The file holds a format version and a SHA-256 checksum of its arrays. It is written under
    a fresh name in the same folder (created exclusively, so no file or link already there is
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
    }
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(name)
    try:
        with os.fdopen(handle, "wb") as fh:
            np.savez(
                fh,
                version=np.array(CACHE_VERSION),
                checksum=np.array(_checksum(arrays)),
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
    missing = [key for key in ("version", "checksum", *_FILE_ARRAYS) if key not in arrays]
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
    if str(arrays["checksum"]) != _checksum({key: arrays[key] for key in _FILE_ARRAYS}):
        msg = (
            f"{path}: the network file is damaged (its arrays do not match their checksum); "
            "build it again from the OSM file"
        )
        raise NetworkError(msg)
    return _from_file_arrays(arrays, path)


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
    try:
        if not in_range:
            msg = "its node and edge arrays disagree"
            raise ValueError(msg)
        geometry = shapely.from_ragged_array(
            shapely.GeometryType(int(arrays["geom_kind"])),
            arrays["geom_coords"],
            (arrays["geom_offsets"],),
        )
        if geometry.size != n_edges:
            msg = f"{geometry.size} edge geometries for {n_edges} edges"
            raise ValueError(msg)
        crs = CRS.from_wkt(str(arrays["crs"]))
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
    )


def _version_of(value: np.ndarray) -> int | str:
    """A file's ``version`` entry as an int when it is one, else as text (for the message)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return _short(repr(value.tolist()), 40)


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 (hex) of the arrays' names, types, shapes and bytes, in file order."""
    digest = hashlib.sha256()
    for key in _FILE_ARRAYS:
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.reshape(-1).view(np.uint8).data)
    return digest.hexdigest()


def _file_mode() -> int:
    """Permissions of a new file under the process's umask (temporary files are 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _from_cache(path: Path) -> WalkNetwork | None:
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


def _to_cache(net: WalkNetwork, path: Path) -> None:
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


def _read_pbf(path: Path, bbox: tuple[float, float, float, float] | None) -> WalkNetwork:
    try:
        import pyrosm
    except ImportError as exc:  # pragma: no cover - a dependency
        msg = "reading .osm.pbf files needs pyrosm: pip install pyrosm"
        raise NetworkError(msg) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            osm = pyrosm.OSM(str(path), bounding_box=list(bbox) if bbox else None)
            nodes, edges = osm.get_network(network_type="walking", nodes=True)
    except Exception as exc:
        msg = f"{path}: could not read the OpenStreetMap PBF file ({exc})"
        raise NetworkError(msg) from exc
    if edges is None or len(edges) == 0:
        msg = f"{path}: the file has no ways a pedestrian may use"
        raise NetworkError(msg)
    edges = edges.loc[_walkable(edges)]
    frame = pd.DataFrame(
        {"u": edges["u"].to_numpy(), "v": edges["v"].to_numpy(), "length": edges["length"]}
    )
    frame["geometry"] = edges.geometry.to_numpy()
    return _assemble(
        nodes["id"].to_numpy(np.int64),
        nodes["lon"].to_numpy(float),
        nodes["lat"].to_numpy(float),
        frame,
        crs=CRS.from_epsg(4326),
        source=path.name,
    )


def _read_xml(path: Path, bbox: tuple[float, float, float, float] | None) -> WalkNetwork:
    import osmnx as ox

    # Keep the tags the walking filter needs, filter the raw ways, and only then simplify,
    # so that a footway and a motorway meeting end to end are never merged into one edge.
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted({*saved, "highway", "foot", "access", "area"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    except Exception as exc:
        msg = f"{path}: could not read the OpenStreetMap XML file ({exc})"
        raise NetworkError(msg) from exc
    finally:
        ox.settings.useful_tags_way = saved
    keep = [(a, b, k) for a, b, k, d in graph.edges(keys=True, data=True) if _walkable_tags(d)]
    graph = graph.edge_subgraph(keep).copy()
    if bbox is not None:
        west, south, east, north = bbox
        inside = [
            n
            for n, d in graph.nodes(data=True)
            if west <= d["x"] <= east and south <= d["y"] <= north
        ]
        graph = graph.subgraph(inside).copy()
    if graph.number_of_edges() == 0:
        msg = f"{path}: the file has no ways a pedestrian may use"
        raise NetworkError(msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = ox.simplify_graph(graph)
    return from_graph(graph, source=path.name)


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
        ~column("highway").isin(_NOT_WALKABLE_HIGHWAY)
        & (foot != "no")
        & (~column("access").isin({"private", "no"}) | foot_allowed)
        & (column("area") != "yes")
    )
    return keep.to_numpy(dtype=bool)


def _walkable_tags(tags: dict[str, Any]) -> bool:
    highway = tags.get("highway")
    if isinstance(highway, list):
        highway = highway[0]
    if highway is None or highway in _NOT_WALKABLE_HIGHWAY:
        return False
    foot = tags.get("foot")
    if foot == "no":
        return False
    if tags.get("access") in {"private", "no"} and foot not in {"yes", "designated", "permissive"}:
        return False
    return tags.get("area") != "yes"


def _assemble(
    ids: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    edges: pd.DataFrame,
    *,
    crs: CRS,
    source: str,
) -> WalkNetwork:
    """Project nodes and edges, index edges by node position, drop duplicates and loops."""
    position = pd.Index(ids)
    u = position.get_indexer(edges["u"].to_numpy())
    v = position.get_indexer(edges["v"].to_numpy())
    known = (u >= 0) & (v >= 0) & (u != v)
    edges = edges.loc[known]
    u, v = u[known], v[known]
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

    # one undirected edge per node pair and length (a two-way street appears twice in a
    # directed graph); parallel edges of different lengths stay
    length = edges["length"].to_numpy(dtype=float, copy=True)
    key = pd.DataFrame({"lo": np.minimum(u, v), "hi": np.maximum(u, v), "len": np.round(length, 3)})
    keep = ~key.duplicated().to_numpy()
    edges, u, v, length = edges.loc[keep], u[keep], v[keep], length[keep]

    target = _utm_for(xs, ys) if crs.is_geographic else crs
    _require_projected(target)
    to_target = Transformer.from_crs(crs, target, always_xy=True)
    px, py = to_target.transform(xs, ys)

    geoms = edges["geometry"].to_numpy(dtype=object)
    missing = pd.isna(geoms)
    straight = np.empty((int(missing.sum()), 2, 2))
    straight[:, 0, 0], straight[:, 0, 1] = px[u[missing]], py[u[missing]]
    straight[:, 1, 0], straight[:, 1, 1] = px[v[missing]], py[v[missing]]
    geometry = np.empty(u.size, dtype=object)
    geometry[missing] = shapely.linestrings(straight) if missing.any() else []
    if (~missing).any():
        given = np.asarray(list(geoms[~missing]), dtype=object)
        given = shapely.transform(
            given, lambda c: np.column_stack(to_target.transform(c[:, 0], c[:, 1]))
        )
        geometry[~missing] = _orient(given, px[u[~missing]], py[u[~missing]])
    bad_length = ~np.isfinite(length) | (length < 0)
    length[bad_length] = shapely.length(geometry[bad_length])
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
    )


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


def _utm_for(lon: np.ndarray, lat: np.ndarray) -> CRS:
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
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if bbox is not None:
        digest.update(repr(tuple(bbox)).encode())
    return cache_dir() / f"{path.name}-{digest.hexdigest()[:16]}-v{CACHE_VERSION}.npz"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
