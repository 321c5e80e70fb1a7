"""Benchmark carecircle's shortest paths and a whole analysis on synthetic street grids.

Part 1 times the walking time from the nearest of 1,000 facilities to every node of square
street grids (100,000 and 1,000,000 nodes), side by side in one run:

- carecircle from its arrays (building the sparse graph included), and from an osmnx-style
  networkx graph (conversion to arrays included);
- networkx's ``multi_source_dijkstra_path_length`` on the same graph (the osmnx-examples way).

It checks that both give the same times and prints the ratio.

Part 2 times a whole ``carecircle analyze`` (read the cached network and the layers, place
demand points, snap, every circle, circle polygons, summary.csv, GeoPackage, HTML map) on a
cached 1,000,000-node grid with 10,000 square communities and 2,000 facilities, once on flat
ground and once over a hilly DEM (``--dem``), phase by phase.

Part ``dem`` writes a synthetic hilly DEM GeoTIFF (80 Gaussian hills up to 100 m) under a
1,000,000-node grid (50 m blocks), once in the grid's UTM CRS (30 m cells) and once in EPSG:4326
(one-arc-second cells), and times reading it (``terrain.read_dem``) and sampling every edge every
10 m into walking metres each way (``terrain.slope_costs``), phase by phase.

Part 3 (``--part circles``) times the circle polygons alone: 1,000 facilities' 15-minute
polygons on a 250,000-node grid (500 x 500, 50 m blocks), phase by phase (the nearest-edge
raster, the searches, evaluating the counting rule, polygonizing), beside the polygons of the
fixed 40 m buffer the tool drew before (its code read from git history, commit cd7a0df, for this
comparison only); then the circles of the whole analysis's size alone (1,000,000 nodes, 2,000
facilities: 1,600 eldercare at 15 minutes, 400 medical at 15 and 25 minutes), without the old
code (``--circles-large``).

Usage::

    python scripts/benchmark.py                  # parts 1 and 2, full size
    python scripts/benchmark.py --quick          # small sizes, a smoke run
    python scripts/benchmark.py --part dem       # DEM sampling only
    python scripts/benchmark.py --part circles   # part 3 (add --circles-large for 1,000,000)
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from carecircle import cli, isochrones, network, policy, terrain, travel

SPEED_M_S = 0.9


def _grid_graph_nx(net: network.WalkNetwork) -> nx.MultiDiGraph:
    """An osmnx-style graph of the grid, built without Python-level geometry work."""
    graph = nx.MultiDiGraph(crs=net.crs.to_wkt())
    graph.add_nodes_from(
        (int(i), {"x": float(x), "y": float(y)})
        for i, x, y in zip(net.node_id, net.x, net.y, strict=True)
    )
    seconds = net.length_m / SPEED_M_S
    both = zip(
        np.concatenate([net.u, net.v]).tolist(),
        np.concatenate([net.v, net.u]).tolist(),
        np.concatenate([net.length_m, net.length_m]).tolist(),
        np.concatenate([seconds, seconds]).tolist(),
        strict=True,
    )
    graph.add_edges_from((a, b, {"length": ln, "travel_time": t}) for a, b, ln, t in both)
    return graph


def _at_nodes(net: network.WalkNetwork, nodes: np.ndarray) -> travel.Snap:
    edge_of = np.full(net.n_nodes, -1)
    edge_of[net.v] = np.arange(net.n_edges)
    edge_of[net.u] = np.arange(net.n_edges)
    at_u = net.u[edge_of[nodes]] == nodes
    return travel.Snap(edge_of[nodes], np.where(at_u, 0.0, 1.0), np.zeros(nodes.size))


def shortest_paths(side: int, n_facilities: int, seed: int) -> None:
    """Part 1 on a ``side`` x ``side`` grid."""
    rng = np.random.default_rng(seed)
    net = network.synthetic_grid(side, side, spacing_m=100.0)
    facilities = rng.choice(net.n_nodes, size=n_facilities, replace=False)
    print(
        f"\n## grid {side} x {side}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
        f"{n_facilities:,} facilities"
    )

    # best of three fresh networks (each builds its sparse graph from scratch)
    t_arrays = np.inf
    for _ in range(3):
        fresh = network.from_arrays(net.x, net.y, net.u, net.v, crs=net.crs)
        start = time.perf_counter()
        ours = travel.node_times(fresh, _at_nodes(fresh, facilities), speed_m_s=SPEED_M_S)
        t_arrays = min(t_arrays, time.perf_counter() - start)

    graph = _grid_graph_nx(net)
    start = time.perf_counter()
    converted = network.from_graph(graph)
    order = pd.Index(converted.node_id).get_indexer(net.node_id[facilities])
    from_graph = travel.node_times(converted, _at_nodes(converted, order), speed_m_s=SPEED_M_S)
    t_graph = time.perf_counter() - start

    start = time.perf_counter()
    ref = nx.multi_source_dijkstra_path_length(
        graph, {int(net.node_id[i]) for i in facilities}, weight="travel_time"
    )
    t_nx = time.perf_counter() - start

    expected = np.array([ref[int(i)] for i in net.node_id])
    diff = np.abs(ours.time_s - expected).max()
    back = pd.Index(converted.node_id).get_indexer(net.node_id)
    diff_graph = np.abs(from_graph.time_s[back] - expected).max()
    print(f"carecircle, from arrays (sparse graph built, best of 3): {t_arrays:8.2f} s")
    print(f"carecircle, from the networkx graph (converted):         {t_graph:8.2f} s")
    print(f"networkx multi_source_dijkstra_path_length:              {t_nx:8.2f} s")
    print(f"speed-up from arrays: {t_nx / t_arrays:6.1f}x   from the graph: {t_nx / t_graph:6.1f}x")
    print(f"largest difference from networkx: {max(diff, diff_graph):.2e} s")


def _communities(
    net: network.WalkNetwork, count: int, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = net.bounds()
    per_side = int(np.sqrt(count))
    xs = np.linspace(minx, maxx, per_side + 1)
    ys = np.linspace(miny, maxy, per_side + 1)
    grid_x, grid_y = np.meshgrid(np.arange(per_side), np.arange(per_side))
    ix, iy = grid_x.ravel(), grid_y.ravel()
    boxes = shapely.box(xs[ix], ys[iy], xs[ix + 1], ys[iy + 1])
    population = rng.integers(500, 8000, size=boxes.size)
    frame = gpd.GeoDataFrame(
        {
            "id": [f"C{i:05d}" for i in range(boxes.size)],
            "name": [f"第{i}社区居委会" for i in range(boxes.size)],
            "population": population,
            "elderly": (population * rng.uniform(0.15, 0.3, size=boxes.size)).round(),
            "township": [f"街道{i // 100:03d}" for i in range(boxes.size)],
        },
        geometry=boxes,
        crs=net.crs,
    )
    return frame.to_crs(4326)


def _facilities(net: network.WalkNetwork, count: int, rng: np.random.Generator) -> pd.DataFrame:
    chosen = rng.choice(net.n_nodes, size=count, replace=False)
    points = gpd.GeoSeries(
        shapely.points(net.x[chosen] + 15.0, net.y[chosen] + 10.0), crs=net.crs
    ).to_crs(4326)
    tiers = np.where(np.arange(count) % 5 == 0, "health_center", "community_station")
    return pd.DataFrame(
        {
            "id": [f"F{i:05d}" for i in range(count)],
            "name": [f"设施{i}" for i in range(count)],
            "tier": tiers,
            "lon": points.x.round(7),
            "lat": points.y.round(7),
            "area_m2": 300,
        }
    )


class _Phases:
    """Seconds spent in chosen functions during a run, by wrapping them where they are looked up."""

    def __init__(self, places: dict[str, tuple[object, str]]) -> None:
        self.places = places
        self.seconds = dict.fromkeys(places, 0.0)
        self.saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> _Phases:
        for label, (owner, name) in self.places.items():
            original = getattr(owner, name)
            self.saved.append((owner, name, original))

            def timed(*args, _original=original, _label=label, **kwargs):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds[_label] += time.perf_counter() - start

            setattr(owner, name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)


def whole_analysis(side: int, communities: int, facilities: int, seed: int) -> None:
    """Part 2: a whole analysis on a cached grid network, flat and then over a hilly DEM."""
    from carecircle import isochrones, outputs, pipeline, standards
    from carecircle.outputs import maps

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        net = network.synthetic_grid(side, side, spacing_m=50.0)
        network.save(net, folder / "district.npz")
        _communities(net, communities, rng).to_file(folder / "communities.gpkg", driver="GPKG")
        _facilities(net, facilities, rng).to_csv(folder / "facilities.csv", index=False)
        bounds = net.bounds()
        hills = terrain.gaussian_hills(
            bounds, count=80, height_m=100.0, radius_m=(400.0, 2000.0), seed=seed
        )
        area = (bounds[0] - 1000.0, bounds[1] - 1000.0, bounds[2] + 1000.0, bounds[3] + 1000.0)
        dem = terrain.write_synthetic_dem(
            folder / "hills.tif", hills, bounds=area, cell=30.0, crs=net.crs
        )
        print(
            f"\n## whole analysis: {net.n_nodes:,}-node cached network, {communities:,} "
            f"communities, {facilities:,} facilities"
        )
        places = {
            "read network (cache)": (network, "read"),
            "read layers": (pipeline, "_read_layers"),
            "DEM read": (terrain, "read_dem"),
            "walking metres (slopes, steps)": (terrain, "apply"),
            "demand points": (pipeline.demand, "place"),
            "join to the network": (pipeline.travel, "snap"),
            "walking times": (pipeline, "circle_times"),
            "shares": (pipeline.circles_mod, "summarize"),
            "nearest-edge raster": (pipeline, "circle_raster"),
            "circle polygons": (pipeline, "walking_circles"),
            "merged circles": (pipeline, "merged_circles"),
            "dissolve": (isochrones, "dissolve"),
            "uncovered areas": (isochrones, "uncovered_areas"),
            "standards": (standards, "check"),
            "writing (two processes)": (outputs, "write_all"),
            "  of which the map, built here": (maps, "build"),
        }
        nested = {"  of which the map, built here"}
        for label, extra in (("flat", []), ("with a DEM", ["--dem", str(dem)])):
            with _Phases(places) as phases:
                start = time.perf_counter()
                status = cli.main(
                    [
                        "analyze",
                        "--network",
                        str(folder / "district.npz"),
                        "--communities",
                        str(folder / "communities.gpkg"),
                        "--facilities",
                        str(folder / "facilities.csv"),
                        "--out",
                        str(folder / label.replace(" ", "_")),
                        "--no-progress",
                        *extra,
                    ]
                )
                elapsed = time.perf_counter() - start
            summary = pd.read_csv(folder / label.replace(" ", "_") / "summary.csv")
            print(f"\n### {label}: exit status {status}; {len(summary):,} communities")
            for phase, seconds in phases.seconds.items():
                if seconds > 0:
                    print(f"  {phase:<32} {seconds:7.1f} s")
            rest = elapsed - sum(v for k, v in phases.seconds.items() if k not in nested)
            print(f"  {'the rest':<32} {rest:7.1f} s")
            print(f"  {'whole analysis':<32} {elapsed:7.1f} s")


def dem_sampling(side: int, seed: int) -> None:
    """Part dem: read a hilly DEM and cost every edge of a ``side`` x ``side`` grid.

    The same hills are written twice: in the grid's UTM CRS with 30 m cells, and in EPSG:4326
    with one-arc-second cells (as SRTM is delivered), which adds reprojecting every sample.
    """
    net = network.synthetic_grid(side, side, spacing_m=50.0)
    bounds = net.bounds()
    area = (bounds[0] - 1000.0, bounds[1] - 1000.0, bounds[2] + 1000.0, bounds[3] + 1000.0)
    walking = policy.Walking()
    surface = terrain.gaussian_hills(
        bounds, count=80, height_m=100.0, radius_m=(400.0, 2000.0), seed=seed
    )
    to_utm = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)

    def surface_of_degrees(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return surface(*to_utm.transform(lon, lat))

    print(
        f"\n## DEM sampling: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
        f"samples every {walking.dem_spacing_m:g} m"
    )
    cases = (
        ("UTM 48N, 30 m cells", surface, area, 30.0, net.crs),
        (
            "EPSG:4326, 1 arc-second cells",
            surface_of_degrees,
            to_utm.transform_bounds(*area, direction="INVERSE"),
            1.0 / 3600.0,
            "EPSG:4326",
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label, heights, extent, cell, crs in cases:
            path = Path(tmp) / "hills.tif"
            start = time.perf_counter()
            terrain.write_synthetic_dem(path, heights, bounds=extent, cell=cell, crs=crs)
            t_write = time.perf_counter() - start
            start = time.perf_counter()
            elev = terrain.read_dem(path, net_crs=net.crs, bounds=bounds)
            t_read = time.perf_counter() - start
            start = time.perf_counter()
            costs = terrain.slope_costs(net, elev, walking)
            t_costs = time.perf_counter() - start
            rows, cols = elev.z_m.shape
            longer = costs.uv_m / net.length_m
            print(f"\n### DEM in {label}: {rows:,} x {cols:,} cells read")
            print(f"synthetic DEM written (not timed):  {t_write:6.2f} s")
            print(f"read_dem:                           {t_read:6.2f} s")
            print(f"slope_costs ({costs.n_samples:,} samples): {t_costs:6.2f} s")
            print(f"DEM sampling of all edges:          {t_read + t_costs:6.2f} s")
            print(
                f"u->v metres / length: mean {longer.mean():.3f}, max {longer.max():.3f}; "
                f"largest rise on an edge {np.nanmax(np.abs(costs.rise_m)):.1f} m; "
                f"edges with nodata {costs.n_nodata_edges}, outside {costs.n_outside_edges}"
            )


#: The commit whose circle polygons (fixed 40 m buffers) are the baseline of part 3.
OLD_CIRCLES_COMMIT = "cd7a0df"


def _old_isochrones() -> ModuleType | None:
    """The isochrones module of :data:`OLD_CIRCLES_COMMIT`, from git history, or None."""
    root = Path(__file__).resolve().parents[1]
    try:
        text = subprocess.run(
            ["git", "-C", str(root), "show", f"{OLD_CIRCLES_COMMIT}:coverage/isochrones.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    folder = Path(tempfile.mkdtemp())
    path = folder / "_isochrones_old.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("carecircle._isochrones_old", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class _Clock:
    """Total time spent in wrapped functions."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed

    def wrap_iterator(self, function: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            found = function(*args, **kwargs)
            while True:
                start = time.perf_counter()
                try:
                    item = next(found)
                except StopIteration:
                    self.seconds += time.perf_counter() - start
                    return
                self.seconds += time.perf_counter() - start
                yield item

        return timed


def _grid_sources(net: network.WalkNetwork, count: int, rng: np.random.Generator) -> travel.Snap:
    """Facilities 15 m east and 10 m north of random nodes (as in the whole analysis)."""
    chosen = rng.choice(net.n_nodes, size=count, replace=False)
    return travel.snap(net, net.x[chosen] + 15.0, net.y[chosen] + 10.0)


def _timed_polygons(
    net: network.WalkNetwork,
    jobs: list[tuple[travel.Snap, float]],
    *,
    raster: isochrones.EdgeRaster,
    max_access_m: float,
) -> dict[str, float]:
    """Draw every job's polygons; seconds per phase (the phases wrapped in clocks)."""
    searches, evaluation, polygonize = _Clock(), _Clock(), _Clock()
    originals = (isochrones.reach, isochrones._inside_one, isochrones._polygonize)
    isochrones.reach = searches.wrap_iterator(originals[0])
    isochrones._inside_one = evaluation.wrap(originals[1])
    isochrones._polygonize = polygonize.wrap(originals[2])
    vertices = count = 0
    start = time.perf_counter()
    try:
        for sources, limit_s in jobs:
            for _, shape in isochrones.polygons(
                net,
                sources,
                speed_m_s=SPEED_M_S,
                limit_s=limit_s,
                max_access_m=max_access_m,
                raster=raster,
            ):
                vertices += shapely.get_num_coordinates(shape)
                count += 1
    finally:
        isochrones.reach, isochrones._inside_one, isochrones._polygonize = originals
    total = time.perf_counter() - start
    return {
        "polygons": count,
        "vertices": vertices / max(count, 1),
        "total": total,
        "searches": searches.seconds,
        "evaluation": evaluation.seconds,
        "polygonize": polygonize.seconds,
        "other": total - searches.seconds - evaluation.seconds - polygonize.seconds,
    }


def circle_polygons(side: int, n_facilities: int, seed: int, *, baseline: bool) -> None:
    """Part 3: the circle polygons of ``n_facilities`` on a ``side`` x ``side`` grid."""
    rng = np.random.default_rng(seed)
    profile = policy.load("chongqing")
    net = network.synthetic_grid(side, side, spacing_m=50.0)
    large = side >= 1000
    if large:  # as the whole analysis: eldercare (15 min) and medical (15 and 25 min)
        sources = _grid_sources(net, n_facilities, rng)
        medical = np.arange(n_facilities) % 5 == 0
        jobs = [
            (sources.subset(~medical), 900.0),
            (sources.subset(medical), 900.0),
            (sources.subset(medical), 1500.0),
        ]
        longest_s = 1500.0
    else:
        jobs = [(_grid_sources(net, n_facilities, rng), 900.0)]
        longest_s = 900.0
    margin_m = min(longest_s * SPEED_M_S, profile.max_access_m)
    cell_m = isochrones.cell_size_m(net, spacing_m=profile.grid_spacing_m, margin_m=margin_m)
    print(
        f"\n## circle polygons: grid {side} x {side} ({net.n_nodes:,} nodes, 50 m blocks), "
        f"{n_facilities:,} facilities, {sum(len(s) for s, _ in jobs):,} polygons, "
        f"{SPEED_M_S} m/s, access cap {profile.max_access_m:g} m"
    )
    start = time.perf_counter()
    raster = isochrones.edge_raster(net, cell_m=cell_m, margin_m=margin_m)
    t_raster = time.perf_counter() - start
    rows, cols = raster.shape
    phases = _timed_polygons(net, jobs, raster=raster, max_access_m=profile.max_access_m)
    lines = [
        (f"nearest-edge raster, once ({rows:,} x {cols:,} cells of {cell_m:g} m)", t_raster),
        ("  searches (one per facility and limit)", phases["searches"]),
        ("  evaluation (the counting rule on the window's cells)", phases["evaluation"]),
        ("  polygonize (GDAL, then simplify by half a cell)", phases["polygonize"]),
        ("  other (windows, bookkeeping)", phases["other"]),
        (f"polygons ({phases['vertices']:.0f} vertices each on average)", phases["total"]),
        ("new circles in all (raster + polygons)", t_raster + phases["total"]),
    ]
    for label, seconds in lines:
        print(f"{label:<62}{seconds:8.2f} s")
    if not baseline:
        return
    old = _old_isochrones()
    if old is None:
        print(f"old circles: git history ({OLD_CIRCLES_COMMIT}) not readable, no baseline")
        return
    start = time.perf_counter()
    for sources, limit_s in jobs:
        for _ in old.polygons(net, sources, speed_m_s=SPEED_M_S, limit_s=limit_s, buffer_m=40.0):
            pass
    t_old = time.perf_counter() - start
    label = f"old circles (40 m buffers, {OLD_CIRCLES_COMMIT}), same run"
    print(f"{label:<62}{t_old:8.2f} s")
    print(f"speed-up: {t_old / (t_raster + phases['total']):.1f}x")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--part", choices=("paths", "analysis", "both", "circles", "dem"), default="both"
    )
    parser.add_argument(
        "--circles-large",
        action="store_true",
        help="part 'circles' also at the whole analysis's size (1,000,000 nodes)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.part == "circles":
        if args.quick:
            circle_polygons(100, 50, args.seed, baseline=True)
        else:
            circle_polygons(500, 1000, args.seed, baseline=True)
        if args.circles_large:
            circle_polygons(1000, 2000, args.seed, baseline=False)
        return
    sides = (100, 200) if args.quick else (317, 1000)
    if args.part in ("paths", "both"):
        for side in sides:
            shortest_paths(side, 100 if args.quick else 1000, args.seed)
    if args.part in ("analysis", "both"):
        if args.quick:
            whole_analysis(200, 100, 40, args.seed)
        else:
            whole_analysis(1000, 10_000, 2000, args.seed)
    if args.part == "dem":
        dem_sampling(200 if args.quick else 1000, args.seed)


if __name__ == "__main__":
    main()
