"""Benchmark writing the tables of a 10,000-community run: the workbook and the CSVs.

Builds the synthetic district of ``scripts/benchmark.py`` (square communities over a street
grid, 50 m blocks, with its ``_communities`` and ``_facilities`` helpers), analyses it once
without circle polygons (the tables do not need them), and times each table writer, best of
``--repeat`` runs: ``coverage.xlsx`` (:func:`carecircle.outputs.workbook.workbook`),
``summary.csv``, ``townships.csv``, ``facilities.csv`` and ``district.csv``.

Usage::

    python scripts/benchmark_workbook.py              # 10,000 communities, 2,000 facilities
    python scripts/benchmark_workbook.py --quick      # 400 communities, a smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import _communities, _facilities

from carecircle import network, pipeline
from carecircle.outputs import export, workbook


def build(side: int, communities: int, facilities: int, seed: int) -> pipeline.Analysis:
    """The synthetic district analysed (no circle polygons)."""
    rng = np.random.default_rng(seed)
    net = network.synthetic_grid(side, side, spacing_m=50.0)
    comm = _communities(net, communities, rng).to_crs(net.crs)
    fac = _facilities(net, facilities, rng)
    import geopandas as gpd

    fac_gdf = gpd.GeoDataFrame(
        fac, geometry=gpd.points_from_xy(fac["lon"], fac["lat"]), crs=4326
    ).to_crs(net.crs)
    return pipeline.analyze(net, comm, fac_gdf, policy="chongqing", circle_polygons=False)


def best_of(repeat: int, write: Callable[[], object]) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of ``write``: seconds on the clock and of this process's CPU.

    The CPU seconds tell more on a machine other work keeps busy.
    """
    wall = cpu = np.inf
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        write()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return float(wall), float(cpu)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 communities, a smoke run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    side, count, n_fac = (100, 400, 80) if args.quick else (400, 10_000, 2000)
    start = time.perf_counter()
    analysis = build(side, count, n_fac, args.seed)
    print(
        f"## {len(analysis.communities):,} communities, {len(analysis.facilities):,} "
        f"facilities on a {side} x {side} grid (analysed in {time.perf_counter() - start:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        writers: dict[str, Callable[[], object]] = {
            "coverage.xlsx (zh)": lambda: workbook.workbook(analysis, out / "coverage.xlsx"),
            "summary.csv": lambda: export.write_summary(analysis, out / "summary.csv"),
            "townships.csv": lambda: export.write_townships(analysis, out / "townships.csv"),
            "facilities.csv": lambda: export.write_facilities(analysis, out / "facilities.csv"),
            "district.csv": lambda: export.write_district(analysis, out / "district.csv"),
        }
        total = np.zeros(2)
        print(f"  {'file':<22} {'clock':>8} {'CPU':>8}")
        for label, write in writers.items():
            seconds = best_of(args.repeat, write)
            total += seconds
            print(f"  {label:<22} {seconds[0]:6.2f} s {seconds[1]:6.2f} s")
        print(f"  {'all tables':<22} {total[0]:6.2f} s {total[1]:6.2f} s")


if __name__ == "__main__":
    main()
