"""Benchmark building a walking network from a road layer (``carecircle.topology``).

A synthetic bureau layer on a square grid of 100 m blocks, drawn the way road layers are:

- east-west streets as one line per block, meeting end to end (every fifth end stops 0.2 m
  short of the next piece: a near miss inside the 0.5 m tolerance);
- north-south streets as one long line each, down the middle of the blocks, crossing the
  east-west pieces without a shared vertex (a vertex every 100 m, half-way between the
  crossings), so every crossing must be noded; every tenth is a bridge (level 1) and is not;
- every 50th east-west piece drawn twice.

Part 1 times ``topology.build`` on 1,000,000 segments (``--segments``), phase by phase, and
checks the counts against the grid's own arithmetic. Part 2 (``--baseline``) compares it, on a
smaller layer, with the usual GIS way: GEOS noding of all lines at once (``shapely.node``),
then a graph from the pieces' ends; both give the same number of edges and total length.
Part 3 (``--read``) writes the layer to a GeoPackage and times ``carecircle.inputs.read_roads``
on it (reading included), without the cache.

Usage::

    python scripts/benchmark_roads.py                 # part 1, 1,000,000 segments
    python scripts/benchmark_roads.py --baseline      # part 2 at 100,000 segments
    python scripts/benchmark_roads.py --read          # part 3
    python scripts/benchmark_roads.py --segments 20000 --baseline --read   # a smoke run
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from carecircle import topology

CRS = "EPSG:4545"
BLOCK_M = 100.0
ORIGIN = (500_000.0, 3_300_000.0)  # inside EPSG:4545's zone


def grid_layer(segments: int) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The synthetic layer of about ``segments`` segments: geometries, levels, and its counts."""
    k = max(3, round(float(np.sqrt(segments / 2))))  # k streets each way, k - 1 blocks each
    x0, y0 = ORIGIN
    # east-west pieces: street r, block c, from (c, r) to (c + 1, r); every fifth end short
    r, c = np.divmod(np.arange(k * (k - 1)), k - 1)
    start = np.column_stack([x0 + c * BLOCK_M, y0 + r * BLOCK_M])
    end = start + np.array([BLOCK_M, 0.0])
    short = (np.arange(start.shape[0]) % 5 == 0) & (c < k - 2)
    end[short, 0] -= 0.2
    pieces = shapely.linestrings(np.stack([start, end], axis=1))
    twice = pieces[::50]
    over_bridge = c[::50] % 10 == 5
    # the north-south streets' ends meet the first and last east-west streets: no crossing
    crossed = (r[::50] > 0) & (r[::50] < k - 1)
    # north-south streets down the middle of the blocks: one line each, a vertex half-way
    # between each two crossings
    col = np.arange(k - 1)
    ys = y0 + np.concatenate([[0.0], (np.arange(k - 1) + 0.5) * BLOCK_M, [(k - 1) * BLOCK_M]])
    coords = np.empty((col.size, ys.size, 2))
    coords[:, :, 0] = (x0 + (col + 0.5) * BLOCK_M)[:, None]
    coords[:, :, 1] = ys[None, :]
    streets = shapely.linestrings(coords)
    geoms = np.concatenate([pieces, twice, streets])
    level = np.zeros(geoms.size, dtype=np.int64)
    bridge = col % 10 == 5  # the piece of block c crosses north-south street c
    level[pieces.size + twice.size :][bridge] = 1
    n_segments = pieces.size + twice.size + col.size * (ys.size - 1)
    counts = {
        "k": k,
        "segments": int(n_segments),
        # a piece drawn twice is cut in two where it crosses a street, not where a bridge
        "duplicates": int(2 * twice.size - over_bridge.sum()),
        "bridges": int(bridge.sum()),
        "near_misses": int(short.sum()),
        # a north-south street crosses every east-west one but the first and last, which its
        # ends meet, and the pieces drawn twice; a bridge crosses them at another level
        "crossings": int((col.size - bridge.sum()) * (k - 2) + (crossed & ~over_bridge).sum()),
        "passes": int(bridge.sum() * (k - 2) + (crossed & over_bridge).sum()),
    }
    return geoms, level, counts


def part_build(segments: int) -> float:
    geoms, level, counts = grid_layer(segments)
    t0 = time.perf_counter()
    lines = topology.Lines.from_geometries(geoms, level=level)
    t1 = time.perf_counter()
    _, report = topology.build(lines, crs=CRS, snap_tolerance_m=0.5)
    t2 = time.perf_counter()
    print(f"layer: {counts['segments']:,} segments, {geoms.size:,} lines ({counts})")
    print(f"  Lines.from_geometries  {t1 - t0:6.2f} s")
    print(f"  topology.build         {t2 - t1:6.2f} s")
    print(f"  total                  {t2 - t0:6.2f} s")
    print(f"  {report.line()}")
    expected = {key: counts[key] for key in ("crossings", "passes", "duplicates")}
    found = {key: getattr(report, key) for key in expected}
    print(
        f"  expected {expected}, found {found}; near misses drawn {counts['near_misses']}, "
        f"ends snapped {report.snapped_ends}"
    )
    if found != expected:
        raise SystemExit("the counts differ from the grid's")
    return t2 - t0


def part_baseline(segments: int) -> None:
    geoms, level, counts = grid_layer(segments)
    flat = np.zeros_like(level)  # GEOS noding knows no levels: compare without bridges
    t0 = time.perf_counter()
    net, _ = topology.build(
        topology.Lines.from_geometries(geoms, level=flat), crs=CRS, snap_tolerance_m=0.0
    )
    t1 = time.perf_counter()
    pieces = shapely.get_parts(shapely.node(shapely.multilinestrings(geoms)))
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(pieces, i)) for i in (0, -1)])
    _, node = np.unique(np.round(ends, 6), axis=0, return_inverse=True)
    t2 = time.perf_counter()
    print(f"baseline at {counts['segments']:,} segments (no tolerance, no levels):")
    print(
        f"  topology.build         {t1 - t0:6.2f} s: {net.n_edges:,} edges, "
        f"{net.length_m.sum():,.1f} m"
    )
    print(
        f"  shapely.node + ends    {t2 - t1:6.2f} s: {pieces.size:,} pieces, "
        f"{shapely.length(pieces).sum():,.1f} m, {node.max() + 1:,} nodes"
    )
    print(f"  ratio                  {(t2 - t1) / (t1 - t0):6.1f} x")


def part_read(segments: int) -> None:
    import geopandas as gpd

    from carecircle import inputs

    geoms, level, counts = grid_layer(segments)
    kind = np.where(level > 0, "人行天桥", "支路")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roads.gpkg"
        t0 = time.perf_counter()
        gpd.GeoDataFrame({"道路类型": kind, "层": level}, geometry=geoms, crs=CRS).to_file(
            path, engine="pyogrio"
        )
        t1 = time.perf_counter()
        net = inputs.read_roads(path, cache=False, columns={"level": "层"})
        t2 = time.perf_counter()
    print(f"GeoPackage of {counts['segments']:,} segments: written in {t1 - t0:.2f} s")
    print(f"  inputs.read_roads      {t2 - t1:6.2f} s: {net.n_edges:,} edges")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--baseline", action="store_true", help="part 2 (at 100,000 segments)")
    parser.add_argument("--read", action="store_true", help="part 3: read_roads on a GeoPackage")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.baseline:
        part_baseline(min(args.segments, 100_000))
    elif args.read:
        part_read(args.segments)
    else:
        part_build(args.segments)


if __name__ == "__main__":
    main()
