"""Benchmark ``carecircle batch`` on a generated municipality, with 1 and 2 Dask workers.

The municipality is a street grid (50 m blocks) of about 2,000,000 nodes cut into 38 districts
(the cells of 38 random seeds), with 11,000 square communities (80 m) and one facility for
every three communities (stations, street centres, health centres), under the ``chongqing``
profile. ``--scale`` multiplies the nodes, communities and facilities (not the districts).

The batch (:func:`carecircle.batch.plan`, :func:`~carecircle.batch.compute`,
:func:`~carecircle.batch.write_municipal`) runs twice into fresh folders: on a local cluster
of one worker process, then of two (one thread each). The districts' clipped networks are cut
and saved by the first run and read from the cache by the second, so the plan of the second
is the cheaper one. Printed: wall time of each run and the speed-up, each worker's peak memory
(its resident set), the time per district and per community, and, labelled as an estimate, what
a cluster needs for China's ~600,000 communities from those measured figures.

Usage::

    python scripts/benchmark_batch.py               # the full municipality
    python scripts/benchmark_batch.py --scale 0.1   # a tenth: 200,000 nodes, 1,100 communities
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from carecircle import batch, network

NODES = 2_000_000
COMMUNITIES = 11_000
DISTRICTS = 38
CHINA_COMMUNITIES = 600_000
"""Communities (社区 and 村) in China, round figure, for the estimate."""
CRS = "EPSG:32648"
ORIGIN = (600_000.0, 3_200_000.0)


def municipality(
    scale: float, *, districts: int, seed: int
) -> tuple[network.WalkNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The grid, the communities (with their district) and the facilities."""
    rng = np.random.default_rng(seed)
    nodes = NODES * scale
    rows = max(int(math.sqrt(nodes / 2)), 10)
    cols = max(int(nodes / rows), 10)
    spacing = 50.0
    net = network.synthetic_grid(rows, cols, spacing_m=spacing, crs=CRS, origin=ORIGIN)
    width, height = (cols - 1) * spacing, (rows - 1) * spacing
    seeds = np.column_stack([rng.uniform(0, width, districts), rng.uniform(0, height, districts)])
    n = max(int(COMMUNITIES * scale), districts * 3)
    cx = rng.uniform(100, width - 100, n)
    cy = rng.uniform(100, height - 100, n)
    nearest = np.argmin((cx[:, None] - seeds[:, 0]) ** 2 + (cy[:, None] - seeds[:, 1]) ** 2, 1)
    names = np.array([f"区{i:02d}" for i in range(districts)], dtype=object)
    half = 40.0
    population = rng.integers(2_000, 12_000, n)
    comm = gpd.GeoDataFrame(
        {
            "id": [f"C{i:05d}" for i in range(n)],
            "name": [f"社区{i}" for i in range(n)],
            "population": population,
            "elderly": np.round(population * rng.uniform(0.1, 0.3, n)),
            "district": names[nearest],
        },
        geometry=shapely.box(
            ORIGIN[0] + cx - half,
            ORIGIN[1] + cy - half,
            ORIGIN[0] + cx + half,
            ORIGIN[1] + cy + half,
        ),
        crs=CRS,
    )
    m = max(n // 3, 3)
    tiers = rng.choice(
        ["community_station", "street_center", "health_center", "clinic"],
        m,
        p=[0.55, 0.1, 0.15, 0.2],
    )
    fac = gpd.GeoDataFrame(
        {
            "id": [f"F{i:05d}" for i in range(m)],
            "name": [f"设施{i}" for i in range(m)],
            "tier": tiers,
        },
        geometry=shapely.points(
            ORIGIN[0] + rng.uniform(0, width, m), ORIGIN[1] + rng.uniform(0, height, m)
        ),
        crs=CRS,
    )
    return net, comm, fac


@dataclass(frozen=True)
class Timing:
    """One batch's wall time, its phases (s) and its districts' results."""

    wall_s: float
    plan_s: float
    compute_s: float
    municipal_s: float
    results: list[batch.DistrictResult]
    failed: int


def run(
    net: network.WalkNetwork,
    comm: gpd.GeoDataFrame,
    fac: gpd.GeoDataFrame,
    out: Path,
    *,
    workers: int,
) -> Timing:
    """One batch into ``out``; its wall time, phases and per-district results."""
    start = time.perf_counter()
    todo = batch.plan(net, comm, fac, out, network_key="benchmark-grid", default_policy="chongqing")
    planned = time.perf_counter()
    results = batch.compute(
        todo.tasks, workers=workers, dashboard=False, echo=lambda line: print("  " + line)
    )
    computed = time.perf_counter()
    staging = out / ".municipal"
    staging.mkdir()
    table = batch.district_table([*todo.done, *results], todo.areas)
    batch.write_municipal(table, todo.areas, out, staging)
    done = time.perf_counter()
    failed = [r for r in results if r.run == batch.FAILED]
    for result in failed:
        print(f"  failed: {result.district}: {result.error}", file=sys.stderr)
    return Timing(
        wall_s=done - start,
        plan_s=planned - start,
        compute_s=computed - planned,
        municipal_s=done - computed,
        results=results,
        failed=len(failed),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full size")
    parser.add_argument("--districts", type=int, default=DISTRICTS, help="number of districts")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carecircle-batch-") as folder:
        os.environ["CARECIRCLE_CACHE_DIR"] = str(Path(folder) / "cache")
        t0 = time.perf_counter()
        net, comm, fac = municipality(args.scale, districts=args.districts, seed=args.seed)
        print(
            f"municipality: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {len(comm):,} "
            f"communities, {len(fac):,} facilities, {args.districts} districts "
            f"(scale {args.scale:g}; generated in {time.perf_counter() - t0:.1f} s)"
        )
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"this machine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min)")
        runs = {}
        for workers in (1, 2):
            print(f"batch with {workers} worker(s):")
            runs[workers] = run(net, comm, fac, Path(folder) / f"out-{workers}", workers=workers)
            r = runs[workers]
            print(
                f"  wall {r.wall_s:.1f} s (plan {r.plan_s:.1f} s, districts "
                f"{r.compute_s:.1f} s, municipal files {r.municipal_s:.1f} s); "
                f"{r.failed} failed"
            )
        one, two = runs[1], runs[2]
        print(
            f"speed-up with 2 workers: {one.wall_s / two.wall_s:.2f}x overall, "
            f"{one.compute_s / two.compute_s:.2f}x on the districts"
        )
        for workers, r in runs.items():
            peaks: dict[str, float] = {}
            for x in r.results:
                peaks[x.worker] = max(peaks.get(x.worker, 0.0), x.peak_mb)
            shown = ", ".join(f"{mb:,.0f} MB" for mb in peaks.values())
            print(f"peak memory per worker ({workers} worker(s)): {shown}")
        results = one.results
        seconds = [x.seconds for x in results]
        per_district = statistics.mean(seconds)
        per_community = sum(seconds) / len(comm)
        peak_mb = max(x.peak_mb for x in results)
        print(
            f"per district (1 worker): mean {per_district:.1f} s, max {max(seconds):.1f} s, "
            f"{len(comm) / args.districts:.0f} communities and about "
            f"{net.n_nodes / args.districts:,.0f} nodes each; {per_community * 1e3:.0f} ms of "
            "worker time per community"
        )
        total_h = per_community * CHINA_COMMUNITIES / 3600
        print(
            f"ESTIMATE (on paper, from the figures above; districts of this benchmark's size, "
            f"this machine's cores): China's ~{CHINA_COMMUNITIES:,} communities need about "
            f"{total_h:,.0f} worker-hours;"
        )
        for hours in (1, 8):
            cores = math.ceil(total_h / hours)
            print(
                f"  in {hours} h: about {cores:,} single-threaded worker(s), each with "
                f"{peak_mb / 1e3 * 1.5:.1f} GB of memory (the peak measured, plus half), "
                f"{cores * peak_mb * 1.5 / 1e3:,.0f} GB in all"
            )
        print(
            "  (an estimate: real districts differ in size, and a district's time grows with "
            "its facilities, communities and network faster than linearly)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
