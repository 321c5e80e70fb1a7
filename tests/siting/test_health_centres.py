"""医养结合 in siting: candidates beside a health centre are preferred, never at coverage's cost."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from carecircle import network, pipeline, policy
from carecircle.inputs import readers as inputs
from carecircle.siting import sites

UTM = "EPSG:32648"
OX, OY = 600_000.0, 3_300_000.0
PROFILE = """
name = "beside-health"
extends = "chongqing"
[circles.eldercare]
minutes_urban = 3
minutes_rural = 3
[medical_integration]
max_walk_minutes = 5
tiers = ["community_station"]
source = "test"
"""


def _street() -> network.WalkNetwork:
    """One straight street along x, nodes every 500 m from 0 to 3000 m."""
    x = np.arange(7) * 500.0 + OX
    return network.from_arrays(x, np.full(7, OY), np.arange(6), np.arange(1, 7), crs=UTM)


def _box(cx: float) -> shapely.Polygon:
    return shapely.box(OX + cx - 5, OY + 12, OX + cx + 5, OY + 22)


def _district(tmp_path, candidates_x, *, health_x, communities_x=(1000.0,), elderly=(100,)):
    """Communities (not covered: no care facility), a health centre and the candidates."""
    comm = gpd.GeoDataFrame(
        {
            "id": [f"C{i}" for i in range(len(communities_x))],
            "name": [f"社区{i}" for i in range(len(communities_x))],
            "population": [5 * e for e in elderly],
            "elderly": list(elderly),
            "township": "一街道",
        },
        geometry=[_box(x) for x in communities_x],
        crs=UTM,
    ).to_crs(4326)
    comm_path = tmp_path / "communities.gpkg"
    comm.to_file(comm_path, driver="GPKG")
    far = gpd.GeoSeries(shapely.points([OX + 3000.0, OX + health_x], [OY, OY]), crs=UTM)
    far = far.to_crs(4326)
    fac_path = tmp_path / "facilities.csv"
    pd.DataFrame(
        {
            "id": ["S0", "H"],
            "name": ["远站", "卫生院"],
            "tier": ["community_station", "health_center"],
            "lon": far.x,
            "lat": far.y,
            "area_m2": [300, np.nan],
        }
    ).to_csv(fac_path, index=False)
    points = gpd.GeoSeries(
        shapely.points(OX + np.asarray(candidates_x, dtype=float), np.full(len(candidates_x), OY)),
        crs=UTM,
    ).to_crs(4326)
    cand_path = tmp_path / "candidates.csv"
    pd.DataFrame(
        {
            "id": [f"K{i + 1}" for i in range(len(candidates_x))],
            "area_m2": 400,
            "cost": 100_000,
            "lon": points.x,
            "lat": points.y,
        }
    ).to_csv(cand_path, index=False)
    profile_path = tmp_path / "p.toml"
    profile_path.write_text(PROFILE, encoding="utf-8")
    profile = policy.load(profile_path)
    prep = pipeline.prepare(
        _street(),
        inputs.read_communities(comm_path),
        inputs.read_facilities(fac_path),
        policy=profile,
        speed_m_s=1.0,
    )
    # the points exactly where they were put (a round trip through degrees moves them by
    # nanometres, enough to tip a walk of 300 m over 5 minutes)
    exact = shapely.points([OX + 3000.0, OX + health_x], [OY, OY])
    prep = replace(prep, facilities=prep.facilities.set_geometry(exact, crs=UTM))
    cands = inputs.read_candidates(cand_path).to_crs(UTM)
    cands = cands.set_geometry(
        shapely.points(OX + np.asarray(candidates_x, dtype=float), np.full(len(cands), OY)),
        crs=UTM,
    )
    return prep, cands, profile


HEALTH_COLUMNS = list(sites.HEALTH_CENTRE_COLUMNS)
QUESTIONS = [{"count": 1}, {"cover_all": True}, {"budget": 150_000.0}]


@pytest.mark.parametrize("question", QUESTIONS)
def test_of_two_sites_covering_the_same_residents_the_one_beside_a_health_centre(
    tmp_path, question
):
    # K1 (x=920) and K2 (x=1080) each reach the one community at x=1000 (80 m + 17 m, within
    # 3 minutes) and nothing else; the health centre at x=1380 is 300 m (5 minutes) from K2 and
    # 460 m from K1. Without the preference the solver keeps the first of two equal candidates
    # (K1); with it, K2.
    prep, cands, profile = _district(tmp_path, [920.0, 1080.0], health_x=1380.0)
    off = sites.propose(prep, cands, policy=profile, prefer_health_centres=False, **question)
    on = sites.propose(prep, cands, policy=profile, **question)
    assert off.sites["id"].tolist() == ["K1"]
    assert on.sites["id"].tolist() == ["K2"]
    assert on.sites["newly_covered"].sum() == pytest.approx(off.sites["newly_covered"].sum())
    assert on.solution.objective == pytest.approx(off.solution.objective)
    row = on.sites.iloc[0]
    assert bool(row["beside_health_centre"]) is True
    assert row["health_centre_id"] == "H"
    assert row["health_centre_minutes"] == pytest.approx(5.0)
    assert bool(off.sites.iloc[0]["beside_health_centre"]) is False
    assert off.sites.iloc[0]["health_centre_minutes"] == pytest.approx(460 / 60, abs=0.01)
    found = on.solution.preference
    assert found is not None
    assert (found.count, found.bound, found.status) == (1, 1, "optimal")
    assert off.solution.preference is None
    assert any("1 of 1 chosen site(s)" in note and "(proved)" in note for note in on.notes)
    assert any("not preferred" in note for note in off.notes)
    # every candidate has its nearest health centre too
    assert on.candidates.set_index("id").loc["K1", "health_centre_id"] == "H"


def test_a_site_beside_a_health_centre_that_covers_less_is_not_chosen(tmp_path):
    # K1 (x=920) reaches both communities (x=1000: 80 m; x=850: 70 m, +17 m each); K2 (x=1080),
    # beside the health centre at x=1380, reaches only the one at x=1000. The first objective is
    # never worsened for the second: K1 is chosen, and none of the sites is beside.
    prep, cands, profile = _district(
        tmp_path,
        [920.0, 1080.0],
        health_x=1380.0,
        communities_x=(1000.0, 850.0),
        elderly=(100, 10),
    )
    result = sites.propose(prep, cands, policy=profile, count=1)
    assert result.sites["id"].tolist() == ["K1"]
    assert result.solution.objective == pytest.approx(110.0)
    assert result.solution.status == "optimal"
    found = result.solution.preference
    assert found is not None
    assert (found.count, found.bound, found.status) == (0, 0, "optimal")
    assert bool(result.sites.iloc[0]["beside_health_centre"]) is False
    # nor added when a second site is allowed: a site that adds no one is never proposed
    both = sites.propose(prep, cands, policy=profile, count=2)
    assert both.sites["id"].tolist() == ["K1"]


@pytest.mark.parametrize(("metres", "beside"), [(299.0, True), (300.0, True), (301.0, False)])
def test_beside_a_health_centre_at_the_5_minute_walk(tmp_path, metres, beside):
    # 5 minutes at 1 m/s is 300 m over the network, the 5 minutes themselves included
    prep, cands, profile = _district(tmp_path, [1080.0], health_x=1080.0 + metres)
    result = sites.propose(prep, cands, policy=profile, count=1)
    row = result.sites.iloc[0]
    assert row["health_centre_minutes"] == pytest.approx(metres / 60, abs=0.005)
    assert bool(row["beside_health_centre"]) is beside


def test_no_preference_where_the_tier_is_not_checked(tmp_path):
    # the profile checks community stations only: new street centres are neither checked nor
    # preferred
    prep, cands, profile = _district(tmp_path, [920.0, 1080.0], health_x=1380.0)
    result = sites.propose(prep, cands, policy=profile, count=1, tier="street_center")
    assert result.sites["id"].tolist() == ["K1"]
    assert result.solution.preference is None
    assert result.sites["beside_health_centre"].isna().all()
    assert result.sites["health_centre_minutes"].isna().all()


def _covered_weight(cover: np.ndarray, weight: np.ndarray, sites) -> float:
    return float(weight[cover[:, list(sites)].any(axis=1)].sum()) if len(sites) else 0.0


@pytest.mark.parametrize("seed", range(12))
def test_the_preference_is_lexicographic_against_every_site_set(seed):
    # every set of sites enumerated: the answer covers the most, and among the sets that cover
    # as much with no more sites (none adding no one) it has the most preferred sites
    from itertools import combinations

    from carecircle.siting import maximal_covering
    from carecircle.siting._prefer import prefer
    from carecircle.siting._solve import order_by_gain

    rng = np.random.default_rng(seed)
    cover = rng.random((12, 8)) < 0.3
    weight = rng.integers(1, 4, 12).astype(float)  # ties are likely
    preferred = rng.random(8) < 0.4
    covered = np.zeros(12, dtype=bool)
    k = 3
    first = maximal_covering(cover, weight, k)
    out = prefer(
        first,
        sp.csr_array(cover),
        weight,
        preferred,
        covered=covered,
        time_limit_s=10.0,
    )
    best = max(_covered_weight(cover, weight, s) for s in combinations(range(8), k))
    n_sites = len(first.chosen)
    # the sets a proposal can be: as good, no more sites, none adding no one in its order
    matrix = sp.csr_array(cover)
    most = max(
        int(preferred[list(s)].sum())
        for size in range(n_sites + 1)
        for s in combinations(range(8), size)
        if _covered_weight(cover, weight, s) >= best - 1e-9
        and len(order_by_gain(matrix, weight, np.array(s, dtype=np.int64))[0]) == size
    )
    assert _covered_weight(cover, weight, out.chosen) == pytest.approx(best)
    assert out.objective == pytest.approx(first.objective)
    assert len(out.chosen) <= n_sites
    assert out.preference is not None
    assert out.preference.count == int(preferred[out.chosen].sum()) == most
    assert out.preference.status == "optimal"
    assert out.preference.count >= int(preferred[first.chosen].sum())


def test_swaps_find_an_equal_site_without_the_second_model():
    from carecircle.siting import maximal_covering
    from carecircle.siting._prefer import prefer

    cover = np.eye(3, dtype=bool)[:, [0, 0, 1]]  # candidates 0 and 1 reach the same point
    weight = np.array([5.0, 1.0, 1.0])
    first = maximal_covering(cover, weight, 1)
    assert first.chosen.tolist() == [0]
    preferred = np.array([False, True, False])
    # no model is built (max_variables=0): the swap finds candidate 1, and it meets the bound
    out = prefer(
        first,
        sp.csr_array(cover),
        weight,
        preferred,
        covered=np.zeros(3, dtype=bool),
        time_limit_s=10.0,
        max_variables=0,
    )
    assert out.chosen.tolist() == [1]
    assert out.objective == first.objective
    assert (out.preference.count, out.preference.bound) == (1, 1)
    assert out.preference.status == "optimal"
    assert out.preference.solved is False
    # a preferred candidate that would lose a resident is not swapped in
    lesser = prefer(
        first,
        sp.csr_array(cover),
        weight,
        np.array([False, False, True]),
        covered=np.zeros(3, dtype=bool),
        time_limit_s=10.0,
        max_variables=0,
    )
    assert lesser.chosen.tolist() == [0]
    assert (lesser.preference.count, lesser.preference.bound) == (0, 1)
    assert lesser.preference.status == "time_limit"  # nothing proved without the model


@pytest.fixture(scope="module")
def sited_demo(demo_analysis):
    """The demo with two proposed sites."""
    question = {"count": 2, "tier": "community_station", "spacing_m": 150.0}
    return sites.attach(demo_analysis, sites.propose(demo_analysis, **question))


@pytest.mark.parametrize(
    ("lang", "beside", "not_beside"),
    [
        ("zh", "邻近卫生服务中心（医养结合）: 是", "邻近卫生服务中心（医养结合）: 否"),
        ("en", "beside a health centre (医养结合): yes", "beside a health centre (医养结合): no"),
    ],
)
def test_the_map_says_whether_a_proposed_site_is_beside_a_health_centre(
    sited_demo, lang, beside, not_beside
):
    from carecircle.outputs import maps

    proposed = sited_demo.proposed.copy()
    assert len(proposed) == 2
    text = maps.TEXT[lang]
    # not checked (no [medical_integration]): no line, whatever columns there are
    assert maps._health_centre_lines(proposed, text) == ["", ""]
    assert maps._health_centre_lines(proposed.drop(columns=HEALTH_COLUMNS), text) == ["", ""]
    page = maps.build(replace(sited_demo, proposed=proposed), lang=lang).get_root().render()
    assert beside not in page and not_beside not in page

    proposed["beside_health_centre"] = pd.array([True, False], dtype="boolean")
    proposed["health_centre_id"] = pd.array(["<b>H&1</b>", pd.NA], dtype="string")
    proposed["health_centre_minutes"] = [3.4, 9.5]
    lines = maps._health_centre_lines(proposed, text)
    assert lines[0].startswith(beside) and "&lt;b&gt;H&amp;1&lt;/b&gt;" in lines[0]
    assert "3.4" in lines[0]
    assert lines[1].startswith(not_beside) and "9.5" in lines[1]
    page = maps.build(replace(sited_demo, proposed=proposed), lang=lang).get_root().render()
    assert "&lt;b&gt;H&amp;1&lt;/b&gt;" in page and "<b>H&1</b>" not in page
    assert page.count(beside) == 1 and page.count(not_beside) == 1
    # as proposed_sites.csv writes them (yes/no, blank): blank says nothing
    written = proposed.assign(beside_health_centre=["yes", ""], health_centre_id=["H1", ""])
    lines = maps._health_centre_lines(written, text)
    assert lines[0].startswith(beside) and "H1" in lines[0] and lines[1] == ""
