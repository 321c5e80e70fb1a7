"""Tiny networks whose walking times can be worked out by hand."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pyrosm
import pytest

from carecircle import network, pipeline, policy

CRS = "EPSG:32648"  # UTM 48N, Chongqing


@pytest.fixture
def street() -> network.WalkNetwork:
    """A straight street of four 100 m blocks along x: nodes at x = 0, 100, 200, 300, 400."""
    x = np.arange(5) * 100.0 + 600_000.0
    y = np.full(5, 3_300_000.0)
    return network.from_arrays(x, y, np.arange(4), np.arange(1, 5), crs=CRS)


@pytest.fixture
def diamond() -> network.WalkNetwork:
    """Four nodes A(0,0), B(100,100), C(100,-100), D(200,0) with chosen walking lengths.

    A-B 100 m, A-C 120 m, B-D 100 m, C-D 50 m: from A, D is 170 m away via C.
    """
    ox, oy = 600_000.0, 3_300_000.0
    x = np.array([0.0, 100.0, 100.0, 200.0]) + ox
    y = np.array([0.0, 100.0, -100.0, 0.0]) + oy
    u = np.array([0, 0, 1, 2])
    v = np.array([1, 2, 3, 3])
    return network.from_arrays(x, y, u, v, crs=CRS, length_m=np.array([100.0, 120.0, 100.0, 50.0]))


@pytest.fixture(scope="session")
def demo_analysis() -> pipeline.Analysis:
    """The embedded demo (real Helsinki OSM data) analysed with the yuzhong profile."""
    demo = resources.files("carecircle.data") / "demo"
    with resources.as_file(demo) as folder:
        return pipeline.run(
            pyrosm.get_data("helsinki_pbf"),
            folder / "communities.gpkg",
            folder / "facilities.csv",
            policy=policy.load("yuzhong"),
            population_raster=folder / "population.tif",
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the batch tests last: Dask leaves threads in the process (its offload pool, its IO
    loop), and a process with threads does not fork (``carecircle._parallel``), so the tests of
    the two-core paths would skip after them."""
    items.sort(key=lambda item: item.path.name == "test_batch.py")
