from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from carecircle import network, policy, travel
from carecircle.inputs import readers as inputs
from carecircle.siting import candidates


def _random_net(seed: int) -> network.WalkNetwork:
    rng = np.random.default_rng(seed)
    grid = network.synthetic_grid(15, 18, spacing_m=70.0)
    lengths = grid.length_m * rng.uniform(1.0, 1.6, size=grid.n_edges)
    return network.from_arrays(grid.x, grid.y, grid.u, grid.v, crs=grid.crs, length_m=lengths)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_matrix_equals_one_search_per_candidate(seed):
    net = _random_net(seed)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = net.bounds()
    targets = travel.snap(net, rng.uniform(minx, maxx, 300), rng.uniform(miny, maxy, 300))
    sites = travel.snap(net, rng.uniform(minx, maxx, 12), rng.uniform(miny, maxy, 12))
    limit = np.where(rng.random(300) < 0.5, 300.0, 500.0)  # urban and rural limits mixed
    usable = rng.random(300) > 0.1
    matrix = candidates.coverage_matrix(
        net, sites, targets, limit, speed_m_s=1.1, usable=usable
    ).toarray()
    for j in range(len(sites)):
        time_s, _ = travel.nearest_times(net, sites.subset(np.array([j])), targets, speed_m_s=1.1)
        expected = (time_s <= limit) & usable
        np.testing.assert_array_equal(matrix[:, j], expected)
    assert matrix.any() and not matrix.all()


def test_same_edge_counts_straight_along_it(street):
    sites = travel.snap(street, np.array([street.x[0] + 150]), np.array([street.y[0]]))
    targets = travel.snap(street, street.x[0] + np.array([160.0, 260.0]), street.y[:2])
    matrix = candidates.coverage_matrix(
        street, sites, targets, np.array([15.0, 15.0]), speed_m_s=1.0
    ).toarray()
    assert matrix[:, 0].tolist() == [True, False]  # 10 m away, then 110 m away


def test_generated_candidates_sit_on_streets_near_the_gaps(street):
    ox, oy = street.x[0], street.y[0]
    communities = gpd.GeoDataFrame(
        {"id": ["A", "B"], "eldercare_status": ["covered", "uncovered"]},
        geometry=[
            shapely.box(ox, oy + 5, ox + 100, oy + 50),
            shapely.box(ox + 300, oy + 5, ox + 400, oy + 50),
        ],
        crs=street.crs,
    )
    sites = candidates.generate(street, communities, "eldercare", spacing_m=25.0, margin_m=60.0)
    assert len(sites) > 0
    xs = sites.geometry.x.to_numpy() - ox
    assert (xs >= 240).all()  # near B only (B starts at x = 300, margin 60 m)
    assert np.allclose(sites.geometry.y.to_numpy(), oy)  # on the street
    assert sites["id"].is_unique
    assert sites["generated"].all()


def test_read_candidates_with_chinese_headers_and_gcj02(tmp_path):
    frame = pd.DataFrame(
        {
            "编号": ["C1", "C2"],
            "名称": ["闲置校舍", "旧厂房"],
            "建筑面积": [860, 1200],
            "造价": [1.2e6, ""],
            "经度": [106.5700, 106.5800],
            "纬度": [29.5600, 29.5650],
        }
    )
    path = tmp_path / "候选.csv"
    frame.to_csv(path, index=False, encoding="gb18030")
    sites = inputs.read_candidates(path, coords="gcj02")
    assert sites["id"].tolist() == ["C1", "C2"]
    # simplified approval is a 渝中 rule: the reader leaves it to the profile
    assert sites["under_1000m2"].isna().all()
    assert sites["cost"].iloc[0] == 1.2e6 and np.isnan(sites["cost"].iloc[1])
    shift = sites.to_crs(32648).distance(
        gpd.GeoSeries(gpd.points_from_xy([106.57, 106.58], [29.56, 29.565]), crs=4326).to_crs(32648)
    )
    assert (shift > 100).all()  # GCJ-02 converted: hundreds of metres


def test_read_candidates_rejects_duplicate_ids(tmp_path):
    path = tmp_path / "c.csv"
    pd.DataFrame({"id": ["a", "a"], "lon": [106.5, 106.6], "lat": [29.5, 29.6]}).to_csv(
        path, index=False
    )
    with pytest.raises(inputs.InputError, match="'a'"):
        inputs.read_candidates(path)


def test_candidate_columns_mapping_names_the_cost(tmp_path):
    path = tmp_path / "c.csv"
    pd.DataFrame({"id": ["a"], "预算": ["800000"], "lon": [106.5], "lat": [29.5]}).to_csv(
        path, index=False
    )
    sites = inputs.read_candidates(path, columns={"cost": "预算"})
    assert sites["cost"].tolist() == [800_000.0]
    with pytest.raises(inputs.InputError, match="unknown field 'beds'"):
        inputs.read_candidates(path, columns={"beds": "预算"})


@pytest.mark.parametrize(
    ("area", "expected"),
    [(999.9, True), (1000.0, True), (1000.1, False), (float("nan"), None)],
)
def test_simplified_approval_includes_1000_m2_and_is_yuzhongs_rule(area, expected):
    # 渝中府办〔2020〕44号 §二(一)2: "凡利用建筑面积1000平方米以下的独栋建筑 ... 可不再要求 ...":
    # 以下 includes the figure, so 1000 m² qualifies and 1000.1 m² does not
    yuzhong = policy.load("yuzhong")
    assert yuzhong.provision["simplified_approval_max_area_m2"].value == 1000
    found = candidates.simplified_approval([area], yuzhong)[0]
    assert (found is pd.NA) if expected is None else (bool(found) is expected)
    # a 渝中 rule: the other profiles do not have it, so the answer is unknown there
    for name in ("chongqing", "wanzhou", "dianjiang", "yuncheng"):
        assert candidates.simplified_approval([area], policy.load(name))[0] is pd.NA
