"""Benchmark reading a walking network from an OpenStreetMap file (``carecircle.network.read``).

A synthetic city written with osmium's writer: a square grid of nodes 50 m apart, streets
along every row and column cut into ways of 20 blocks; one street in seven a footway, one way
in 31 a flight of steps (``incline``, ``step_count``), one in 43 a bridge (``layer=1``), one
in 50 a motorway (left out), one node in 997 a crossing and one in 4001 an elevator. Writing
the file is not timed.

Each reading runs in its own process, so its peak memory (the process's maximum resident
set, Python and its libraries included) is its own; the time (wall clock, and the process's
CPU time, which other work on a shared machine does not inflate) is that of the read alone,
without the cache:

- ``new``: carecircle's streaming reader (pyosmium), on a PBF of ``--nodes`` nodes
  (4,000,000 by default);
- ``pyrosm``: the earlier PBF reader (pyrosm's walking network, the same assembly), on a PBF
  of ``--baseline-nodes`` nodes (1,000,000), and ``new`` on the same file for the ratio;
- ``osmnx``: the earlier XML reader (osmnx's graph of the file, simplified), on an ``.osm``
  file of ``--xml-nodes`` nodes (250,000), and ``new`` on the same file.

Usage::

    python scripts/benchmark_osm.py                        # all three
    python scripts/benchmark_osm.py --nodes 200000 --baseline-nodes 100000 --xml-nodes 50000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
from osmium.osm.mutable import Node, Way
from pyproj import CRS

from carecircle import network

STEP_DEGREES = 0.00045  # about 50 m
ORIGIN = (106.40, 29.40)  # Chongqing
BLOCKS_PER_WAY = 20


def write_city(path: Path, nodes: int) -> None:
    """Write the synthetic city of about ``nodes`` nodes to ``path`` (PBF or XML)."""
    k = round(float(np.sqrt(nodes)))
    writer = osmium.SimpleWriter(str(path), overwrite=True)
    try:
        for r in range(k):
            lat = ORIGIN[1] + r * STEP_DEGREES
            for c in range(k):
                i = r * k + c + 1
                tags = {}
                if i % 997 == 0:
                    tags = {"highway": "crossing"}
                elif i % 4001 == 0:
                    tags = {"highway": "elevator"}
                writer.add_node(Node(id=i, location=(ORIGIN[0] + c * STEP_DEGREES, lat), tags=tags))
        way = 0
        for along_rows in (True, False):
            for s in range(k):
                for b in range(0, k - 1, BLOCKS_PER_WAY):
                    way += 1
                    cells = range(b, min(b + BLOCKS_PER_WAY + 1, k))
                    refs = [s * k + c + 1 if along_rows else c * k + s + 1 for c in cells]
                    tags = {"highway": "footway" if s % 7 == 0 else "residential"}
                    if way % 50 == 0:
                        tags = {"highway": "motorway"}
                    elif way % 31 == 0:
                        tags = {"highway": "steps", "incline": "up", "step_count": "20"}
                    if way % 43 == 0:
                        tags.update(bridge="yes", layer="1")
                    writer.add_way(Way(id=way, nodes=refs, tags=tags))
    finally:
        writer.close()


def read_pyrosm(path: Path) -> network.WalkNetwork:
    """The earlier PBF reader: pyrosm's walking network, the walkable check, the assembly."""
    import pyrosm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nodes, edges = pyrosm.OSM(str(path)).get_network(
            network_type="walking", nodes=True, extra_attributes=list(network.EDGE_TAGS)
        )
    edges = edges.loc[network._walkable(edges)]
    frame = pd.DataFrame(
        {"u": edges["u"].to_numpy(), "v": edges["v"].to_numpy(), "length": edges["length"]}
    )
    frame["geometry"] = edges.geometry.to_numpy()
    for name in network.EDGE_TAGS:
        frame[f"tag:{name}"] = network._texts(edges[name] if name in edges else [None] * len(edges))
    frame["tag:step_count"] = network.share_step_count(
        frame["tag:step_count"].to_numpy(), edges["id"].to_numpy(), frame["length"].to_numpy()
    )
    return network._measured(
        network._assemble(
            nodes["id"].to_numpy(np.int64),
            nodes["lon"].to_numpy(float),
            nodes["lat"].to_numpy(float),
            frame,
            crs=CRS.from_epsg(4326),
            source=path.name,
        )
    )


def read_osmnx(path: Path) -> network.WalkNetwork:
    """The earlier XML reader: osmnx's graph of the file, walkable edges, simplified."""
    import osmnx as ox

    with warnings.catch_warnings(), network._osm_tags_kept():
        warnings.simplefilter("ignore")
        graph = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    keep = [
        (a, b, k)
        for a, b, k, d in graph.edges(keys=True, data=True)
        if d.get("highway") not in network.NOT_WALKABLE_HIGHWAY
    ]
    graph = graph.edge_subgraph(keep).copy()
    return network._measured(network.from_graph(network._simplify(graph), source=path.name))


READERS = {
    "new": lambda path: network.read(path, cache=False),
    "pyrosm": read_pyrosm,
    "osmnx": read_osmnx,
}


def run_one(reader: str, path: Path) -> None:
    """Read ``path`` with ``reader`` in this process and print one line of JSON."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    net = READERS[reader](path)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peak_mb = after.ru_maxrss / 1024
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak_mb,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "length_km": float(net.length_m.sum()) / 1000,
    }
    print(json.dumps(result))


def measure(reader: str, path: Path) -> dict[str, float]:
    """Run one reader on ``path`` in a fresh process; its time, peak memory and counts."""
    done = subprocess.run(
        [sys.executable, __file__, "--run", reader, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"  {reader:7s} {result['seconds']:7.1f} s ({result['cpu_seconds']:.1f} s CPU)  "
        f"{result['peak_mb'] / 1024:5.2f} GB peak  "
        f"{result['nodes']:>10,.0f} nodes {result['edges']:>10,.0f} edges "
        f"{result['length_km']:>10,.1f} km",
        flush=True,
    )
    return result


def compare(folder: Path, nodes: int, suffix: str, readers: list[str]) -> None:
    path = folder / f"city-{nodes}.{suffix}"
    start = time.perf_counter()
    write_city(path, nodes)
    print(
        f"{path.name}: {nodes:,} nodes, {path.stat().st_size / 1e6:.1f} MB, written in "
        f"{time.perf_counter() - start:.0f} s (not timed below)",
        flush=True,
    )
    results = {reader: measure(reader, path) for reader in readers}
    if len(readers) == 2:
        old, new = results[readers[1]], results[readers[0]]
        print(
            f"  ratio   {old['seconds'] / new['seconds']:5.1f} x faster, "
            f"{old['peak_mb'] / new['peak_mb']:4.1f} x less memory"
        )
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=4_000_000)
    parser.add_argument("--baseline-nodes", type=int, default=1_000_000)
    parser.add_argument("--xml-nodes", type=int, default=250_000)
    parser.add_argument("--run", nargs=2, metavar=("READER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_one(args.run[0], Path(args.run[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.nodes:
            compare(folder, args.nodes, "osm.pbf", ["new"])
        if args.baseline_nodes:
            compare(folder, args.baseline_nodes, "osm.pbf", ["new", "pyrosm"])
        if args.xml_nodes:
            compare(folder, args.xml_nodes, "osm", ["new", "osmnx"])


if __name__ == "__main__":
    main()
