"""Slopes from the network's own vertex elevations (a surveyed road layer's z), without a DEM."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from carecircle import network, pipeline, policy, terrain
from carecircle.errors import NetworkError
from carecircle.outputs import maps
from carecircle.policy import Walking

CRS = "EPSG:32648"  # UTM 48N, Chongqing
X0, Y0 = 600_000.0, 3_300_000.0
AROUND = (X0 - 1000.0, Y0 - 1000.0, X0 + 1000.0, Y0 + 1000.0)


def _tobler(grade: float, cap: float = 1.0) -> float:
    """Tobler normalised, capped: f(S) = min(exp(-3.5 (|S + 0.05| - 0.05)), cap)."""
    return min(math.exp(-3.5 * (abs(grade + 0.05) - 0.05)), cap)


def _polylines(lines: list[Any]) -> np.ndarray:
    """LineStrings of any number of vertices each (``shapely.linestrings`` needs equal ones)."""
    coords = np.concatenate([np.asarray(line, dtype=float) for line in lines])
    owner = np.repeat(np.arange(len(lines)), [len(line) for line in lines])
    return shapely.linestrings(coords, indices=owner)


def _lines(
    lines: list[list[tuple[float, float]]],
    z_m: list[float] | None,
    *,
    length_m: list[float] | None = None,
) -> network.WalkNetwork:
    """A network of polylines (metres east and north of (X0, Y0)); nodes at their ends."""
    ends = sorted({line[i] for line in lines for i in (0, -1)})
    node = {point: k for k, point in enumerate(ends)}
    x = np.array([X0 + p[0] for p in ends])
    y = np.array([Y0 + p[1] for p in ends])
    u = [node[line[0]] for line in lines]
    v = [node[line[-1]] for line in lines]
    net = network.from_arrays(x, y, u, v, crs=CRS)
    geometry = _polylines([[(X0 + a, Y0 + b) for a, b in line] for line in lines])
    length = shapely.length(geometry) if length_m is None else np.asarray(length_m, dtype=float)
    z = None if z_m is None else np.asarray(z_m, dtype=float)
    return dataclasses.replace(net, geometry=geometry, length_m=length, z_m=z)


def _dem(tmp_path: Path, grade_x: float) -> terrain.Elevation:
    """A plane rising ``grade_x`` eastwards, 10 m cells."""
    path = terrain.write_synthetic_dem(
        tmp_path / "dem.tif",
        lambda x, y: 300.0 + grade_x * (x - X0),
        bounds=AROUND,
        cell=10.0,
        crs=CRS,
        dtype="float64",
    )
    return terrain.read_dem(path, net_crs=CRS, bounds=AROUND, margin_m=0.0)


# A 100 m street east in two 50 m stretches: up 8 m (16 %), then up 2 m (4 %).
STREET = [[(0.0, 0.0), (50.0, 0.0), (100.0, 0.0)]]
STREET_Z = [300.0, 308.0, 310.0]


def test_two_stretches_by_hand_both_ways() -> None:
    costs = terrain.vertex_slope_costs(_lines(STREET, STREET_Z), Walking())
    # up: S = 0.16 -> f = exp(-3.5 * 0.16); S = 0.04 -> f = exp(-3.5 * 0.04)
    up = 50.0 / math.exp(-3.5 * 0.16) + 50.0 / math.exp(-3.5 * 0.04)  # 87.54 + 57.51 m
    # down: S = -0.16 -> |-0.11| - 0.05 = 0.06; S = -0.04 -> faster than flat, capped at 1
    down = 50.0 / math.exp(-3.5 * 0.06) + 50.0  # 61.68 + 50 m
    assert costs.uv_m[0] == pytest.approx(up, rel=1e-12)
    assert costs.vu_m[0] == pytest.approx(down, rel=1e-12)
    assert costs.uv_m[0] == pytest.approx(50 / _tobler(0.16) + 50 / _tobler(0.04), rel=1e-12)
    assert costs.rise_m[0] == pytest.approx(10.0)
    assert costs.climb_m[0] == pytest.approx(10.0)
    assert costs.complete.tolist() == [True]
    # without the cap the gentle descent is quicker than the flat
    free = terrain.vertex_slope_costs(_lines(STREET, STREET_Z), Walking(max_speed_factor=1.5))
    assert free.vu_m[0] == pytest.approx(50.0 / math.exp(-0.21) + 50.0 / math.exp(0.14))
    assert free.uv_m[0] == pytest.approx(up, rel=1e-12)
    # and with no slope model the street is its length both ways
    none = terrain.vertex_slope_costs(_lines(STREET, STREET_Z), Walking(slope_model="none"))
    assert (none.uv_m[0], none.vu_m[0]) == pytest.approx((100.0, 100.0))


def test_stretches_add_up_to_the_edges_length() -> None:
    # the way measures 110 m along, its drawn line 100 m: every stretch counts 1.1 times
    drawn = terrain.vertex_slope_costs(_lines(STREET, STREET_Z), Walking())
    longer = terrain.vertex_slope_costs(_lines(STREET, STREET_Z, length_m=[110.0]), Walking())
    assert longer.uv_m[0] == pytest.approx(1.1 * drawn.uv_m[0], rel=1e-12)
    assert longer.vu_m[0] == pytest.approx(1.1 * drawn.vu_m[0], rel=1e-12)
    # a flat line costs its length exactly, whatever the drawing
    flat = terrain.vertex_slope_costs(_lines(STREET, [5.0, 5.0, 5.0], length_m=[97.0]), Walking())
    assert (flat.uv_m[0], flat.vu_m[0]) == (97.0, 97.0)


def test_a_ridge_between_level_ends_costs_both_ways() -> None:
    # up 10 m over 50 m (20 %), down again: level ends, dearer than flat either way
    costs = terrain.vertex_slope_costs(_lines(STREET, [300.0, 310.0, 300.0]), Walking())
    both = 50.0 / math.exp(-3.5 * 0.2) + 50.0 / math.exp(-3.5 * 0.1)  # 100.68 + 70.95 m
    assert (costs.uv_m[0], costs.vu_m[0]) == pytest.approx((both, both), rel=1e-12)
    assert costs.rise_m[0] == 0.0
    assert costs.climb_m[0] == pytest.approx(10.0)


def test_apply_uses_z_without_a_dem_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    # edge 0 surveyed, edge 1 with a vertex of unknown elevation: flat
    lines = [*STREET, [(100.0, 0.0), (150.0, 0.0), (200.0, 0.0)]]
    net = _lines(lines, [*STREET_Z, 310.0, np.nan, 320.0])
    with caplog.at_level(logging.INFO, logger="carecircle.terrain"):
        walked = terrain.apply(net, Walking(), speed_m_s=0.9)
    by_hand = terrain.vertex_slope_costs(_lines(STREET, STREET_Z), Walking())
    assert walked.uv_m.tolist() == pytest.approx([by_hand.uv_m[0], 100.0], rel=1e-12)
    assert walked.vu_m.tolist() == pytest.approx([by_hand.vu_m[0], 100.0], rel=1e-12)
    info = walked.walking
    assert info["slope_model"] == "tobler"
    assert info["slope_source"] == "network z"
    assert (info["slope_edges_network_z"], info["slope_edges_dem"]) == (1, 0)
    assert info["slope_edges_flat"] == 1
    assert "dem" not in info
    lines_logged = [r for r in caplog.records if "own elevations (z)" in r.getMessage()]
    assert len(lines_logged) == 1
    assert lines_logged[0].levelno == logging.WARNING  # an edge left flat
    assert "1 of 2 edges" in lines_logged[0].getMessage()


def test_a_vertex_without_z_takes_the_dem_and_complete_z_beats_it(tmp_path: Path) -> None:
    # the DEM rises 10 % eastwards; the survey says edge 0 falls 10 m eastwards (a cutting
    # the DEM does not see); edge 1 has a vertex without z and takes the DEM's grade
    lines = [*STREET, [(100.0, 0.0), (150.0, 0.0), (200.0, 0.0)]]
    net = _lines(lines, [310.0, 305.0, 300.0, 310.0, np.nan, 320.0])
    walked = terrain.apply(net, Walking(), speed_m_s=0.9, elevation=_dem(tmp_path, 0.10))
    assert walked.uv_m.tolist() == pytest.approx([100.0, 100.0 / _tobler(0.10)], rel=1e-9)
    assert walked.vu_m.tolist() == pytest.approx([100.0 / _tobler(0.10), 100.0], rel=1e-9)
    info = walked.walking
    assert info["slope_source"] == "network z + DEM"
    assert (info["slope_edges_network_z"], info["slope_edges_dem"]) == (1, 1)
    assert info["slope_edges_flat"] == 0
    assert info["dem_samples"] == 11  # edge 1 only: 100 m at 10 m spacing
    # the DEM's own costs of the same network, for comparison: edge 0 would climb there
    from_dem = terrain.apply(
        dataclasses.replace(net, z_m=None), Walking(), speed_m_s=0.9, elevation=_dem(tmp_path, 0.1)
    )
    assert from_dem.uv_m[0] == pytest.approx(100.0 / _tobler(0.10), rel=1e-9)
    assert from_dem.walking["slope_source"] == "DEM"
    assert from_dem.walking["slope_edges_dem"] == 2


def test_complete_z_leaves_the_dem_no_edges(tmp_path: Path) -> None:
    net = _lines(STREET, STREET_Z)
    walked = terrain.apply(net, Walking(), speed_m_s=0.9, elevation=_dem(tmp_path, -0.3))
    alone = terrain.apply(net, Walking(), speed_m_s=0.9)
    np.testing.assert_array_equal(walked.uv_m, alone.uv_m)
    np.testing.assert_array_equal(walked.vu_m, alone.vu_m)
    assert walked.walking["slope_source"] == "network z"
    assert walked.walking["dem_samples"] == 0
    assert walked.walking["dem"].endswith("dem.tif")  # read, for the access walks


def test_no_z_and_no_dem_is_flat_as_before() -> None:
    net = _lines(STREET, None)
    walked = terrain.apply(net, Walking(), speed_m_s=0.9)
    np.testing.assert_array_equal(walked.uv_m, net.length_m)
    np.testing.assert_array_equal(walked.vu_m, net.length_m)
    assert walked.walking["slope_model"] == "none (no DEM)"
    assert not any(key.startswith("slope_") and key != "slope_model" for key in walked.walking)


def test_z_with_no_complete_edge_and_no_dem_is_flat() -> None:
    walked = terrain.apply(_lines(STREET, [np.nan] * 3), Walking(), speed_m_s=0.9)
    assert walked.uv_m.tolist() == walked.vu_m.tolist() == [100.0]
    assert walked.walking["slope_model"] == "none (no DEM, no complete network z)"
    assert walked.walking["slope_source"] == "none"


def _street_and_steps(z_m: list[float], incline: str) -> network.WalkNetwork:
    """The 100 m street, then a 20 m flight of 10 steps on eastwards, with ``incline``."""
    lines = [*STREET, [(100.0, 0.0), (120.0, 0.0)]]
    net = _lines(lines, z_m)
    tags = {
        "highway": np.array(["footway", "steps"], dtype=object),
        "step_count": np.array(["", "10"], dtype=object),
        "incline": np.array(["", incline], dtype=object),
    }
    return dataclasses.replace(net, edge_tags=tags)


@pytest.mark.parametrize("climbs", [True, False])
def test_steps_go_up_and_down_as_z_says(tmp_path: Path, climbs: bool) -> None:
    walking = Walking()
    up_m = 10 * walking.steps_up_s_per_step * 0.9
    down_m = 10 * walking.steps_down_s_per_step * 0.9
    top = 310.0 + (3.0 if climbs else -3.0)
    # the tag says the other way, and so does a DEM: the survey wins over both
    net = _street_and_steps([*STREET_Z, 310.0, top], "down" if climbs else "up")
    dem = _dem(tmp_path, -0.1 if climbs else 0.1)
    for walked in (
        terrain.apply(net, walking, speed_m_s=0.9),
        terrain.apply(net, walking, speed_m_s=0.9, elevation=dem),
    ):
        expected = (up_m, down_m) if climbs else (down_m, up_m)
        assert (walked.uv_m[1], walked.vu_m[1]) == pytest.approx(expected)
        assert walked.walking["edges_steps_direction_dem"] == 1
        assert walked.walking["edges_steps_direction_incline"] == 0


def test_steps_without_z_take_the_dem_rise(tmp_path: Path) -> None:
    walking = Walking()
    net = _street_and_steps([*STREET_Z, 310.0, np.nan], "")
    walked = terrain.apply(net, walking, speed_m_s=0.9, elevation=_dem(tmp_path, 0.1))
    assert walked.uv_m[1] == pytest.approx(10 * walking.steps_up_s_per_step * 0.9)
    assert walked.vu_m[1] == pytest.approx(10 * walking.steps_down_s_per_step * 0.9)
    flat = terrain.apply(net, walking, speed_m_s=0.9)  # neither: the slower way both ways
    assert (
        flat.uv_m[1]
        == flat.vu_m[1]
        == pytest.approx(10 * max(walking.steps_up_s_per_step, walking.steps_down_s_per_step) * 0.9)
    )


def test_a_saved_network_gives_the_same_costs(tmp_path: Path) -> None:
    lines = [*STREET, [(100.0, 0.0), (130.0, 40.0), (100.0, 80.0), (60.0, 90.0)]]
    net = _lines(lines, [*STREET_Z, 310.0, 318.5, 322.0, np.nan])
    network.save(net, tmp_path / "z.npz")
    back = network.load(tmp_path / "z.npz")
    ours = terrain.apply(net, Walking(), speed_m_s=0.9, elevation=_dem(tmp_path, 0.05))
    theirs = terrain.apply(back, Walking(), speed_m_s=0.9, elevation=_dem(tmp_path, 0.05))
    np.testing.assert_array_equal(ours.uv_m, theirs.uv_m)
    np.testing.assert_array_equal(ours.vu_m, theirs.vu_m)
    assert ours.walking == theirs.walking


def _one_edge_by_hand(
    line: np.ndarray, z: np.ndarray, length_m: float, walking: Walking
) -> tuple[float, float, float]:
    """One edge's metres each way, stretch by stretch in Python (the reference)."""
    if not np.all(np.isfinite(z)):
        return length_m, length_m, math.nan
    run = [math.hypot(*(line[i + 1] - line[i])) for i in range(len(line) - 1)]
    if sum(run) == 0:
        return length_m, length_m, math.nan
    cap = walking.max_speed_factor
    uv = sum(d / _tobler((z[i + 1] - z[i]) / d, cap) for i, d in enumerate(run) if d > 0)
    vu = sum(d / _tobler((z[i] - z[i + 1]) / d, cap) for i, d in enumerate(run) if d > 0)
    scale = length_m / sum(run)
    return uv * scale, vu * scale, z[-1] - z[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_all_edges_at_once_match_edge_by_edge(
    seed: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(terrain, "_EDGES", 7)  # several blocks
    n_edges = 60
    parts = rng.integers(2, 7, n_edges)
    lines = [np.cumsum(rng.uniform(-40, 40, (k, 2)), axis=0) for k in parts]
    lines[3][1] = lines[3][0]  # a repeated vertex
    z = [300.0 + np.cumsum(rng.normal(0, 3, k)) for k in parts]
    z[5][1] = np.nan  # unknown here: the whole edge is flat
    z[8][0] = -9999.0  # not an elevation: unknown
    z[3][1] += 4.0  # a rise with no run: costs nothing
    geometry = _polylines(lines)
    length_m = shapely.length(geometry) * rng.uniform(1.0, 1.2, n_edges)
    net = network.from_arrays(
        np.zeros(2 * n_edges),
        np.zeros(2 * n_edges),
        np.arange(n_edges),
        np.arange(n_edges) + 60,
        crs=CRS,
    )
    net = dataclasses.replace(net, geometry=geometry, length_m=length_m, z_m=np.concatenate(z))
    walking = Walking(max_speed_factor=1.1)
    with caplog.at_level(logging.WARNING, logger="carecircle.terrain"):
        costs = terrain.vertex_slope_costs(net, walking)
    for i in range(n_edges):
        known = np.where((z[i] > -500) & (z[i] < 9000), z[i], np.nan)
        uv, vu, rise = _one_edge_by_hand(lines[i], known, length_m[i], walking)
        assert (costs.uv_m[i], costs.vu_m[i]) == pytest.approx((uv, vu), rel=1e-12), i
        np.testing.assert_allclose(costs.rise_m[i], rise, rtol=1e-12)
    assert costs.complete.sum() == n_edges - 2
    assert not costs.complete[[5, 8]].any()
    steep = [r for r in caplog.records if "steeper than 100 %" in r.getMessage()]
    assert len(steep) == (1 if costs.n_steep_edges else 0)


def test_a_steep_stretch_is_counted_and_warned(caplog: pytest.LogCaptureFixture) -> None:
    # 0.5 m apart and 1.5 m higher: 300 %, a slip of the survey more likely than a way
    lines = [*STREET, [(100.0, 0.0), (100.5, 0.0), (150.0, 0.0)]]
    net = _lines(lines, [*STREET_Z, 310.0, 311.5, 311.5])
    with caplog.at_level(logging.WARNING, logger="carecircle.terrain"):
        walked = terrain.apply(net, Walking(), speed_m_s=0.9)
    assert walked.walking["network_z_steep_edges"] == 1
    assert walked.uv_m[1] == pytest.approx(0.5 / _tobler(3.0) + 49.5)
    assert sum("1 of 2 edges" in r.getMessage() for r in caplog.records) == 1


def test_elevations_that_do_not_fit_the_vertices_are_one_line() -> None:
    net = _lines(STREET, STREET_Z)
    bad = dataclasses.replace(net, z_m=np.array([1.0, 2.0]))
    with pytest.raises(NetworkError, match=r"z_m\) hold shape \(2,\); expected one per vertex"):
        terrain.apply(bad, Walking(), speed_m_s=0.9)


def test_the_pipeline_and_the_map_say_where_slopes_came_from() -> None:
    profile = policy.load("chongqing")
    net, elevation = pipeline.walking_network(
        _lines(STREET, STREET_Z), profile, speed_m_s=profile.speed_m_s
    )
    assert elevation is None  # the access walks stay flat
    parameters = {"speed_m_s": 0.9, **pipeline._walking_metadata(net, profile)}
    assert parameters["walking_slope_model"] == "tobler"
    assert parameters["walking_slope_source"] == "network z"
    assert "surveyed elevations (Tobler)" in maps.walking_note(parameters, "en")
    assert "路网实测高程" in maps.walking_note(parameters, "zh")
    both = {**parameters, "walking_slope_source": "network z + DEM", "walking_dem": "/d/dem.tif"}
    assert "surveyed elevations and the DEM dem.tif" in maps.walking_note(both, "en")
    assert "flat ground" in maps.walking_note({"speed_m_s": 0.9}, "en")
