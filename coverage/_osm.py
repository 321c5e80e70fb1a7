"""Stream an OpenStreetMap file (PBF or XML) into arrays, with pyosmium.

One pass over the file: osmium keeps every node's location in its own index (C++, no Python
object per node), and hands Python only the ways that carry a ``highway`` tag and the nodes
that carry one of the node keys asked for. Each way gives its node ids, their locations and
the tags asked for; everything is gathered in flat typed arrays, so a four-million-node
extract is held in some tens of bytes per node reference.

The walking filter and the network itself are built from these arrays in
:mod:`carecircle.network`.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium

#: osmium's fixed-point coordinate of an unknown location (a node the file does not hold).
_UNDEFINED = 2147483647
#: The node location index: sparse while the ids are few, dense (8 bytes per id up to the
#: largest) when that is smaller; the memory of the district and city extracts this reads.
_INDEX = "flex_mem"
#: osmium's fixed-point units per degree.
_PER_DEGREE = 1e7


@dataclass(frozen=True)
class OsmWays:
    """The ``highway`` ways of an OpenStreetMap file and the tags asked for, as arrays.

    Attributes
    ----------
    way_id : numpy.ndarray
        Way ids (int64), in the order of the file.
    way_tags : dict of str to numpy.ndarray
        One object array per key asked for, the way's value or None, aligned with ``way_id``.
    offsets : numpy.ndarray
        The node references of way ``i`` are ``refs[offsets[i]:offsets[i + 1]]`` (int64).
    refs : numpy.ndarray
        Node ids of the ways, in each way's order (int64).
    lon, lat : numpy.ndarray
        Location of each reference in degrees (WGS84); NaN where the file does not hold the
        node (an extract cut at its border).
    node_tags : dict of str to tuple of numpy.ndarray
        For each node key asked for, the ids (int64) of the nodes that carry it and their
        values (object array).

    """

    way_id: np.ndarray
    way_tags: dict[str, np.ndarray]
    offsets: np.ndarray
    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    node_tags: dict[str, tuple[np.ndarray, np.ndarray]]


def file_format(path: Path) -> str:
    """The osmium name of the format of ``path``: ``pbf``, ``osm.bz2``, ``osm.gz`` or ``osm``."""
    name = path.name.lower()
    if name.endswith(".pbf"):
        return "pbf"
    for packed in (".bz2", ".gz"):
        if name.endswith(packed):
            return f"osm{packed}"
    return "osm"


def read_ways(path: Path, *, way_keys: Sequence[str], node_keys: Sequence[str] = ()) -> OsmWays:
    """Read the ``highway`` ways of an OpenStreetMap file, with node locations, in one pass.

    Parameters
    ----------
    path : pathlib.Path
        An ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz`` file, its nodes before its ways
        (as every OpenStreetMap export writes them).
    way_keys : sequence of str, keyword-only
        The way tags to keep (their values, one array per key).
    node_keys : sequence of str, keyword-only
        The node tags to keep, for the nodes that carry them.

    Raises
    ------
    RuntimeError, ValueError
        From osmium, when the file cannot be read (the caller words the message).

    """
    collector = _Collector(list(way_keys), list(node_keys))
    keys = sorted({"highway", *node_keys})
    collector.apply_file(
        osmium.io.File(str(path), file_format(path)),
        locations=True,
        idx=_INDEX,
        filters=[osmium.filter.KeyFilter(*keys)],
    )
    return collector.arrays()


class _Collector(osmium.SimpleHandler):
    """An osmium handler gathering ways and tagged nodes into typed arrays."""

    def __init__(self, way_keys: list[str], node_keys: list[str]) -> None:
        super().__init__()
        self.way_keys = way_keys
        self.node_keys = node_keys
        self.way_ids = array("q")
        self.counts = array("q")
        self.refs = array("q")
        self.xs = array("i")
        self.ys = array("i")
        self.way_values: list[list[str | None]] = [[] for _ in way_keys]
        self.node_ids: list[array[int]] = [array("q") for _ in node_keys]
        self.node_values: list[list[str]] = [[] for _ in node_keys]

    def way(self, way: osmium.osm.Way) -> None:
        """Keep a ``highway`` way: its node ids and locations, and the tags asked for."""
        tags = way.tags
        if "highway" not in tags:
            return  # let through for a node key
        refs, xs, ys = self.refs, self.xs, self.ys
        nodes = way.nodes
        for node in nodes:
            location = node.location
            refs.append(node.ref)
            xs.append(location.x)
            ys.append(location.y)
        self.counts.append(len(nodes))
        self.way_ids.append(way.id)
        for key, values in zip(self.way_keys, self.way_values, strict=True):
            values.append(tags.get(key))

    def node(self, node: osmium.osm.Node) -> None:
        """Keep the node keys asked for of a tagged node."""
        tags = node.tags
        for key, ids, values in zip(self.node_keys, self.node_ids, self.node_values, strict=True):
            value = tags.get(key)
            if value is not None:
                ids.append(node.id)
                values.append(value)

    def arrays(self) -> OsmWays:
        """What was gathered, as :class:`OsmWays`."""
        offsets = np.zeros(len(self.counts) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self.counts, dtype=np.int64), out=offsets[1:])
        return OsmWays(
            way_id=np.frombuffer(self.way_ids, dtype=np.int64).copy(),
            way_tags={
                key: _objects(values)
                for key, values in zip(self.way_keys, self.way_values, strict=True)
            },
            offsets=offsets,
            refs=np.frombuffer(self.refs, dtype=np.int64).copy(),
            lon=_degrees(np.frombuffer(self.xs, dtype=np.int32)),
            lat=_degrees(np.frombuffer(self.ys, dtype=np.int32)),
            node_tags={
                key: (np.frombuffer(ids, dtype=np.int64).copy(), _objects(values))
                for key, ids, values in zip(
                    self.node_keys, self.node_ids, self.node_values, strict=True
                )
            },
        )


def _degrees(fixed: np.ndarray) -> np.ndarray:
    """Degrees of osmium's fixed-point coordinates (the nearest float); NaN where unknown."""
    out = fixed / _PER_DEGREE
    out[fixed == _UNDEFINED] = np.nan
    return out


def _objects(values: list[str | None] | list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
